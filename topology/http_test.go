package topology

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// serveAPI mounts a replica's handler as the node does.
func serveAPI(t *testing.T, r *Replica, o HandlerOptions) *httptest.Server {
	mux := http.NewServeMux()
	mux.Handle(APIPath+"/", http.StripPrefix(APIPath, r.Handler(o)))
	mux.Handle(APIPath, http.StripPrefix(APIPath, r.Handler(o)))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// caller makes do(method, path, body, want) for the API at api: it fails
// the test unless the answer has status want, and returns the body.
func caller(t *testing.T, api string) func(method, path, body string, want int) string {
	return func(method, path, body string, want int) string {
		t.Helper()
		code, _, raw := call(t, method, api+path, body)
		if code != want {
			t.Fatalf("%s %s: %d %s", method, path, code, raw)
		}
		return raw
	}
}

func call(t *testing.T, method, url, body string) (int, map[string]any, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return resp.StatusCode, m, string(b)
}

// The API on a follower: writes go to the leader; bad requests get a JSON
// error with the right status and a reason naming what was wrong.
func TestHTTPAPIOnFollower(t *testing.T) {
	pki := newTestPKI(t)
	reps := startCluster(t, pki, "centre-1", "centre-2", "centre-3")
	leader := waitLeader(t, reps...)
	f := followers(reps, leader)[0]
	srv := serveAPI(t, f, HandlerOptions{Status: func() map[string]string { return map[string]string{"khorgos-1": "up"} }})
	api := srv.URL + APIPath

	mustOK := func(method, path, body string) map[string]any {
		t.Helper()
		for {
			code, m, raw := call(t, method, api+path, body)
			if code == http.StatusServiceUnavailable { // an election on a loaded machine
				continue
			}
			if code != http.StatusOK {
				t.Fatalf("%s %s: %d %s", method, path, code, raw)
			}
			return m
		}
	}
	mustOK("POST", "/nodes", `{"id":"centre","role":"centre","addresses":["centre-1:7443"]}`)
	mustOK("POST", "/nodes", `{"id":"region-a","role":"region","parent":"centre","addresses":["10.1.0.1:7443","10.1.0.2:7443"]}`)
	mustOK("POST", "/nodes", `{"id":"khorgos-1","role":"site","parent":"region-a","cert_serial":"0A:1B"}`)
	mustOK("POST", "/zones", `{"id":"lane-1","site":"khorgos-1"}`)
	m := mustOK("POST", "/cameras", `{"id":"Camera1","site":"khorgos-1","url":"rtsp://u:secret@10.0.0.5/ch1","zone":"lane-1","analytics":{"anpr":{"enabled":true,"fps":5}}}`)
	if rev, _ := m["revision"].(float64); rev == 0 {
		t.Fatalf("write answer %v", m)
	}
	mustOK("POST", "/users", `{"name":"admin","role":"admin","password_hash":"$argon2id$h"}`)
	mustOK("POST", "/policies", `{"node":"khorgos-1","fragments":"referenced","mbps":20}`)

	for _, tc := range []struct {
		method, path, body string
		status             int
		want               string
	}{
		{"POST", "/nodes", `{"id":"x","role":"site","parent":"ghost"}`, 400, "unknown parent ghost"},
		{"POST", "/nodes?create=true", `{"id":"centre","role":"centre"}`, 409, "node centre already exists"},
		{"POST", "/nodes?create=maybe", `{"id":"y","role":"centre"}`, 400, "create must be true or false"},
		{"POST", "/nodes", `{"id":"x","role":"site","parnet":"centre"}`, 400, `unknown field "parnet"`},
		{"POST", "/nodes", `{"id":"x",`, 400, "request body"},
		{"POST", "/nodes", `{"id":"x","role":"site","name":"` + strings.Repeat("a", maxBody) + `"}`, 400, "exceeds"},
		{"DELETE", "/nodes/ghost", "", 404, "node ghost does not exist"},
		{"DELETE", "/nodes/khorgos-1", "", 409, "still has cameras khorgos-1/Camera1"},
		{"DELETE", "/cameras/khorgos-1/Camera9", "", 404, "khorgos-1/Camera9 does not exist"},
		{"GET", "/cameras/khorgos-1/Camera9", "", 404, "camera khorgos-1/Camera9 does not exist"},
		{"GET", "/slices/ghost", "", 404, "ghost is not in the catalogue"},
		{"GET", "/catalogue?consistent=perhaps", "", 400, "consistent must be true or false"},
		{"POST", "/members", `{"id":"centre-4","address":"nowhere"}`, 400, "address"},
		{"DELETE", "/members/ghost", "", 404, "ghost is not a replica"},
		{"POST", "/bootstrap", `{}`, 409, "already belongs to a catalogue cluster"},
		{"POST", "/users", `{"name":"admin","role":"viewer"}`, 409, "last enabled admin"},
	} {
		code, m, raw := call(t, tc.method, api+tc.path, tc.body)
		msg, _ := m["error"].(string)
		if code != tc.status || !strings.Contains(msg, tc.want) || m["code"] == "" {
			t.Errorf("%s %s: %d %.200s, want %d with %q", tc.method, tc.path, code, raw, tc.status, tc.want)
		}
	}

	// reads: the tree with status, no password hashes, the slice
	code, _, raw := call(t, "GET", api+"?consistent=true", "")
	var tree Tree
	if code != 200 || json.Unmarshal([]byte(raw), &tree) != nil || len(tree.Roots) != 1 {
		t.Fatalf("tree: %d %s", code, raw)
	}
	site := tree.Roots[0].Children[0].Children[0]
	if site.ID != "khorgos-1" || site.Status != "up" || len(site.Cameras) != 1 || strings.Contains(site.Cameras[0].URL, "secret") {
		t.Fatalf("tree site %+v", site)
	}
	if _, _, raw := call(t, "GET", api+"/users", ""); strings.Contains(raw, "argon2") {
		t.Fatalf("password hash served: %s", raw)
	}
	var sl Slice
	_, _, raw = call(t, "GET", api+"/slices/khorgos-1?consistent=true", "")
	if err := json.Unmarshal([]byte(raw), &sl); err != nil || len(sl.Cameras) != 1 || sl.Policy.Mbps != 20 ||
		len(sl.Upstream) != 2 || sl.Cameras[0].URL != "rtsp://u@10.0.0.5/ch1" || sl.Cameras[0].PasswordSet == nil || !*sl.Cameras[0].PasswordSet {
		t.Fatalf("slice %s", raw) // the password only goes down the node's link
	}
	code, m, _ = call(t, "GET", api+"/status", "")
	if code != 200 || m["id"] != f.ID() || m["leader"] == "" {
		t.Fatalf("status %v", m)
	}
	// and a delete through the follower
	mustOK("DELETE", "/cameras/khorgos-1/Camera1", "")
	if _, ok := f.Catalogue().Camera("khorgos-1", "Camera1"); ok {
		t.Fatal("camera still there after an acknowledged delete")
	}
}

func TestSliceSaveLoad(t *testing.T) {
	c := sample(t)
	s, err := c.SliceFor("khorgos-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Cameras) != 2 || len(s.Zones) != 1 || s.Policy.Mbps != 20 || len(s.Upstream) != 2 {
		t.Fatalf("slice %+v", s)
	}
	if other, _ := c.SliceFor("khorgos-2"); other.Policy.Fragments != FragmentsAll || len(other.Cameras) != 1 {
		t.Fatalf("slice without a policy %+v", other)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "catalogue-slice.json")
	key := testKey(t)
	if err := SaveSlice(path, s, key); err != nil {
		t.Fatal(err)
	}
	// an older file is replaced whole
	s2 := *s
	s2.Revision++
	if err := SaveSlice(path, &s2, key); err != nil {
		t.Fatal(err)
	}
	got, err := LoadSlice(path, key)
	if err != nil {
		t.Fatal(err)
	}
	if got.Revision != s.Revision+1 || len(got.Cameras) != 2 || got.Cameras[0].URL != s.Cameras[0].URL ||
		!strings.Contains(got.Cameras[0].URL, ":secret@") {
		t.Fatalf("loaded %+v", got)
	}
	// the site's copy of the camera passwords is sealed with its key
	if b, _ := os.ReadFile(path); !IsSealed(b) || bytes.Contains(b, []byte("secret")) || bytes.Contains(b, []byte("10.0.0.5")) {
		t.Fatalf("slice file not sealed: %.80q", b)
	}
	if _, err := LoadSlice(path, testKey(t)); err == nil || !strings.Contains(err.Error(), "another node key") {
		t.Fatalf("slice opened with another key: %v", err)
	}
	// one an older version cached in clear is read, then sealed in place
	if err := SaveSlice(path, s, nil); err != nil {
		t.Fatal(err)
	}
	if got, err := LoadSlice(path, key); err != nil || got.Cameras[0].URL != s.Cameras[0].URL {
		t.Fatalf("clear slice: %+v %v", got, err)
	}
	if b, _ := os.ReadFile(path); !IsSealed(b) || bytes.Contains(b, []byte("secret")) {
		t.Fatalf("clear slice not sealed on load: %.80q", b)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("temporary files left: %v", entries)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Fatalf("slice file mode %v: it may hold camera passwords", fi.Mode())
	}
	os.WriteFile(path, []byte(`{"schema":2,"node":"khorgos-1","role":"site","cameras":[{"id":"C","site":"other","url":"rtsp://h/"}],"policy":{"node":"khorgos-1","fragments":"all"},"revoked_nodes":[]}`), 0o600)
	if _, err := LoadSlice(path, key); err == nil || !strings.Contains(err.Error(), "camera other/C of another node") {
		t.Fatalf("foreign camera: %v", err)
	}
	os.WriteFile(path, []byte(`{"schema":2,"node":"khorgos-1"`), 0o600)
	if _, err := LoadSlice(path, key); err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("torn file: %v", err)
	}
}

// Metrics are registered, move with writes, and go away with the replica.
func TestMetrics(t *testing.T) {
	pki := newTestPKI(t)
	reg := prometheus.NewRegistry()
	r := startReplica(t, pki, "centre-1", t.TempDir(), func(o *Options) { o.Bootstrap = true; o.Registerer = reg })
	waitLeader(t, r)
	applyR(t, r, putNode("centre", RoleCentre, ""))
	if _, err := r.Apply(ctxT(t), putNode("x", RoleSite, "ghost")); CodeOf(err) != CodeInvalid {
		t.Fatal(err)
	}
	if got := testutil.ToFloat64(r.met.writes.WithLabelValues("ok")); got < 1 {
		t.Fatalf("ok writes %v", got)
	}
	if got := testutil.ToFloat64(r.met.writes.WithLabelValues("invalid")); got != 1 {
		t.Fatalf("invalid writes %v", got)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]float64{}
	for _, mf := range mfs {
		if m := mf.GetMetric(); len(m) > 0 && m[0].GetGauge() != nil {
			names[mf.GetName()] = m[0].GetGauge().GetValue()
		} else {
			names[mf.GetName()] = -1
		}
	}
	if names["kuzet_topology_is_leader"] != 1 || names["kuzet_topology_revision"] < 1 || names["kuzet_topology_write_seconds"] != -1 {
		t.Fatalf("gathered %v", names)
	}
	r.Close()
	if mfs, _ := reg.Gather(); len(mfs) != 0 {
		t.Fatalf("%d metric families left after close", len(mfs))
	}
	// and a closed replica refuses writes at once
	if _, err := r.Apply(ctxT(t), putNode("y", RoleCentre, "")); CodeOf(err) != CodeUnavailable {
		t.Fatalf("write on a closed replica: %v", err)
	}
}

func TestOptionsChecked(t *testing.T) {
	pki := newTestPKI(t)
	for _, tc := range []struct {
		mod  func(*Options)
		want string
	}{
		{func(o *Options) { o.Identity = nil }, "federation identity is required"},
		{func(o *Options) { o.HeartbeatTimeout = time.Millisecond }, "heartbeat_timeout must be between"},
		{func(o *Options) { o.LeaderLeaseTimeout = time.Second }, "leader_lease_timeout (1s) must not exceed heartbeat_timeout"},
		{func(o *Options) { o.ElectionTimeout = 100 * time.Millisecond }, "election_timeout (100ms) must be at least"},
		{func(o *Options) { o.Peers = []Peer{{ID: "b", Address: "nohost"}} }, "replica b: address"},
		{func(o *Options) { o.Listen = "0.0.0.0:0" }, "set the advertised address"},
	} {
		o := Options{Identity: pki.identity(t, "a"), Dir: t.TempDir(), Listen: "127.0.0.1:0"}
		tc.mod(&o)
		r, err := Start(context.Background(), o)
		if err == nil {
			r.Close()
			t.Errorf("accepted options wanting %q", tc.want)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("got %v, want %q", err, tc.want)
		}
	}
}
