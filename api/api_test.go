package api

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/kuzet/kuzet/archive"
	"github.com/kuzet/kuzet/audit"
	"github.com/kuzet/kuzet/auth"
	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/plates"
	"github.com/kuzet/kuzet/site"
)

func server(t *testing.T, allow ...string) *httptest.Server {
	t.Helper()
	dir := t.TempDir()
	idx, err := archive.OpenIndex(filepath.Join(dir, "archive.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idx.Close() })
	ev, err := event.OpenLog(filepath.Join(dir, "events.db"), "api-test", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ev.Close() })
	if _, err := ev.Append(event.New(event.KindCameraState, "Camera1", "", nil)); err != nil {
		t.Fatal(err)
	}
	g := archive.Gap{Camera: "Camera1", Start: time.Now().Add(-10 * time.Minute), End: time.Now().Add(-9 * time.Minute), Reason: "test"}
	if err := idx.AddGap(g); err != nil {
		t.Fatal(err)
	}
	var prefixes []netip.Prefix
	for _, a := range allow {
		prefixes = append(prefixes, netip.MustParsePrefix(a))
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector())
	srv := httptest.NewServer(Handler(Deps{
		NodeID: "api-test", Version: "t", Started: time.Now(), Site: site.New(site.Options{Registerer: reg}),
		Index: idx, Events: ev, Gatherer: reg, Allow: prefixes,
	}))
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestEndpoints(t *testing.T) {
	srv := server(t, "127.0.0.0/8")
	cases := []struct {
		path     string
		code     int
		contains string
	}{
		{"/healthz", 200, "ok"},
		{"/metrics", 200, "go_goroutines"},
		{"/api/v1/node", 200, `"id": "api-test"`},
		{"/api/v1/cameras", 200, "[]"},
		{"/api/v1/cameras/Camera1/segments", 200, "[]"},
		{"/api/v1/cameras/Camera1/gaps", 200, `"reason": "test"`},
		{"/api/v1/events?after=0&limit=10", 200, `"kind": "camera.state"`},
		{"/api/v1/cameras/Camera1/segments?from=yesterday", 400, `from: \"yesterday\" is not an RFC 3339 time`},
		{"/api/v1/cameras/Camera1/gaps?from=2025-08-18T14:00:00Z&to=2025-08-18T13:00:00Z", 400, "to must be after from"},
		{"/api/v1/events?limit=0", 400, "limit"},
		{"/api/v1/events?after=-1", 400, "after"},
		{"/api/v1/nothing", 404, ""},
	}
	for _, c := range cases {
		code, body := get(t, srv.URL+c.path)
		if code != c.code || !strings.Contains(body, c.contains) {
			t.Errorf("%s: %d %s", c.path, code, body)
		}
		if code == 400 {
			var e map[string]string
			if json.Unmarshal([]byte(body), &e) != nil || e["error"] == "" {
				t.Errorf("%s: error body %q is not {\"error\": ...}", c.path, body)
			}
		}
	}
}

// CGR-5: clients outside the allow-list are refused.
func TestAllowList(t *testing.T) {
	srv := server(t, "10.0.0.0/8")
	code, body := get(t, srv.URL+"/api/v1/cameras")
	if code != http.StatusForbidden || !strings.Contains(body, "127.0.0.1 is not allowed") {
		t.Fatalf("%d %s", code, body)
	}
}

// Plate search answers from the node's log, which on a parent holds its
// children's reads too.
func TestBodyLimit(t *testing.T) {
	srv := server(t, "127.0.0.0/8")
	resp, err := http.Post(srv.URL+"/api/v1/plates/a/1/correction", "application/json", strings.NewReader(strings.Repeat("x", 2<<20)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("2 MiB body: %d", resp.StatusCode)
	}
}

// feed serves the API over events with logins faked: every caller is let
// in, and one sending X-Test-Admin: yes is an admin at a workstation.
func feed(t *testing.T, ev *event.Log) *httptest.Server {
	t.Helper()
	idx, err := archive.OpenIndex(filepath.Join(t.TempDir(), "archive.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idx.Close() })
	reg := prometheus.NewRegistry()
	srv := httptest.NewServer(Handler(Deps{NodeID: "region", Site: site.New(site.Options{Registerer: reg}),
		Index: idx, Events: ev, Gatherer: reg, Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
		Guard: func(_ auth.Role, h http.Handler) http.Handler { return h },
		Admin: func(r *http.Request) bool { return r.Header.Get("X-Test-Admin") == "yes" }}))
	t.Cleanup(srv.Close)
	return srv
}

func getAs(t *testing.T, admin bool, url string) (int, string, http.Header) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if admin {
		req.Header.Set("X-Test-Admin", "yes")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

// The event feed shows audit entries to admins only, masks passwords in
// URLs, filters by origin, kind and time, and refuses positions that
// would wrap around.
func TestEventFeed(t *testing.T) {
	ev, err := event.OpenLog(filepath.Join(t.TempDir(), "events.db"), "region", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ev.Close()
	rec, err := audit.New(ev, audit.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2025, 8, 18, 10, 0, 0, 0, time.UTC)
	if _, err := rec.Record(audit.Entry{User: "adam", Role: "admin", Action: "token.create", Object: "cmdb", Source: "10.0.0.9"}); err != nil {
		t.Fatal(err)
	}
	cam := event.New(event.KindCameraState, "Camera1", "", map[string]string{"state": "failed",
		"reason": `describe rtsp://admin:S3cret!@10.0.0.5:554/Streaming/Channels/102: 401`})
	cam.Time = t0
	if _, err := ev.Append(cam); err != nil {
		t.Fatal(err)
	}
	read := func(origin string, seq uint64, at time.Time) event.Event {
		e := event.New(plates.KindPlateRead, "Camera1", "", plates.PlateRead{Plate: "123ABC02"})
		e.Origin, e.Seq, e.Time, e.Path = origin, seq, at, []string{origin}
		return e
	}
	if _, err := ev.Ingest([]event.Event{read("site-a", 1, t0), read("site-a", 2, t0.Add(time.Minute))}, "site-a"); err != nil {
		t.Fatal(err)
	}
	if _, err := ev.Ingest([]event.Event{read("site-b", 1, t0.Add(2*time.Minute))}, "site-b"); err != nil {
		t.Fatal(err)
	}
	if _, err := rec.Record(audit.Entry{User: "vera", Role: "viewer", Action: "plates.search", Object: "123ABC02", Source: "10.0.0.7"}); err != nil {
		t.Fatal(err)
	}
	srv := feed(t, ev)
	list := func(admin bool, query string) ([]event.Event, string) {
		t.Helper()
		code, body, hdr := getAs(t, admin, srv.URL+"/api/v1/events?"+query)
		if code != 200 {
			t.Fatalf("%s: %d %s", query, code, body)
		}
		var evs []event.Event
		if err := json.Unmarshal([]byte(body), &evs); err != nil {
			t.Fatal(err)
		}
		return evs, hdr.Get("X-Kuzet-Next-After")
	}
	ids := func(evs []event.Event) string {
		var s []string
		for _, e := range evs {
			s = append(s, fmt.Sprintf("%s@%s#%d", e.Kind, e.Origin, e.Pos))
		}
		return strings.Join(s, " ")
	}

	viewer, next := list(false, "")
	if got := ids(viewer); strings.Contains(got, "audit") || len(viewer) != 4 || next != "6" {
		t.Errorf("viewer sees %s (next %s); want the 4 events that are not audit entries, next 6", got, next)
	}
	admin, _ := list(true, "")
	if got := ids(admin); strings.Count(got, "audit@") != 2 || len(admin) != 6 || next != "6" {
		t.Errorf("admin sees %s; want all 6", got)
	}
	for _, e := range append(viewer, admin...) {
		if strings.Contains(string(e.Payload), "S3cret") {
			t.Errorf("%s payload shows a password: %s", e.ID(), e.Payload)
		}
		if e.Kind == event.KindCameraState && !strings.Contains(string(e.Payload), "rtsp://admin:xxxxx@10.0.0.5:554") {
			t.Errorf("camera state payload %s", e.Payload)
		}
	}
	if code, body, _ := getAs(t, false, srv.URL+"/api/v1/events?kind=audit"); code != 403 || !strings.Contains(body, "GET /api/v1/audit") {
		t.Errorf("viewer asking for audit entries: %d %s", code, body)
	}

	for q, want := range map[string]string{
		"origin=site-a":                             "plate.read@site-a#3 plate.read@site-a#4",
		"kind=plate.read&origin=site-b":             "plate.read@site-b#5",
		"kind=camera.state,plate.read&limit=2":      "camera.state@region#2 plate.read@site-a#3",
		"kind=camera.state&kind=audit":              "audit@region#1 camera.state@region#2 audit@region#6",
		"from=2025-08-18T10:01:00Z&kind=plate.read": "plate.read@site-a#4 plate.read@site-b#5",
		"to=2025-08-18T10:01:00Z&kind=plate.read":   "plate.read@site-a#3",
		"after=4":                   "plate.read@site-b#5",
		"after=6":                   "",
		"after=9223372036854775807": "",
	} {
		admin := strings.Contains(q, "audit")
		evs, _ := list(admin, q)
		if got := ids(evs); got != want {
			t.Errorf("%s: %s, want %s", q, got, want)
		}
	}
	// paging with a filter goes on from X-Kuzet-Next-After
	first, next := list(false, "kind=plate.read&limit=1")
	second, _ := list(false, "kind=plate.read&limit=1&after="+next)
	if ids(first) != "plate.read@site-a#3" || ids(second) != "plate.read@site-a#4" || next != "3" {
		t.Errorf("paging: %s then (after %s) %s", ids(first), next, ids(second))
	}

	for q, says := range map[string]string{
		"after=18446744073709551615": "must be a log position 0..9223372036854775807",
		"after=9223372036854775808":  "after:",
		"after=-1":                   "after:",
		"after=1e3":                  "after:",
		"limit=1001":                 "limit:",
		"origin=site%20a":            "origin:",
		"kind=Plate%20Read":          "kind:",
		"from=yesterday":             "from:",
		"from=2025-08-18T11:00:00Z&to=2025-08-18T10:00:00Z": "to must be after from",
		"afetr=5":         `unknown parameter \"afetr\"`,
		"after=1&after=2": "after: given 2 times",
	} {
		code, body, _ := getAs(t, true, srv.URL+"/api/v1/events?"+q)
		if code != 400 || !strings.Contains(body, says) {
			t.Errorf("%s: %d %s; want 400 saying %s", q, code, body, says)
		}
	}
}

// A request naming another site in its Host header is refused (DNS
// rebinding); the node's names, addresses and localhost are served.
func TestHostHeader(t *testing.T) {
	ev, err := event.OpenLog(filepath.Join(t.TempDir(), "events.db"), "region", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ev.Close()
	reg := prometheus.NewRegistry()
	srv := httptest.NewServer(Handler(Deps{NodeID: "region", Site: site.New(site.Options{Registerer: reg}), Events: ev,
		Gatherer: reg, Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
		Hosts: &HostNames{Names: []string{"kuzet.example", "10.0.0.5", "::1"}, Local: true}}))
	defer srv.Close()
	_, port, _ := strings.Cut(strings.TrimPrefix(srv.URL, "http://"), ":")
	for host, want := range map[string]int{
		"127.0.0.1:" + port: 200, "127.0.0.2": 200, "localhost:" + port: 200, "LOCALHOST.": 200, "ui.localhost:" + port: 200,
		"kuzet.example": 200, "Kuzet.Example.:" + port: 200, "10.0.0.5:" + port: 200, "[::1]:" + port: 200, "[0:0::1]": 200,
		"evil.example:" + port: 421, "kuzet.example.evil.example": 421, "10.0.0.6:" + port: 421, "localhost.evil.example": 421,
	} {
		req, _ := http.NewRequest("GET", srv.URL+"/api/v1/node", nil)
		req.Host = host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("Host %s: %d %s, want %d", host, resp.StatusCode, b, want)
		}
		if want == 421 && !strings.Contains(string(b), "is not a name of this node: if clients reach it by that name, add it to http.hosts") {
			t.Errorf("Host %s: refusal %s does not say what to do", host, b)
		}
	}
	// a wildcard listen address takes any IP address, still no other name
	h := &HostNames{AnyAddress: true, Local: true}
	if !h.Allows("192.0.2.7:8080") || !h.Allows("[2001:db8::1]:8080") || h.Allows("evil.example:8080") {
		t.Error("AnyAddress")
	}
	w := &HostNames{Names: []string{"*.kuzet.example"}}
	if !w.Allows("site-a.kuzet.example:8443") || w.Allows("kuzet.example") || w.Allows("a.b.kuzet.example") || w.Allows("evilkuzet.example") {
		t.Error("wildcard")
	}
}
