package sftpd

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/kuzet/kuzet/archive"
)

// A parent's replicas are served read-only like its own recordings, under
// /.replicas/ORIGIN/ (the archive layout).
func TestReplicasServedReadOnly(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "archive")
	a, err := archive.Open(archive.Options{Root: root, IndexPath: filepath.Join(dir, "archive.db"), Location: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	rel := "Camera1/2025/08/18/14/Camera1_2025_08_18_14_05.mp4"
	body := []byte("a child's segment")
	sum := sha256.Sum256(body)
	s := archive.Segment{Camera: "Camera1", Start: time.Date(2025, 8, 18, 14, 5, 0, 0, time.UTC), Path: rel,
		Bytes: int64(len(body)), SHA256: hex.EncodeToString(sum[:])}
	part, err := a.PartPath("site-b", rel)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.MkdirFor(part); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(part, body, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := a.ImportReplica("site-b", s, part); err != nil {
		t.Fatal(err)
	}
	a.Close()

	_, _, signer := clientKey(t, dir, "k")
	authorized := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey())))
	srv := startServer(t, Options{Root: root, Accounts: []Account{{Name: "viewer", AuthorizedKeys: []string{authorized}}}})
	c := sftpClient(t, srv, signer)
	vpath := "/" + archive.ReplicaPath("site-b", rel)
	if ents, err := c.ReadDir("/" + archive.ReplicaDir); err != nil || len(ents) != 1 || ents[0].Name() != "site-b" {
		t.Fatalf("list /%s: %v, %v", archive.ReplicaDir, ents, err)
	}
	f, err := c.Open(vpath)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(f)
	f.Close()
	if err != nil || string(got) != string(body) {
		t.Fatalf("read %s = %q, %v", vpath, got, err)
	}
	if w, err := c.Create(vpath); err == nil {
		w.Close()
		t.Fatal("overwriting a replica succeeded")
	}
	if err := c.Remove(vpath); err == nil || !strings.Contains(err.Error(), "permission denied") {
		t.Fatalf("remove: %v", err)
	}
}
