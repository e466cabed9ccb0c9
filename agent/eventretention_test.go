package agent

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kuzet/kuzet/audit"
	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/internal/testkit"
	"github.com/kuzet/kuzet/plates"
)

// The event log's retention at a node, a year and a half on: the sweep
// (asked for by hand here, hourly otherwise) drops what every reader has
// read, keeps the newest event, checkpoints the audit chain so that it
// still verifies, takes the dropped reads out of the plate index, and the
// API names the readers and what they hold.
func TestEventRetentionAtANode(t *testing.T) {
	later := time.Now().Add(400 * 24 * time.Hour)
	a, _ := startAgentWith(t, fmt.Sprintf(`
node: {id: site, data_dir: %s}
http: {listen: "127.0.0.1:0"}
events: {retention_days: 30}
`, t.TempDir()), Options{Now: func() time.Time { return later }})
	base := "http://" + a.HTTPAddr()
	call := func(method, path string, v any) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
		}
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
	}
	for i := range 50 {
		if _, err := a.events.Append(event.New(plates.KindPlateRead, "Camera1", "", map[string]any{"plate": "777KZ02", "confidence": 0.99})); err != nil {
			t.Fatal(err)
		}
		if _, err := a.audit.Record(audit.Entry{User: "op", Action: audit.ActionPlayArchive, Object: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	testkit.WaitFor(t, 10*time.Second, "every reader of the log at its end", func() bool {
		f, _, err := a.events.Floor()
		return err == nil && f == a.events.Last()
	})
	// a reader that has taken nothing yet keeps everything, and says so
	a.events.HoldCursor("test-reader")
	var s event.Sweep
	call("POST", "/api/v1/events/retention", &s)
	if s.Dropped != 0 || s.HeldBy != "cursor test-reader" {
		t.Fatalf("sweep with a reader at 0 = %+v", s)
	}
	metrics := func() string {
		resp, err := http.Get(base + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	if m := metrics(); !strings.Contains(m, "kuzet_events_held_past_retention 1") {
		t.Fatal("/metrics does not show the log held past its retention")
	}
	if err := a.events.SetCursor("test-reader", a.events.Last()); err != nil {
		t.Fatal(err)
	}
	// the node's own readers take the first sweep's audit entry too
	testkit.WaitFor(t, 10*time.Second, "every reader of the log at its end", func() bool {
		f, _, err := a.events.Floor()
		return err == nil && f == a.events.Last()
	})
	before := a.events.Last()
	// the sweep is audited first: that entry, after the reader's position,
	// stays; everything up to the position goes
	call("POST", "/api/v1/events/retention", &s)
	if s.Dropped != int(before) || s.Through != before || s.First != before+1 {
		t.Fatalf("sweep = %+v (the reader had taken %d events)", s, before)
	}
	if got, err := a.plates.Search(plates.Query{Plate: "777KZ02", Match: plates.Exact}); err != nil || len(got) != 0 {
		t.Fatalf("the plate index still finds %d reads the log dropped (%v)", len(got), err)
	}
	var st EventRetention
	call("GET", "/api/v1/events/retention", &st)
	names := map[string]bool{}
	for _, h := range st.Holders {
		names[h.Name] = true
	}
	if st.RetentionDays != 30 || st.First != s.First || st.LastSweep.Dropped != s.Dropped || !names["alarm table"] || !names["plate index"] {
		t.Fatalf("status = %+v", st)
	}
	var rep audit.Report
	call("GET", "/api/v1/audit/verify", &rep)
	if !rep.OK || len(rep.Chains) != 1 || rep.Chains[0].Compacted == 0 || rep.Chains[0].CheckpointBy == "" {
		t.Fatalf("audit after retention: %+v", rep)
	}
}
