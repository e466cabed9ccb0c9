package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kuzet/kuzet/internal/testkit"
)

func runCLI(t *testing.T, args ...string) (int, string) {
	t.Helper()
	out, err := exec.Command(testkit.Binary(t), args...).CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), string(out)
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0, string(out)
}

func TestCLI(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	_ = os.WriteFile(bad, []byte("node:\n  id: a\n  data_dir: "+dir+"\ncameras:\n  - id: Camera1\n    url: rtsp://127.0.0.1/x\n    trasport: tcp\n"), 0o644)
	cases := []struct {
		args     []string
		code     int
		contains string
	}{
		{[]string{"version"}, 0, "kuzet "},
		{[]string{"--help"}, 0, "kuzet run -c node.yaml"},
		{[]string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{[]string{"seals", "check", "../../testdata/seals/tracking-04.json"}, 0, "ok: tracking KZ.KTZE:0006 from KZ.KTZE to RU.GLONASS-TM"},
		{[]string{"seals", "check", "../../testdata/seals/bad-latitude.json", "../../testdata/seals/tracking-04.json"}, 2,
			"bad-latitude.json: refused: tracking.seal.reading.latitude: 93 is out of range -90..90"},
		{[]string{"seals", "schema"}, 0, `"$schema": "https://json-schema.org/draft/2020-12/schema"`},
		{[]string{"seals", "query", "--api", "http://127.0.0.1:1", "--seal", "RU-7700123456", "--type", "T2"}, 2, `--type must be T0, T1 or owner (got "T2")`},
		{[]string{"seals", "query", "--api", "http://127.0.0.1:1", "--seal", "RU-7700123456", "--type", "T1"}, 2, "--to is required with --type T1"},
		{[]string{"seals", "partners", "--api", "http://127.0.0.1:1"}, 2, "connection refused"},
		{[]string{"run", "-c", bad}, 2, `line 7: cameras[0].trasport: unknown key`},
		{[]string{"run", "-c", filepath.Join(dir, "missing.yaml")}, 2, "no such file"},
		{[]string{"archive", "repair", bad}, 2, "not a fragmented MP4"},
	}
	for _, c := range cases {
		code, out := runCLI(t, c.args...)
		if code != c.code || !strings.Contains(out, c.contains) {
			t.Errorf("kuzet %s: exit %d, output %q", strings.Join(c.args, " "), code, out)
		}
	}
}

func TestPKICommands(t *testing.T) {
	dir := t.TempDir()
	if code, out := runCLI(t, "pki", "init", "--dir", dir); code != 0 || !strings.Contains(out, "ca.pem") {
		t.Fatalf("init: %d %s", code, out)
	}
	if code, out := runCLI(t, "pki", "init", "--dir", dir); code != 2 || !strings.Contains(out, "already exists") {
		t.Fatalf("second init: %d %s", code, out)
	}
	code, out := runCLI(t, "pki", "issue", "--dir", dir, "--node", "khorgos-1")
	if code != 0 || !strings.Contains(out, "khorgos-1.pem") || !strings.Contains(out, "serial") {
		t.Fatalf("issue: %d %s", code, out)
	}
	if code, out := runCLI(t, "pki", "issue", "--dir", dir, "--node", "bad/id"); code != 2 || !strings.Contains(out, `node id "bad/id"`) {
		t.Fatalf("bad id: %d %s", code, out)
	}
	if code, out := runCLI(t, "pki", "issue", "--dir", filepath.Join(dir, "none"), "--node", "x"); code != 2 || !strings.Contains(out, "kuzet pki init") {
		t.Fatalf("no CA: %d %s", code, out)
	}
	if code, out := runCLI(t, "pki", "operator", "--dir", dir, "--id", "KZ.KTZE", "--host", "127.0.0.1,ops.example"); code != 0 || !strings.Contains(out, "KZ.KTZE.pem") {
		t.Fatalf("operator: %d %s", code, out)
	}
	if code, out := runCLI(t, "pki", "operator", "--dir", dir, "--id", "kz ktze"); code != 2 || !strings.Contains(out, `operator id "kz ktze"`) {
		t.Fatalf("bad operator id: %d %s", code, out)
	}
	if code, out := runCLI(t, "pki", "plugin", "--dir", dir, "--node", "khorgos-1", "--plugin", "smoke"); code != 0 ||
		!strings.Contains(out, "khorgos-1.smoke.pem") || !strings.Contains(out, "for node khorgos-1 only") {
		t.Fatalf("plugin: %d %s", code, out)
	}
	if code, out := runCLI(t, "pki", "plugin", "--dir", dir, "--node", "khorgos-1"); code != 2 || !strings.Contains(out, "--plugin is required") {
		t.Fatalf("plugin without a name: %d %s", code, out)
	}
}

// Every command answers --help with its usage and exit status 0, without
// doing its work (repairing a file named "--help", reading a password);
// wrong arguments still fail with 2.
func TestEveryCommandHelp(t *testing.T) {
	cases := map[string]string{
		"run": "-allow-short-retention", "check": "-timeout", "demo": "-centre-http", "testcam": "-cameras",
		"archive": "archive repair FILE", "archive repair": "archive repair FILE", "archive verify": "-quick",
		"pki": "pki issue", "pki init": "-days", "pki issue": "-node",
		"anpr": "anpr synth", "anpr eval": "-countries", "anpr synth": "-country", "anpr passes": "-frames",
		"sftp": "sftp passwd", "sftp passwd": "sftp passwd", "user": "user hash", "user hash": "user hash",
		"topology": "topology COMMAND", "topology show": "-api", "topology apply": "-api",
		"audit": "audit verify", "audit verify": "-events",
	}
	for cmd, want := range cases {
		for _, flag := range []string{"--help", "-h"} {
			args := append(strings.Fields(cmd), flag)
			code, out := runCLI(t, args...)
			if code != 0 || !strings.Contains(out, want) {
				t.Errorf("kuzet %s: exit %d, output %q (want 0 and %q)", strings.Join(args, " "), code, out, want)
			}
		}
	}
	for _, args := range [][]string{{"archive"}, {"pki"}, {"sftp", "x"}, {"user"}, {"audit"}, {"anpr"}, {"run", "--bogus"}} {
		if code, out := runCLI(t, args...); code != 2 {
			t.Errorf("kuzet %s: exit %d, want 2 (%q)", strings.Join(args, " "), code, out)
		}
	}
}
