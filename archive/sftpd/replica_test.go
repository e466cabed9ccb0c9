package sftpd

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/kuzet/kuzet/archive"
	"github.com/kuzet/kuzet/archive/objstore"
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

// A parent keeping its replicas in object storage serves them under
// /.replicas/ as its index lists them, merged with the older ones still
// on its disk; downloads read the store by ranges.
func TestStoredReplicasServed(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "archive")
	store, err := objstore.NewFS(filepath.Join(dir, "store"))
	if err != nil {
		t.Fatal(err)
	}
	a, err := archive.Open(archive.Options{Root: root, IndexPath: filepath.Join(dir, "archive.db"), Location: time.UTC, Store: store})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	seg := func(cam string, minute int, body []byte) archive.Segment {
		start := time.Date(2025, 8, 18, 14, minute, 0, 0, time.UTC)
		sum := sha256.Sum256(body)
		return archive.Segment{Camera: cam, Start: start, End: start.Add(time.Minute), Path: archive.SegmentPath(cam, start, time.UTC, 0),
			Bytes: int64(len(body)), SHA256: hex.EncodeToString(sum[:])}
	}
	// an older replica on the disk
	old := []byte("a child's segment kept on the disk")
	s0 := seg("Camera1", 5, old)
	part, err := a.PartPath("site-b", s0.Path)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.MkdirFor(part); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(part, old, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := a.ImportReplica("site-b", s0, part); err != nil {
		t.Fatal(err)
	}
	// newer ones in the store only: one beside it, one of another origin
	big := make([]byte, 3<<20+12345)
	_, _ = rand.Read(big)
	stored := map[string][]byte{}
	for _, r := range []struct {
		origin string
		s      archive.Segment
		b      []byte
	}{{"site-b", seg("Camera1", 6, big), big}, {"site-c", seg("Camera2", 7, []byte("site-c's")), []byte("site-c's")}} {
		key, _ := archive.StoreKey(archive.ReplicaPath(r.origin, r.s.Path))
		if err := store.Put(context.Background(), key, bytes.NewReader(r.b), int64(len(r.b)), r.s.SHA256); err != nil {
			t.Fatal(err)
		}
		if err := a.IndexStoredReplica(r.origin, r.s); err != nil {
			t.Fatal(err)
		}
		stored["/"+archive.ReplicaPath(r.origin, r.s.Path)] = r.b
	}

	keyFile, authorized, signer := clientKey(t, dir, "k")
	srv := startServer(t, Options{Root: root, Replicas: a, Accounts: []Account{{Name: "viewer", AuthorizedKeys: []string{authorized}}}})
	c := sftpClient(t, srv, signer)
	names := func(p string) map[string]int64 {
		t.Helper()
		ents, err := c.ReadDir(p)
		if err != nil {
			t.Fatalf("list %s: %v", p, err)
		}
		out := map[string]int64{}
		for _, e := range ents {
			out[e.Name()] = e.Size()
			if e.IsDir() {
				out[e.Name()] = -1
			}
		}
		return out
	}
	if got := names("/" + archive.ReplicaDir); len(got) != 2 || got["site-b"] != -1 || got["site-c"] != -1 {
		t.Fatalf("origins: %v", got)
	}
	if got := names("/" + archive.ReplicaDir + "/site-c/Camera2/2025/08"); len(got) != 1 || got["18"] != -1 {
		t.Fatalf("site-c's days: %v", got)
	}
	hour := "/" + archive.ReplicaDir + "/site-b/Camera1/2025/08/18/14"
	got := names(hour)
	if len(got) != 2 || got[path.Base(s0.Path)] != int64(len(old)) || got["Camera1_2025_08_18_14_06.mp4"] != int64(len(big)) {
		t.Fatalf("site-b's hour, on disk and in the store: %v", got)
	}
	for vpath, want := range stored {
		st, err := c.Stat(vpath)
		if err != nil || st.Size() != int64(len(want)) || !st.Mode().IsRegular() {
			t.Fatalf("stat %s: %v, %v", vpath, st, err)
		}
		f, err := c.Open(vpath)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(f)
		if err != nil || !bytes.Equal(b, want) {
			t.Fatalf("read %s: %d bytes, %v", vpath, len(b), err)
		}
		p := make([]byte, min(1000, len(want)-len(want)/2))
		if n, err := f.ReadAt(p, int64(len(want))/2); err != nil || !bytes.Equal(p[:n], want[len(want)/2:len(want)/2+n]) {
			t.Fatalf("read %s at the middle: %v", vpath, err)
		}
		f.Close()
		if err := c.Remove(vpath); err == nil || !strings.Contains(err.Error(), "permission denied") {
			t.Fatalf("remove %s: %v", vpath, err)
		}
	}
	if _, err := c.Stat(hour + "/Camera1_2025_08_18_14_09.mp4"); err == nil {
		t.Fatal("a replica never indexed is listed")
	}
	if _, err := c.Open("/" + archive.ReplicaPath("site-b", "Camera1/2025/08/18/14/Camera1_2025_08_18_14_09.mp4")); err == nil {
		t.Fatal("a replica never indexed is served")
	}
	// the one on the disk is still served from there
	f, err := c.Open(hour + "/" + path.Base(s0.Path))
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(f); !bytes.Equal(b, old) {
		t.Fatalf("disk replica: %q", b)
	}
	f.Close()

	// OpenSSH's client lists and downloads it too
	if _, err := exec.LookPath("sftp"); err != nil {
		t.Fatal("OpenSSH's sftp client is missing: apt-get install -y openssh-client")
	}
	local := filepath.Join(t.TempDir(), "got.mp4")
	out, err := sftpRun(t, srv.Addr(), "viewer", nil, fmt.Sprintf("ls -l %s\nget %s/Camera1_2025_08_18_14_06.mp4 %s\n", hour, hour, local),
		"-i", keyFile, "-o", "IdentitiesOnly=yes", "-o", "PasswordAuthentication=no", "-o", "PreferredAuthentications=publickey")
	if err != nil {
		t.Fatalf("sftp: %v\n%s", err, out)
	}
	if !strings.Contains(out, "Camera1_2025_08_18_14_06.mp4") || !strings.Contains(out, fmt.Sprint(len(big))) {
		t.Errorf("OpenSSH listing:\n%s", out)
	}
	if b, err := os.ReadFile(local); err != nil || !bytes.Equal(b, big) {
		t.Fatalf("OpenSSH download: %d bytes, %v", len(b), err)
	}
}
