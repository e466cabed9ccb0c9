package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kuzet/kuzet/pki"
	"github.com/kuzet/kuzet/testcam"
	"github.com/kuzet/kuzet/timesync/timesynctest"
)

// kuzet check names, one line each, what a restart would meet: a camera
// that streams and one that does not, a federation certificate that names
// another node, an NTP server that answers and one that does not; any
// failure exits non-zero, and a configuration that does not parse is the
// one line.
func TestCheckCommand(t *testing.T) {
	cam, err := testcam.Start(testcam.Options{Listen: "127.0.0.1:0", DisableUDP: true, SubStreams: true})
	if err != nil {
		t.Fatal(err)
	}
	defer cam.Close()
	ntpOK, err := timesynctest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer ntpOK.Close()
	ntpSilent, err := timesynctest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer ntpSilent.Close()
	ntpSilent.SetSilent(true)
	dir := t.TempDir()
	pkiDir := filepath.Join(dir, "pki")
	if err := pki.InitCA(pkiDir, "test", time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := pki.IssueNode(pkiDir, "other", pkiDir, time.Time{}, 24*time.Hour); err != nil {
		t.Fatal(err)
	}
	write := func(body string) string {
		p := filepath.Join(dir, "node.yaml")
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	run := func(path string) (string, error) {
		var out, errb bytes.Buffer
		err := command(context.Background(), []string{"check", "-c", path, "-timeout", "2s"}, &out, &errb)
		return out.String(), err
	}
	good := fmt.Sprintf(`
node: {id: gate, data_dir: %[1]s/data}
archive: {root: %[1]s/archive}
cameras:
  - {id: Gate1, url: %[2]q, sub_path: /cam1-sub}
time: {ntp: [%[3]q]}
`, dir, cam.URL("cam1"), ntpOK.Addr())
	out, err := run(write(good))
	if err != nil {
		t.Fatalf("a good node: %v\n%s", err, out)
	}
	for _, want := range []string{"ok   configuration", "ok   node.data_dir", "ok   archive.root", "ok   camera Gate1  ", "h264 1280x720",
		"ok   camera Gate1 sub-stream", "h264 640x360", "ok   NTP " + ntpOK.Addr()} {
		if !strings.Contains(out, want) {
			t.Errorf("the good node's check lacks %q:\n%s", want, out)
		}
	}
	bad := fmt.Sprintf(`
node: {id: gate, data_dir: %[1]s/data}
archive: {root: %[1]s/archive}
cameras:
  - {id: Gate1, url: %[2]q}
  - {id: Gate2, url: "rtsp://127.0.0.1:1/nothing", offline_after: 1s}
federation:
  upstream: ["127.0.0.1:7443"]
  tls: {ca: %[3]s/ca.pem, cert: %[3]s/other.pem, key: %[3]s/other-key.pem}
time: {ntp: [%[4]q]}
`, dir, cam.URL("cam1"), pkiDir, ntpSilent.Addr())
	out, err = run(write(bad))
	if err == nil || !strings.Contains(err.Error(), "3 checks failed") {
		t.Fatalf("a node with three faults: %v\n%s", err, out)
	}
	for _, want := range []string{"ok   camera Gate1", "FAIL camera Gate2", "connect", `FAIL federation.tls`, `names node "other", this node is "gate"`,
		"FAIL NTP " + ntpSilent.Addr()} {
		if !strings.Contains(out, want) {
			t.Errorf("the faulty node's check lacks %q:\n%s", want, out)
		}
	}
	out, err = run(write("node: {id: gate}\ncameras: [{id: G, url: http://x}]\n"))
	if err == nil || !strings.HasPrefix(out, "FAIL configuration") || !strings.Contains(out, "cameras[0].url") || strings.Count(out, "\n") != 1 {
		t.Fatalf("a configuration that does not parse: %v\n%s", err, out)
	}
}
