package api

import (
	"encoding/json"
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
	"github.com/kuzet/kuzet/event"
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
