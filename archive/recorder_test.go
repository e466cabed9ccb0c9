package archive

import (
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/kuzet/kuzet/media"
)

// CGR-4.2a/c: files are cut at the first keyframe after each wall-clock
// boundary and named Camera/Year/Month/Day/Hour/Camera_Y_M_D_H_MM[_SS].mp4.
func TestRecorderCutsAtWallClockBoundaries(t *testing.T) {
	a, ev := openTestArchive(t, Options{Segment: 10 * time.Second})
	start := time.Date(2025, 8, 18, 14, 4, 53, 500e6, time.UTC)
	f := newFeeder(t, start)
	r := a.NewRecorder("Camera1", f.track(), "test")
	f.feed(t, r, 30*time.Second)
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}

	segs, err := a.Index().Segments("Camera1", start.Add(-time.Hour), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	// keyframes every second at .5: the cut lands 0.5 s after each boundary
	want := []struct {
		path       string
		start, end time.Time
	}{
		{"Camera1/2025/08/18/14/Camera1_2025_08_18_14_04.mp4", start, at(14, 5, 0.5)},
		{"Camera1/2025/08/18/14/Camera1_2025_08_18_14_05.mp4", at(14, 5, 0.5), at(14, 5, 10.5)},
		{"Camera1/2025/08/18/14/Camera1_2025_08_18_14_05_10.mp4", at(14, 5, 10.5), at(14, 5, 20.5)},
		{"Camera1/2025/08/18/14/Camera1_2025_08_18_14_05_20.mp4", at(14, 5, 20.5), at(14, 5, 23.5)},
	}
	if len(segs) != len(want) {
		t.Fatalf("got %d segments: %+v", len(segs), segs)
	}
	for i, w := range want {
		s := segs[i]
		if s.Path != w.path || !s.Start.Equal(w.start) || !s.End.Equal(w.end) {
			t.Errorf("segment %d = %s %v..%v, want %s %v..%v", i, s.Path, s.Start, s.End, w.path, w.start, w.end)
		}
		abs := a.Abs(s.Path)
		if got := fileSHA(t, abs); got != s.SHA256 {
			t.Errorf("%s: sha256 %s, index says %s", s.Path, got, s.SHA256)
		}
		st, _ := os.Stat(abs)
		if st.Size() != s.Bytes {
			t.Errorf("%s: %d bytes, index says %d", s.Path, st.Size(), s.Bytes)
		}
		p := ffprobeFile(t, abs)
		if p.Codec != "h264" || p.Width != 1280 || p.Height != 720 || !p.FirstKey {
			t.Errorf("%s: ffprobe %+v", s.Path, p)
		}
		if d := s.Duration().Seconds(); math.Abs(p.Duration-d) > 0.05 {
			t.Errorf("%s: ffprobe duration %.3f, index %.3f", s.Path, p.Duration, d)
		}
		if wantFrames := int(s.Duration() / (40 * time.Millisecond)); p.Frames != wantFrames {
			t.Errorf("%s: %d frames, want %d", s.Path, p.Frames, wantFrames)
		}
	}
	if n := len(eventsOf(t, ev, "segment.closed")); n != len(want) {
		t.Errorf("%d segment.closed events, want %d", n, len(want))
	}
}

func at(h, m int, sec float64) time.Time {
	return time.Date(2025, 8, 18, h, m, 0, 0, time.UTC).Add(time.Duration(sec * float64(time.Second)))
}

// CGR-4.2c is in the node's time zone: Almaty is UTC+5.
func TestSegmentPathUsesNodeTimeZone(t *testing.T) {
	loc, err := time.LoadLocation("Asia/Almaty")
	if err != nil {
		t.Fatalf("no time zone data for Asia/Almaty (%v): apt-get install -y tzdata", err)
	}
	ts := time.Date(2025, 8, 18, 9, 5, 30, 0, time.UTC)
	if got := SegmentPath("Camera1", ts, loc, 0); got != "Camera1/2025/08/18/14/Camera1_2025_08_18_14_05.mp4" {
		t.Fatal(got)
	}
	if got := SegmentPath("Camera1", ts, loc, 1); got != "Camera1/2025/08/18/14/Camera1_2025_08_18_14_05_30.mp4" {
		t.Fatal(got)
	}
	if got := SegmentPath("Camera1", ts, loc, 2); got != "Camera1/2025/08/18/14/Camera1_2025_08_18_14_05_30_2.mp4" {
		t.Fatal(got)
	}
	if got := CGRLink("Camera1/2025/08/18/11/Camera1_2025_08_18_11_05.mp4"); got != `Camera1\2025\08\18\11\Camera1_2025_08_18_11_05.mp4` {
		t.Fatal(got)
	}
	if got := nextBoundary(ts, 5*time.Minute, loc); !got.Equal(time.Date(2025, 8, 18, 9, 10, 0, 0, time.UTC)) {
		t.Fatal(got)
	}
}

// CGR-4.2b: a file is cut early, at a keyframe, before it would pass the cap.
func TestRecorderSizeCap(t *testing.T) {
	const limit = 600 << 10
	a, _ := openTestArchive(t, Options{Segment: 5 * time.Minute, MaxFileBytes: limit})
	start := time.Date(2025, 8, 18, 14, 0, 0, 0, time.UTC)
	f := newFeeder(t, start)
	r := a.NewRecorder("Camera1", f.track(), "")
	f.feed(t, r, 40*time.Second)
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	segs, _ := a.Index().Segments("Camera1", start, time.Time{})
	if len(segs) < 5 {
		t.Fatalf("only %d segments for 40 s at ~160 KB/s under a 600 KB cap", len(segs))
	}
	for i, s := range segs {
		if s.Bytes > limit {
			t.Errorf("%s: %d bytes over the %d cap", s.Path, s.Bytes, limit)
		}
		if p := ffprobeFile(t, a.Abs(s.Path)); !p.FirstKey {
			t.Errorf("%s does not start with a keyframe", s.Path)
		}
		if i > 0 && !s.Start.Equal(segs[i-1].End) {
			t.Errorf("%s starts %v, previous ended %v", s.Path, s.Start, segs[i-1].End)
		}
	}
}

// CGR-4.2b: a stream above the limit is recorded and raises an alarm.
func TestRecorderResolutionAlarm(t *testing.T) {
	a, ev := openTestArchive(t, Options{MaxWidth: 640, MaxHeight: 480})
	// mid-minute, so the 2 s never cross a segment boundary
	start := time.Date(2025, 8, 18, 14, 0, 20, 0, time.UTC)
	f := newFeeder(t, start)
	r := a.NewRecorder("Camera7", f.track(), "")
	f.feed(t, r, 2*time.Second)
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	alarms := eventsOf(t, ev, "alarm.raised")
	if len(alarms) != 1 || alarms[0].Camera != "Camera7" {
		t.Fatalf("alarms = %+v", alarms)
	}
	if segs, _ := a.Index().Segments("Camera7", start, time.Time{}); len(segs) != 1 {
		t.Fatalf("segments = %+v", segs)
	}
}

// Units before the first keyframe cannot be decoded and are skipped.
func TestRecorderWaitsForKeyframe(t *testing.T) {
	a, _ := openTestArchive(t, Options{})
	start := time.Date(2025, 8, 18, 14, 0, 20, 0, time.UTC) // 3 s within one segment
	f := newFeeder(t, start)
	f.n = 5 // start mid-GOP
	r := a.NewRecorder("Camera1", f.track(), "")
	f.feed(t, r, 3*time.Second)
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	segs, _ := a.Index().Segments("Camera1", start.Add(-time.Hour), time.Time{})
	if len(segs) != 1 {
		t.Fatalf("segments = %+v", segs)
	}
	if p := ffprobeFile(t, a.Abs(segs[0].Path)); !p.FirstKey || p.Frames != 75-20 {
		t.Fatalf("probe = %+v", p)
	}
}

// A failed write closes and repairs the file, raises one alarm, and the
// next keyframe starts a new file; a clean close clears the alarm.
func TestRecorderRecoversFromWriteError(t *testing.T) {
	a, ev := openTestArchive(t, Options{})
	start := time.Date(2025, 8, 18, 14, 0, 10, 0, time.UTC)
	f := newFeeder(t, start)
	r := a.NewRecorder("Camera1", f.track(), "")
	f.feed(t, r, 2500*time.Millisecond)
	_ = r.file.f.Close() // the disk goes away under the writer
	for i := 0; i < 75; i++ {
		fr := f.clip.Frames[f.n%len(f.clip.Frames)]
		u := &media.Unit{NALUs: fr.NALUs, PTS: int64(f.n) * 3600, Time: f.start.Add(time.Duration(f.n) * 40 * time.Millisecond)}
		_ = r.WriteUnit(u) // errors are reported, not fatal
		f.n++
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	segs := mustSegments(t, a, "Camera1")
	if len(segs) != 2 || !segs[0].Repaired || segs[0].Duration() != 2*time.Second {
		t.Fatalf("segments %+v", segs)
	}
	if p := ffprobeFile(t, a.Abs(segs[0].Path)); p.Frames != 50 {
		t.Fatalf("repaired file %+v", p)
	}
	// the write of the keyframe at 3 s failed; the next file starts at the
	// next one, 4 s, by its wall clock, and the hole is a gap saying why
	if !segs[1].Start.Equal(start.Add(4 * time.Second)) {
		t.Errorf("the file after the failure starts %v, want %v", segs[1].Start, start.Add(4*time.Second))
	}
	gaps, _ := a.Index().Gaps("Camera1", time.Time{}, time.Time{})
	if len(gaps) != 1 || !gaps[0].Start.Equal(segs[0].End) || !gaps[0].End.Equal(segs[1].Start) ||
		!strings.HasPrefix(gaps[0].Reason, "write failed: ") {
		t.Errorf("gaps %+v", gaps)
	}
	if len(eventsOf(t, ev, "alarm.raised")) != 1 || len(eventsOf(t, ev, "alarm.cleared")) != 1 {
		t.Fatal("want one raised and one cleared archive_write_failed alarm")
	}
}
