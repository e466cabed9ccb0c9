package audit

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kuzet/kuzet/event"
)

func get(t *testing.T, h http.Handler, target string) (int, []byte) {
	t.Helper()
	srv := httptest.NewServer(h)
	defer srv.Close()
	res, err := srv.Client().Get(srv.URL + target)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var raw json.RawMessage
	_ = json.NewDecoder(res.Body).Decode(&raw)
	return res.StatusCode, raw
}

func TestListHandler(t *testing.T) {
	l := openLog(t, filepath.Join(t.TempDir(), "events.db"), "site-1")
	defer l.Close()
	clk := newClock()
	rec, err := New(l, Options{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	entries := []Entry{
		{User: "olga", Role: "operator", Action: ActionLogin, Source: "10.0.0.7"},
		{User: "olga", Role: "operator", Action: ActionViewLive, Object: "Camera1"},
		{User: "eve", Role: "engineer", Action: ActionConfigChange, Object: "camera Camera2", Detail: "transport udp -> tcp"},
		{User: "olga", Role: "operator", Action: ActionAckAlarm, Object: "camera_offline:Camera2"},
		{User: "olga", Role: "operator", Action: ActionLogout},
	}
	var times []time.Time
	for _, e := range entries {
		ev, err := rec.Record(e)
		if err != nil {
			t.Fatal(err)
		}
		times = append(times, ev.Time)
		if _, err := l.Append(event.New(event.KindCameraState, "Camera1", "", nil)); err != nil {
			t.Fatal(err)
		}
	}
	h := ListHandler(l)
	list := func(q string) []Record {
		t.Helper()
		code, raw := get(t, h, "/api/v1/audit?"+q)
		if code != 200 {
			t.Fatalf("%s: %d %s", q, code, raw)
		}
		var out []Record
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	all := list("")
	if len(all) != 5 || all[0].Action != ActionLogout || all[4].Action != ActionLogin || all[4].Seq != 1 || all[0].ID == "" || len(all[0].Hash) != 64 {
		t.Fatalf("newest first: %+v", all)
	}
	if got := list("user=olga"); len(got) != 4 {
		t.Fatalf("user filter: %+v", got)
	}
	if got := list("action=" + ActionConfigChange); len(got) != 1 || got[0].Detail != "transport udp -> tcp" || got[0].User != "eve" {
		t.Fatalf("action filter: %+v", got)
	}
	q := url.Values{"from": {times[1].Format(time.RFC3339Nano)}, "to": {times[3].Format(time.RFC3339Nano)}}
	if got := list(q.Encode()); len(got) != 2 || got[0].Action != ActionConfigChange || got[1].Action != ActionViewLive {
		t.Fatalf("time filter: %+v", got)
	}
	if got := list("limit=2&user=olga"); len(got) != 2 || got[1].Action != ActionAckAlarm {
		t.Fatalf("limit: %+v", got)
	}
	if got := list("origin=elsewhere"); len(got) != 0 {
		t.Fatalf("origin filter: %+v", got)
	}
	for q, msg := range map[string]string{
		"limit=0":        "limit",
		"limit=x":        "limit",
		"from=yesterday": "from",
		"to=2025-01-01":  "to",
		"usr=olga":       `unknown parameter`,
		"from=2025-08-18T10:00:00Z&to=2025-08-18T09:00:00Z": "to must be after from",
	} {
		code, raw := get(t, h, "/api/v1/audit?"+q)
		if code != 400 || !strings.Contains(string(raw), msg) {
			t.Errorf("%s: %d %s, want 400 mentioning %q", q, code, raw, msg)
		}
	}
}

func TestVerifyHandler(t *testing.T) {
	path := writeChain(t, 4)
	l := openLog(t, path, "site-1")
	defer l.Close()
	code, raw := get(t, VerifyHandler(l), "/api/v1/audit/verify")
	var rep Report
	if err := json.Unmarshal(raw, &rep); err != nil || code != 200 {
		t.Fatalf("%d %s", code, raw)
	}
	if !rep.OK || len(rep.Chains) != 1 || rep.Chains[0].Entries != 4 || len(rep.Problems) != 0 {
		t.Fatalf("report %s", raw)
	}
}

type failingLog struct{ *event.Log }

func (failingLog) Append(event.Event) (event.Event, error) {
	return event.Event{}, errors.New("disk full")
}

func TestWrap(t *testing.T) {
	l := openLog(t, filepath.Join(t.TempDir(), "events.db"), "site-1")
	defer l.Close()
	rec, err := New(l, Options{})
	if err != nil {
		t.Fatal(err)
	}
	served := 0
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { served++; w.WriteHeader(204) })
	who := func(*http.Request) (string, string, string, bool) { return "olga", "operator", "10.0.0.7", true }
	code, _ := get(t, rec.Wrap(ActionExportArchive, nil, who, h), "/api/v1/cameras/Camera1/export?from=2025-08-18T09:00:00Z")
	if code != 204 || served != 1 {
		t.Fatalf("wrapped handler: %d served %d", code, served)
	}
	evs, _ := l.Search(1, func(e event.Event) bool { return e.Kind == Kind })
	p, _ := decodePayload(evs[0].Payload)
	if p.User != "olga" || p.Action != ActionExportArchive || !strings.Contains(p.Object, "/api/v1/cameras/Camera1/export?from=") || p.Source != "10.0.0.7" {
		t.Fatalf("recorded %+v", p)
	}

	broken, err := New(failingLog{l}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	code, raw := get(t, broken.Wrap(ActionExportArchive, nil, who, h), "/x")
	if code != http.StatusServiceUnavailable || served != 1 || !strings.Contains(string(raw), "disk full") {
		t.Fatalf("unrecordable action served: %d %s served %d", code, raw, served)
	}
}
