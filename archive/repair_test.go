package archive

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// recordOne writes a closed segment and returns its bytes.
func recordOne(t *testing.T, d time.Duration) []byte {
	t.Helper()
	a, _ := openTestArchive(t, Options{})
	f := newFeeder(t, time.Date(2025, 8, 18, 14, 0, 1, 0, time.UTC))
	r := a.NewRecorder("Camera1", f.track(), "")
	f.feed(t, r, d)
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	segs, _ := a.Index().Segments("Camera1", time.Time{}, time.Time{})
	b, err := os.ReadFile(a.Abs(segs[0].Path))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestScanLayoutAndRepairFile(t *testing.T) {
	whole := recordOne(t, 5*time.Second)
	l, err := ScanLayout(bytes.NewReader(whole), int64(len(whole)))
	if err != nil {
		t.Fatal(err)
	}
	if l.Good != int64(len(whole)) || l.Fragments != 5 {
		t.Fatalf("layout of a closed file = %+v (size %d)", l, len(whole))
	}
	dir := t.TempDir()
	// cut anywhere inside the last fragment: repair drops exactly that fragment
	for _, cut := range []int64{l.LastMoof + 3, l.LastMoof + 100, int64(len(whole)) - 1} {
		p := filepath.Join(dir, "cut.mp4")
		if err := os.WriteFile(p, whole[:cut], 0o644); err != nil {
			t.Fatal(err)
		}
		res, err := RepairFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if res.Bytes != l.LastMoof || res.Fragments != 4 || res.Dropped != cut-l.LastMoof {
			t.Fatalf("cut at %d: %+v, want %d bytes", cut, res, l.LastMoof)
		}
		if math.Abs(res.Duration.Seconds()-4) > 0.001 || res.Width != 1280 || res.Codec != "h264" {
			t.Fatalf("cut at %d: %+v", cut, res)
		}
		p2 := ffprobeFile(t, p)
		if p2.Frames != 100 || !p2.FirstKey {
			t.Fatalf("repaired file: %+v", p2)
		}
		if fileSHA(t, p) != res.SHA256 {
			t.Fatal("sha256 mismatch")
		}
	}
	// a file holding only its init section has nothing to keep
	p := filepath.Join(dir, "init.mp4")
	_ = os.WriteFile(p, whole[:l.InitEnd+10], 0o644)
	if res, err := RepairFile(p); err != nil || res.Fragments != 0 {
		t.Fatalf("init-only: %+v %v", res, err)
	}
	// not an MP4 at all
	_ = os.WriteFile(p, []byte("this is not a video file at all"), 0o644)
	if _, err := RepairFile(p); err == nil {
		t.Fatal("garbage accepted")
	}
}

// NVMS-6.9: a file left open by a crash is truncated, indexed as repaired,
// and the hole until recording resumes becomes a gap.
func TestOpenRepairsAfterCrash(t *testing.T) {
	dir := t.TempDir()
	o := Options{Root: filepath.Join(dir, "archive"), IndexPath: filepath.Join(dir, "archive.db"), Location: time.UTC}
	a, ev := openTestArchive(t, o)
	start := time.Date(2025, 8, 18, 14, 0, 1, 0, time.UTC)
	f := newFeeder(t, start)
	r := a.NewRecorder("Camera1", f.track(), "")
	f.feed(t, r, 3500*time.Millisecond) // 3 fragments on disk, 0.5 s pending
	if r.file == nil {
		t.Fatal("no open file")
	}
	// crash: the process dies with the file open and half a fragment written
	_, _ = r.file.f.Write([]byte{0, 0, 0x10, 0, 'm', 'o', 'o', 'f', 1, 2, 3})
	_ = r.file.f.Close()
	path := r.rel
	a.Close()

	o.Events = ev
	a2, err := Open(o)
	if err != nil {
		t.Fatal(err)
	}
	defer a2.Close()
	segs, _ := a2.Index().Segments("Camera1", time.Time{}, time.Time{})
	if len(segs) != 1 || !segs[0].Repaired || segs[0].Path != path {
		t.Fatalf("after repair: %+v", segs)
	}
	if d := segs[0].Duration(); d != 3*time.Second {
		t.Fatalf("repaired duration %v, want 3s (3 complete fragments)", d)
	}
	if p := ffprobeFile(t, a2.Abs(path)); p.Frames != 75 {
		t.Fatalf("repaired file: %+v", p)
	}
	// recording resumes 20 s after the crash
	f2 := newFeeder(t, start.Add(23*time.Second))
	r2 := a2.NewRecorder("Camera1", f2.track(), "node was not recording")
	f2.feed(t, r2, 2*time.Second)
	if err := r2.Close(); err != nil {
		t.Fatal(err)
	}
	gaps, _ := a2.Index().Gaps("Camera1", time.Time{}, time.Time{})
	if len(gaps) != 1 || !gaps[0].Start.Equal(start.Add(3*time.Second)) || !gaps[0].End.Equal(start.Add(23*time.Second)) {
		t.Fatalf("gaps = %+v", gaps)
	}
	if len(eventsOf(t, ev, "archive.gap")) != 1 {
		t.Fatal("no gap event")
	}
	open, _ := a2.Index().openRecords()
	if len(open) != 0 {
		t.Fatalf("open records left: %+v", open)
	}
}

func TestIndexRanges(t *testing.T) {
	a, _ := openTestArchive(t, Options{Segment: 10 * time.Second})
	start := time.Date(2025, 8, 18, 14, 0, 0, 0, time.UTC)
	f := newFeeder(t, start)
	r := a.NewRecorder("Camera1", f.track(), "")
	f.feed(t, r, 40*time.Second)
	_ = r.Close()
	x := a.Index()
	cases := []struct {
		from, to time.Time
		n        int
	}{
		{start.Add(-time.Hour), time.Time{}, 4},
		{start.Add(5 * time.Second), start.Add(15 * time.Second), 2},
		{start.Add(10 * time.Second), start.Add(20 * time.Second), 1},
		{start.Add(39 * time.Second), time.Time{}, 1},
		{start.Add(40 * time.Second), time.Time{}, 0},
		{start.Add(-time.Hour), start, 0},
	}
	for _, c := range cases {
		segs, err := x.Segments("Camera1", c.from, c.to)
		if err != nil || len(segs) != c.n {
			t.Errorf("[%v, %v): %d segments (%v), want %d", c.from.Sub(start), c.to.Sub(start), len(segs), err, c.n)
		}
	}
	if segs, _ := x.Segments("nobody", time.Time{}, time.Time{}); len(segs) != 0 {
		t.Fatal("unknown camera has segments")
	}
}

func FuzzScanLayout(f *testing.F) {
	f.Add([]byte{0, 0, 0, 8, 'f', 't', 'y', 'p'})
	f.Add([]byte{0, 0, 0, 1, 'm', 'o', 'o', 'v', 0, 0, 0, 0, 0, 0, 0, 20})
	f.Add([]byte{0, 0, 0, 8, 'f', 't', 'y', 'p', 0, 0, 0, 8, 'm', 'o', 'o', 'v', 0, 0, 0, 8, 'm', 'o', 'o', 'f', 0, 0, 0, 9, 'm', 'd', 'a', 't', 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := ScanLayout(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		if l.Good > int64(len(b)) || l.InitEnd > l.Good || l.LastMoof > l.Good || l.Fragments < 0 {
			t.Fatalf("layout %+v out of bounds for %d bytes", l, len(b))
		}
	})
}
