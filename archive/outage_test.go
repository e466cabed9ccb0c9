package archive

import (
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kuzet/kuzet/media"
)

// faults is a switchable storage fault: while err is set, every write the
// archive makes to its files fails with it, as on a full or read-only disk.
type faults struct {
	mu  sync.Mutex
	err error
	ops map[string]int // faulted operations
}

func (f *faults) set(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err = err
}

func (f *faults) check(op, _ string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if op == "repair" && !errors.Is(f.err, syscall.EROFS) {
		return nil // a full disk still lets a file be cut shorter
	}
	if f.err != nil {
		if f.ops == nil {
			f.ops = map[string]int{}
		}
		f.ops[op]++
	}
	return f.err
}

// Issue 14: after a disk-full spell (15 s) and a read-only spell (6.5 min)
// every later file was labelled early by the outage's length and no gap
// was recorded. The recorder's clock restarts at the first keyframe after a
// failure, from that keyframe's wall clock; each outage is a gap whose
// reason says the writes failed; the file open when the disk turned
// read-only is repaired once it is writable again.
func TestRecorderClockAfterStorageOutage(t *testing.T) {
	var fs faults
	a, ev := openTestArchive(t, Options{Segment: 10 * time.Second, WriteFault: fs.check})
	start := time.Date(2025, 8, 18, 16, 45, 3, 500e6, time.UTC)
	f := newFeeder(t, start)
	r := a.NewRecorder("Camera1", f.track(), "")
	wall := func() time.Time { return f.start.Add(time.Duration(f.n) * 40 * time.Millisecond) }
	// feed writes frames, ignoring the failures the recorder reports
	feed := func(d time.Duration) {
		for range int(d / (40 * time.Millisecond)) {
			fr := f.clip.Frames[f.n%len(f.clip.Frames)]
			_ = r.WriteUnit(&media.Unit{NALUs: fr.NALUs, PTS: int64(f.n) * 3600, Time: wall()})
			f.n++
		}
	}
	// the first keyframe at or after t, as the feeder will play it
	keyAfter := func(t time.Time) time.Time {
		for n := 0; ; n++ {
			at := f.start.Add(time.Duration(n) * 40 * time.Millisecond)
			if !at.Before(t) && f.clip.Frames[n%len(f.clip.Frames)].IDR {
				return at
			}
		}
	}

	feed(12300 * time.Millisecond)
	full := wall()
	fs.set(syscall.ENOSPC)
	feed(15 * time.Second)
	fs.set(nil)
	back1 := wall()
	feed(25 * time.Second)
	ro := wall()
	fs.set(syscall.EROFS)
	feed(6*time.Minute + 30*time.Second)
	fs.set(nil)
	back2 := wall()
	feed(25 * time.Second)
	end := wall()
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if fs.ops["write"] == 0 || fs.ops["create"] == 0 || fs.ops["repair"] == 0 {
		t.Fatalf("the outage did not reach every kind of write: %v", fs.ops)
	}

	segs := mustSegments(t, a, "Camera1")
	for i, s := range segs {
		if i > 0 && s.Start.Before(segs[i-1].End) {
			t.Errorf("%s starts %v, before the previous one ended (%v)", s.Path, s.Start, segs[i-1].End)
		}
		for _, out := range [][2]time.Time{{full, back1}, {ro, back2}} {
			if s.End.After(out[0].Add(time.Second)) && s.Start.Before(out[1]) {
				t.Errorf("%s claims %v-%v, across the outage %v-%v", s.Path, s.Start.Format("15:04:05.000"), s.End.Format("15:04:05.000"),
					out[0].Format("15:04:05.000"), out[1].Format("15:04:05.000"))
			}
		}
	}
	// the first file after each outage starts at its first keyframe, by
	// the wall clock; its name says so too
	firstAfter := func(t0 time.Time) (Segment, bool) {
		for _, s := range segs {
			if !s.Start.Before(t0) {
				return s, true
			}
		}
		return Segment{}, false
	}
	for _, back := range []time.Time{back1, back2} {
		s, ok := firstAfter(back)
		want := keyAfter(back)
		if !ok || !s.Start.Equal(want) || s.Path != SegmentPath("Camera1", want, time.UTC, 0) && s.Path != SegmentPath("Camera1", want, time.UTC, 1) {
			t.Errorf("first file after the outage ending %v: %+v, want it to start at %v", back.Format("15:04:05.000"), s, want.Format("15:04:05.000"))
		}
	}
	if last := segs[len(segs)-1]; !last.End.Equal(end) {
		t.Errorf("last file ends %v, the last frame ended %v", last.End.Format("15:04:05.000"), end.Format("15:04:05.000"))
	}
	// the file open when the disk turned read-only was repaired once it
	// could be written again, and nothing was left open
	var repaired int
	for _, s := range segs {
		if s.Repaired {
			repaired++
		}
	}
	if repaired != 2 {
		t.Errorf("%d repaired files, want 2 (one per outage): %+v", repaired, segs)
	}
	if open, err := a.index.openRecords(); err != nil || len(open) != 0 {
		t.Errorf("open records left: %+v %v", open, err)
	}

	gaps, err := a.Index().Gaps("Camera1", time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(gaps) != 2 {
		t.Fatalf("gaps: %+v", gaps)
	}
	for i, w := range []struct {
		back   time.Time
		reason string
	}{{back1, "no space left on device"}, {back2, "read-only file system"}} {
		g := gaps[i]
		next, _ := firstAfter(w.back)
		if !strings.HasPrefix(g.Reason, "write failed: ") || !strings.Contains(g.Reason, w.reason) || !g.End.Equal(next.Start) {
			t.Errorf("gap %d: %+v; want reason \"write failed: …%s…\" ending at %v", i, g, w.reason, next.Start)
		}
		var prev Segment
		for _, s := range segs {
			if s.End.After(g.Start) {
				break
			}
			prev = s
		}
		if !g.Start.Equal(prev.End) {
			t.Errorf("gap %d starts %v; the last file before it ended %v", i, g.Start, prev.End)
		}
	}
	gapEvents := eventsOf(t, ev, "archive.gap")
	if len(gapEvents) != 2 {
		t.Fatalf("archive.gap events: %+v", gapEvents)
	}
	for i, e := range gapEvents {
		var g Gap
		if err := json.Unmarshal(e.Payload, &g); err != nil || g != gaps[i] {
			t.Errorf("archive.gap event %d: %s, want %+v (%v)", i, e.Payload, gaps[i], err)
		}
	}
	if r, c := len(eventsOf(t, ev, "alarm.raised")), len(eventsOf(t, ev, "alarm.cleared")); r != 2 || c != 2 {
		t.Errorf("archive_write_failed raised %d and cleared %d times; want 2 and 2", r, c)
	}
}

// The session clock counts 90 kHz ticks; converting them must not
// overflow in a session of days (ticks × 1e9 did after 28.5 hours).
func TestRecorderClockLongSession(t *testing.T) {
	t0 := time.Date(2025, 8, 18, 0, 0, 0, 0, time.UTC)
	r := &Recorder{anchorWall: t0}
	for _, d := range []time.Duration{time.Second, 28 * time.Hour, 29 * time.Hour, 30 * 24 * time.Hour, 400*24*time.Hour + 40*time.Millisecond} {
		ticks := int64(d/time.Second)*media.ClockRate + int64(d%time.Second)*media.ClockRate/int64(time.Second)
		if got := r.wallAt(ticks); !got.Equal(t0.Add(d)) {
			t.Errorf("%v of ticks: wall clock %v, want %v", d, got, t0.Add(d))
		}
	}
}
