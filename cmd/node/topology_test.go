package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kuzet/kuzet/pki"
	"github.com/kuzet/kuzet/topology"
)

// startCatalogue runs a one-replica catalogue that leads, serving its API
// as a node does.
func startCatalogue(t *testing.T, id string) *httptest.Server {
	t.Helper()
	dir := t.TempDir()
	if err := pki.InitCA(dir, "test federation", 24*time.Hour); err != nil {
		t.Fatal(err)
	}
	iss, err := pki.IssueNode(dir, id, dir, time.Time{}, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	ident, err := pki.LoadIdentity(filepath.Join(dir, pki.CACertFile), iss.CertPath, iss.KeyPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := topology.Start(context.Background(), topology.Options{Identity: ident, Dir: t.TempDir(), Listen: "127.0.0.1:0", Bootstrap: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	deadline := time.Now().Add(30 * time.Second)
	for r.Status().State != "leader" {
		if time.Now().After(deadline) {
			t.Fatal("timed out waiting for a leader")
		}
		time.Sleep(20 * time.Millisecond)
	}
	mux := http.NewServeMux()
	h := r.Handler(topology.HandlerOptions{})
	mux.Handle(topology.APIPath+"/", http.StripPrefix(topology.APIPath, h))
	mux.Handle(topology.APIPath, http.StripPrefix(topology.APIPath, h))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// The CLI against a node: apply a YAML file, show, status, delete, export.
func TestTopologyCLI(t *testing.T) {
	srv := startCatalogue(t, "centre-1")
	file := filepath.Join(t.TempDir(), "hierarchy.yaml")
	os.WriteFile(file, []byte(`
cameras:   # order in the file does not matter: parents go first
  - {id: Camera1, site: khorgos-1, url: "rtsp://viewer:pw@10.20.1.5/ch1", zone: lane-1,
     analytics: {anpr: {enabled: true, fps: 5}}}
nodes:
  - {id: khorgos-1, role: site, parent: region-east}
  - {id: almaty, role: centre}
  - {id: region-east, role: region, parent: almaty, addresses: ["10.20.0.1:7443"]}
zones:
  - {id: lane-1, site: khorgos-1, name: Entry lane}
policies:
  - {node: khorgos-1, fragments: referenced, mbps: 20}
`), 0o600)
	run := func(args ...string) (string, error) {
		var out, errb bytes.Buffer
		err := cmdTopology(append(args, "--api", srv.URL), &out, &errb)
		return out.String() + errb.String(), err
	}
	if out, err := run("apply", file); err != nil || !strings.Contains(out, "6 records applied") {
		t.Fatalf("apply: %v\n%s", err, out)
	}
	out, err := run("show")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"almaty (centre)", "└─ region-east (region)", "khorgos-1 (site)  fragments referenced, 20 Mbit/s",
		"camera Camera1  rtsp://viewer:xxxxx@10.20.1.5/ch1  tcp entry  zone lane-1  anpr 5 fps"} {
		if !strings.Contains(out, want) {
			t.Errorf("show lacks %q:\n%s", want, out)
		}
	}
	if out, err := run("status"); err != nil || !strings.Contains(out, "centre-1") || !strings.Contains(out, "voter, leader") {
		t.Fatalf("status: %v\n%s", err, out)
	}
	if out, err := run("delete", "camera", "khorgos-1/Camera1"); err != nil || !strings.Contains(out, "deleted camera khorgos-1/Camera1") {
		t.Fatalf("delete: %v\n%s", err, out)
	}
	if _, err := run("delete", "node", "region-east"); topology.CodeOf(err) != topology.CodeConflict || !strings.Contains(err.Error(), "still has children khorgos-1") {
		t.Fatalf("delete parent: %v", err)
	}
	out, err = run("export", "--consistent")
	var ct topology.Contents
	if err != nil || json.Unmarshal([]byte(out), &ct) != nil || len(ct.Nodes) != 3 || len(ct.Cameras) != 0 {
		t.Fatalf("export: %v\n%s", err, out)
	}
	if _, err := run("join", "centre-2"); err == nil || !strings.Contains(err.Error(), "usage") {
		t.Fatalf("join without address: %v", err)
	}
	if _, err := run("frobnicate"); err == nil {
		t.Fatal("unknown command accepted")
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("nodes:\n  - {id: x, role: site, colour: red}\n"), 0o600)
	if _, err := run("apply", bad); err == nil || !strings.Contains(err.Error(), `unknown field "colour"`) {
		t.Fatalf("apply with an unknown key: %v", err)
	}
}
