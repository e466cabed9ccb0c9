package agent

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kuzet/kuzet/archive"
	"github.com/kuzet/kuzet/archive/objstore"
	"github.com/kuzet/kuzet/config"
	"github.com/kuzet/kuzet/replicate"
)

// A region whose replicas are in the archive's object store serves them
// to its parent as held: the puller does not pull them again from the
// child, and the file is read from the store.
func TestServeFileFromStore(t *testing.T) {
	dir := t.TempDir()
	store, err := objstore.NewFS(filepath.Join(dir, "store"))
	if err != nil {
		t.Fatal(err)
	}
	arch, err := archive.Open(archive.Options{Root: filepath.Join(dir, "archive"), Store: store})
	if err != nil {
		t.Fatal(err)
	}
	defer arch.Close()
	q, err := replicate.OpenQueue(filepath.Join(dir, "replicate.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	a := &Agent{cfg: &config.Config{Node: config.Node{ID: "region"}}, archive: arch}
	a.puller = &replicate.Puller{Queue: q, Store: partsOf(arch), Self: "region", Local: a.localFile}

	rel := "Camera1/2025/08/18/14/Camera1_2025_08_18_14_05.mp4"
	data := make([]byte, 2<<20+5)
	_, _ = rand.Read(data)
	sum := sha256.Sum256(data)
	start := time.Date(2025, 8, 18, 14, 5, 0, 0, time.UTC)
	s := archive.Segment{Camera: "Camera1", Start: start, End: start.Add(time.Minute), Path: rel,
		Bytes: int64(len(data)), SHA256: hex.EncodeToString(sum[:])}
	key, _ := archive.StoreKey(archive.ReplicaPath("site", rel))
	if err := store.Put(context.Background(), key, bytes.NewReader(data), s.Bytes, s.SHA256); err != nil {
		t.Fatal(err)
	}
	if err := arch.IndexStoredReplica("site", s); err != nil {
		t.Fatal(err)
	}

	if where, err := a.localFile("site", rel); err != nil || !strings.Contains(where, store.Name()) {
		t.Fatalf("held: %q, %v", where, err)
	}
	f, err := a.serveFile("site", rel)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || st.Size() != s.Bytes {
		t.Fatalf("stat: %v, %v", st, err)
	}
	got, err := io.ReadAll(io.NewSectionReader(f, 0, st.Size()))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("served %d bytes, %v", len(got), err)
	}
	// one it holds nowhere, and the queue does not know: refused
	if _, err := a.serveFile("site", strings.Replace(rel, "14_05", "14_06", 1)); err == nil {
		t.Fatal("a segment held nowhere was served")
	}
}
