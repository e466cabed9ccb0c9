package archive

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// Open reports the whole fragments of the file being written: every
// prefix of that size scans as a valid fragmented MP4, and the size only
// grows with the file.
func TestOpenReportsWholeFragments(t *testing.T) {
	start := time.Date(2025, 8, 18, 14, 0, 0, 0, time.UTC)
	a, _ := openTestArchive(t, Options{})
	f := newFeeder(t, start)
	r := a.NewRecorder("Camera1", f.track(), "test")
	defer r.Close()
	if _, ok := a.Open("Camera1"); ok {
		t.Fatal("an open file before the first frame")
	}
	var last int64
	for i := range 5 {
		f.feed(t, r, 2*time.Second)
		of, ok := a.Open("Camera1")
		if !ok {
			t.Fatalf("step %d: no open file", i)
		}
		if of.Size <= last || !of.Start.Equal(start) {
			t.Fatalf("step %d: open file %+v after %d bytes", i, of, last)
		}
		last = of.Size
		st, err := os.Stat(a.Abs(of.Path))
		if err != nil || st.Size() < of.Size {
			t.Fatalf("step %d: the file holds %v bytes, Open says %d (%v)", i, st.Size(), of.Size, err)
		}
		n := countBoxes(t, a.Abs(of.Path), of.Size)
		if n < 3 {
			t.Fatalf("step %d: %d whole boxes in the first %d bytes", i, n, of.Size)
		}
	}
}

// countBoxes walks the top-level boxes of the first size bytes of a file
// and fails unless they end exactly there.
func countBoxes(t *testing.T, path string, size int64) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b = b[:size]
	n := 0
	for len(b) > 0 {
		if len(b) < 8 {
			t.Fatalf("%d bytes left after %d boxes", len(b), n)
		}
		l := int(b[0])<<24 | int(b[1])<<16 | int(b[2])<<8 | int(b[3])
		if l < 8 || l > len(b) {
			t.Fatalf("box %d (%q) of %d bytes with %d left", n, b[4:8], l, len(b))
		}
		b = b[l:]
		n++
	}
	return n
}

// A tail is found for playback until its segment is indexed, replaced by
// the next file's, and swept when nobody fetched it for TailTTL.
func TestTailsLifecycle(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2025, 8, 18, 14, 0, 30, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	a, _ := openTestArchive(t, Options{Now: clock})
	start := time.Date(2025, 8, 18, 14, 0, 0, 0, time.UTC)
	rel := "Camera1/2025/08/18/14/Camera1_2025_08_18_14_00.mp4"
	write := func(rel string) string {
		p, err := a.TailPath("site", rel)
		if err != nil {
			t.Fatal(err)
		}
		if err := a.MkdirFor(p); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("fragments"), 0o640); err != nil {
			t.Fatal(err)
		}
		return p
	}
	p1 := write(rel)
	if err := a.SetTail("site", OpenFile{Path: rel, Start: start, Size: 9}); err != nil {
		t.Fatal(err)
	}
	got, off, ok := a.Locate("site/Camera1", start.Add(20*time.Second))
	if !ok || got != TailRel("site", rel) || off != 20*time.Second {
		t.Fatalf("locate in the tail: %q %v %v", got, off, ok)
	}
	if _, _, ok := a.Locate("site/Camera1", start.Add(-time.Second)); ok {
		t.Fatal("a time before the tail located in it")
	}
	if _, _, ok := a.Locate("other/Camera1", start.Add(time.Second)); ok {
		t.Fatal("another origin's camera located in the tail")
	}

	// the next file: the old tail goes
	rel2 := "Camera1/2025/08/18/14/Camera1_2025_08_18_14_05.mp4"
	p2 := write(rel2)
	if err := a.SetTail("site", OpenFile{Path: rel2, Start: start.Add(5 * time.Minute), Size: 9}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p1); err == nil {
		t.Fatal("the tail of the closed file is still there")
	}
	// its segment indexed here: the tail is no longer located, and swept
	seg := Segment{Camera: "site/Camera1", Start: start.Add(5 * time.Minute), End: start.Add(10 * time.Minute),
		Path: ReplicaPath("site", rel2), Bytes: 9, SHA256: "00"}
	if _, err := a.index.putReplica(seg); err != nil {
		t.Fatal(err)
	}
	if got, _, ok := a.Locate("site/Camera1", start.Add(6*time.Minute)); !ok || got != seg.Path {
		t.Fatalf("locate after the segment was indexed: %q %v", got, ok)
	}
	if _, _, ok := a.locateTail("site/Camera1", start.Add(11*time.Minute)); ok {
		t.Fatal("a tail whose segment is indexed is still located")
	}
	a.Sweep()
	if _, err := os.Stat(p2); err == nil {
		t.Fatal("the tail of an indexed segment survived the sweep")
	}
	if _, ok := a.Tail("site", "Camera1"); ok {
		t.Fatal("the swept tail is still registered")
	}

	// a tail nobody asked for again is swept after TailTTL
	rel3 := "Camera1/2025/08/18/14/Camera1_2025_08_18_14_10.mp4"
	p3 := write(rel3)
	if err := a.SetTail("site", OpenFile{Path: rel3, Start: start.Add(10 * time.Minute), Size: 9}); err != nil {
		t.Fatal(err)
	}
	a.Sweep()
	if _, err := os.Stat(p3); err != nil {
		t.Fatal("a fresh tail was swept")
	}
	mu.Lock()
	now = now.Add(TailTTL + time.Second)
	mu.Unlock()
	a.Sweep()
	if _, err := os.Stat(p3); err == nil {
		t.Fatal("an idle tail survived the sweep")
	}

	// paths outside an origin's layout are refused
	for _, bad := range [][2]string{{"../x", rel}, {"site", "../Camera1/x.mp4"}, {"site", ".replicas/x/Camera1/a.mp4"}, {"site", "Camera1/x.txt"}} {
		if _, err := a.TailPath(bad[0], bad[1]); err == nil {
			t.Errorf("tail path %q of %q accepted", bad[1], bad[0])
		}
		if err := a.SetTail(bad[0], OpenFile{Path: bad[1]}); err == nil {
			t.Errorf("tail %q of %q set", bad[1], bad[0])
		}
	}
}

// Tails are a cache: a restart drops them.
func TestTailsDroppedAtOpen(t *testing.T) {
	dir := t.TempDir()
	o := Options{Root: filepath.Join(dir, "archive"), IndexPath: filepath.Join(dir, "archive.db")}
	a, _ := openTestArchive(t, o)
	p, err := a.TailPath("site", "Camera1/2025/08/18/14/Camera1_2025_08_18_14_00.mp4")
	if err != nil {
		t.Fatal(err)
	}
	if err := a.MkdirFor(p); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("x"), 0o640); err != nil {
		t.Fatal(err)
	}
	a.Close()
	b, _ := openTestArchive(t, o)
	if _, err := os.Stat(filepath.Join(b.Root(), TailDir)); err == nil {
		t.Fatal("tails survived a restart")
	}
}
