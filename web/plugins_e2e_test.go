package web_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kuzet/kuzet/auth"
	"github.com/kuzet/kuzet/topology"
)

// TestBrowserPlugins runs web/e2e/plugins.mjs in headless Chromium
// against a node running three analytics plugins: ticker (a process that
// stays up), crashy (one that prints two lines and exits, until the node
// calls it failed) and absent (rolled out by the cached catalogue slice
// but not installed, so it cannot run and its restart is refused with
// 409). A viewer is refused the view; an engineer sees the rows, badges
// and crashy's output, restarts ticker and is shown absent's refusal.
// The audit log then holds both restarts.
func TestBrowserPlugins(t *testing.T) {
	ctx, rig := newBrowserRig(t)

	dir := t.TempDir()
	var users strings.Builder
	p := auth.DefaultParams
	p.Memory, p.Time = 1024, 1 // cheap for tests
	for _, u := range []string{"engineer", "viewer", "admin"} {
		h, err := auth.HashPasswordParams("kuzet-"+u, p)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&users, "  - {name: %s, role: %s, password_hash: %q}\n", u, u, h)
	}
	script := func(name, body string) string {
		path := filepath.Join(dir, "bin", name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
			t.Fatal(err)
		}
		return path
	}
	ticker := script("ticker", "echo 'ticker: watching Gate1'\nexec sleep 600\n")
	crashy := script("crashy", "echo 'crashy: loading model /opt/fire/model.onnx' >&2\necho 'crashy: error: model file not found' >&2\nexit 3\n")
	pluginsDir := filepath.Join(dir, "installed") // empty: the catalogue's plugin is not installed
	data := filepath.Join(dir, "data")
	for _, d := range []string{pluginsDir, data} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// the catalogue's slice as the node cached it, rolling out "absent"
	if err := topology.SaveSlice(filepath.Join(data, "catalogue-slice.json"), &topology.Slice{
		Schema: topology.SliceSchema, Node: "gate", Role: topology.RoleSite, Revision: 1,
		Cameras: []topology.Camera{}, Policy: topology.Policy{Node: "gate", Fragments: topology.FragmentsAll},
		RevokedNodes: []topology.RevokedNode{}, Plugins: []topology.NodePlugin{{Name: "absent", Cameras: []string{"Gate1"}}},
	}, nil); err != nil {
		t.Fatal(err)
	}
	a := startNode(t, ctx, fmt.Sprintf(`
node: {id: gate, data_dir: %s, time_zone: UTC}
http: {listen: "127.0.0.1:0"}
cameras: [{id: Gate1, url: "rtsp://127.0.0.1:1/main", offline_after: 1h}]
plugins:
  - {name: ticker, command: %s, cameras: [Gate1]}
  - {name: crashy, command: %s}
plugins_dir: %s
users:
%s`, data, ticker, crashy, pluginsDir, users.String()))

	base := "http://" + a.HTTPAddr()
	engineer := loginClient(t, base, "engineer")
	type plugin struct {
		Name, State string
		Restarts    int
	}
	status := func() map[string]plugin {
		code, body := engineer.get("/api/v1/plugins")
		var l []plugin
		if err := json.Unmarshal([]byte(body), &l); code != 200 || err != nil {
			t.Fatalf("GET /api/v1/plugins: %d %s", code, body)
		}
		out := map[string]plugin{}
		for _, p := range l {
			out[p.Name] = p
		}
		return out
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		st := status()
		if st["ticker"].State == "running" && st["absent"].State == "failed" && st["crashy"].State != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the plugins never came up as set: %+v", st)
		}
	}

	rig.run(t, ctx, "plugins", base)

	// both restarts reached the node, by the engineer; ticker's was done
	admin := loginClient(t, base, "admin")
	code, body := admin.get("/api/v1/audit?action=plugin.restart")
	var entries []struct{ User, Object string }
	if err := json.Unmarshal([]byte(body), &entries); code != 200 || err != nil {
		t.Fatalf("audit: %d %s", code, body)
	}
	got := map[string]string{}
	for _, e := range entries {
		got[e.Object] = e.User
	}
	if len(entries) != 2 || got["ticker"] != "engineer" || got["absent"] != "engineer" {
		t.Errorf("plugin.restart in the audit log: %s", body)
	}
	if st := status(); st["ticker"].Restarts < 1 || st["ticker"].State != "running" {
		t.Errorf("ticker after its restart: %+v", st["ticker"])
	}
}
