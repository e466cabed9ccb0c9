package agent

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kuzet/kuzet/alarm"
	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/internal/testkit"
	"github.com/kuzet/kuzet/plates"
)

// A plate on the centre's watch-list read at a site raises a
// watchlist_hit alarm at the centre within seconds, on the site's camera,
// with the read's photo as its snapshot; a restarted centre raises
// nothing again; a removed entry matches no more reads.
func TestWatchListHitAtTheCentre(t *testing.T) {
	src, dir, tls := federationRig(t)
	centreAddr := testkit.Port(t) // the centre starts again on it
	centreYAML := fmt.Sprintf(`
node: {id: centre, data_dir: %s/centre}
http: {listen: "127.0.0.1:0"}
federation: {listen: %q, heartbeat: 200ms, tls: %s, fragments: {policy: none}}
`, dir, centreAddr, tls("centre"))
	centre, stopCentre := startAgent(t, centreYAML)
	site, _ := startAgent(t, fmt.Sprintf(`
node: {id: site, data_dir: %s/site}
http: {listen: "127.0.0.1:0"}
cameras: [{id: Camera1, url: %q}]
federation: {upstream: [%q], heartbeat: 200ms, tls: %s}
`, dir, src.URL("cam1"), centreAddr, tls("site")))

	post := func(a *Agent, body string) (int, plates.WatchEntry) {
		t.Helper()
		resp, err := http.Post("http://"+a.HTTPAddr()+"/api/v1/watchlist", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var e plates.WatchEntry
		_ = json.NewDecoder(resp.Body).Decode(&e)
		return resp.StatusCode, e
	}
	if code, _ := post(centre, `{"plate": "1", "reason": "x"}`); code != 400 {
		t.Fatalf("a one-character plate: %d", code)
	}
	code, entry := post(centre, `{"plate": "123 abc 02", "match": "fuzzy", "reason": "stolen in Almaty", "severity": "grave"}`)
	if code != 201 || entry.Plate != "123ABC02" || entry.ID == "" {
		t.Fatalf("add: %d %+v", code, entry)
	}
	read := func(plate string) event.Event {
		t.Helper()
		e, err := site.Events().Append(event.New(plates.KindPlateRead, "Camera1", "", plates.PlateRead{Plate: plate, Confidence: 0.97,
			Overview: "Camera1/x_overview.jpg"}))
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	hits := func(a *Agent) []alarm.Alarm {
		return a.alarms.List(alarm.Filter{Types: []string{plates.AlarmWatchHit}})
	}
	r1 := read("123A8C02") // one character off
	read("777KZA02")
	testkit.WaitFor(t, 20*time.Second, "the watch-list alarm at the centre", func() bool { return len(hits(centre)) > 0 })
	time.Sleep(time.Second) // the other read has arrived by now too
	got := hits(centre)
	if len(got) != 1 || got[0].Camera != "site/Camera1" || got[0].Severity != event.SeverityGrave ||
		!strings.Contains(got[0].Message, "123A8C02") || !strings.Contains(got[0].Message, "stolen in Almaty") ||
		got[0].Evidence.Snapshot != fmt.Sprintf("/api/v1/plates/site/%d/overview.jpg", r1.Seq) {
		t.Fatalf("alarms: %+v", got)
	}
	if len(hits(site)) != 0 {
		t.Fatal("the centre's list raised an alarm at the site")
	}
	// a camera's own read posted without a picture raises its alarm with
	// no photo, rather than one that never loads
	bare, err := site.Events().Append(event.New(plates.KindPlateRead, "Camera1", "", plates.PlateRead{Plate: "123ABC02", Confidence: 0.9}))
	if err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, 20*time.Second, "the photo-less read's alarm at the centre", func() bool { return len(hits(centre)) == 2 })
	for _, a := range hits(centre) {
		want := fmt.Sprintf("/api/v1/plates/site/%d/overview.jpg", r1.Seq)
		if strings.HasSuffix(a.Key, bare.ID()) {
			want = ""
		}
		if a.Evidence.Snapshot != want {
			t.Fatalf("alarm %s: photo %q, want %q", a.Key, a.Evidence.Snapshot, want)
		}
	}
	// a restart raises nothing again, and the hit is counted on the entry
	if err := stopCentre(); err != nil {
		t.Fatal(err)
	}
	// the stopped centre's UDP socket may take a moment to be released
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		pc, err := net.ListenPacket("udp", centreAddr)
		if err == nil {
			pc.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
	}
	centre, stopCentre = startAgent(t, centreYAML)
	time.Sleep(2 * time.Second)
	if got := hits(centre); len(got) != 2 || got[0].Count != 1 || got[1].Count != 1 {
		t.Fatalf("after a restart: %+v", got)
	}
	list, _ := centre.plates.Watchlist()
	if len(list) != 1 || list[0].Hits != 2 || list[0].LastHit != bare.ID() {
		t.Fatalf("list: %+v", list)
	}
	// removed: the next read of the plate raises nothing
	req, _ := http.NewRequest(http.MethodDelete, "http://"+centre.HTTPAddr()+"/api/v1/watchlist/"+entry.ID, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("remove: %d", resp.StatusCode)
	}
	last := read("123ABC02")
	testkit.WaitFor(t, 20*time.Second, "the read at the centre", func() bool {
		_, ok, _ := centre.plates.Lookup(last.ID())
		return ok
	})
	time.Sleep(time.Second)
	if got := hits(centre); len(got) != 2 {
		t.Fatalf("a removed entry raised: %+v", got)
	}
	_ = stopCentre
}
