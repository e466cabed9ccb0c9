package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/tls"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kuzet/kuzet/evidence"
	"github.com/kuzet/kuzet/pki"
)

// kuzet export verify says OK for a package as made, names what was
// altered in one that was not, and with --ca says which node signed.
func TestExportVerifyCommand(t *testing.T) {
	dir := t.TempDir()
	caDir, otherCA := filepath.Join(dir, "pki"), filepath.Join(dir, "other")
	for _, d := range []string{caDir, otherCA} {
		if err := pki.InitCA(d, "kuzet", time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	iss, err := pki.IssueNode(caDir, "centre-1", caDir, time.Time{}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.LoadX509KeyPair(iss.CertPath, iss.KeyPath)
	if err != nil {
		t.Fatal(err)
	}
	video := filepath.Join(dir, "cam.mp4")
	if err := os.WriteFile(video, bytes.Repeat([]byte("frame"), 2000), 0o644); err != nil {
		t.Fatal(err)
	}
	m := evidence.Manifest{Node: "centre-1", Created: time.Now().UTC(), User: "alice", Reason: "truck at gate 3", Case: "C-77",
		From: time.Now().Add(-time.Hour).UTC(), To: time.Now().UTC()}
	var buf bytes.Buffer
	signer := evidence.CertificateSigner(pair.PrivateKey.(*ecdsa.PrivateKey), pair.Certificate[0])
	if err := evidence.Write(&buf, m, []evidence.Member{{Path: video, File: evidence.File{Name: "video/01_Camera1.mp4", Camera: "Camera1"}}}, signer); err != nil {
		t.Fatal(err)
	}
	pkg := filepath.Join(dir, "pkg.zip")
	if err := os.WriteFile(pkg, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	ca := filepath.Join(caDir, pki.CACertFile)
	code, out := runCLI(t, "export", "verify", pkg, "--ca", ca)
	if code != 0 || !strings.Contains(out, "OK: every file matches") || !strings.Contains(out, "node centre-1") ||
		!strings.Contains(out, "chains to the CA") || !strings.Contains(out, "case      C-77") {
		t.Fatalf("verify: %d\n%s", code, out)
	}
	code, out = runCLI(t, "export", "verify", "--ca", filepath.Join(otherCA, pki.CACertFile), pkg)
	if code == 0 || !strings.Contains(out, "does not chain to the CA") || !strings.Contains(out, "NOT INTACT") {
		t.Fatalf("verify against another CA: %d\n%s", code, out)
	}
	// one byte of the video changed in place (a stored zip keeps it readable)
	b := bytes.Replace(buf.Bytes(), []byte("frameframe"), []byte("frameFrame"), 1)
	if err := os.WriteFile(pkg, b, 0o644); err != nil {
		t.Fatal(err)
	}
	code, out = runCLI(t, "export", "verify", pkg)
	if code == 0 || !strings.Contains(out, "video/01_Camera1.mp4") || !strings.Contains(out, "NOT INTACT") {
		t.Fatalf("verify an altered package: %d\n%s", code, out)
	}
	if code, out := runCLI(t, "export", "verify"); code != 2 || !strings.Contains(out, "usage: kuzet export verify") {
		t.Fatalf("no package: %d %s", code, out)
	}
}
