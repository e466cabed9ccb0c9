package archive

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/kuzet/kuzet/event"
)

// clock is a controllable Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// record writes d of video for camera starting at start, cut every 10 s.
func record(t *testing.T, a *Archive, camera string, start time.Time, d time.Duration) {
	t.Helper()
	f := newFeeder(t, start)
	r := a.NewRecorder(camera, f.track(), "")
	f.feed(t, r, d)
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
}

// CGR-6 / NVMS-6.10: retention per camera, measured against the clock.
func TestRetentionPerCamera(t *testing.T) {
	day := 24 * time.Hour
	clk := &clock{}
	a, ev := openTestArchive(t, Options{
		Segment: 10 * time.Second, Now: clk.Now,
		Retention: func(cam string) time.Duration {
			if cam == "Long" {
				return 90 * day
			}
			return 60 * day
		},
	})
	t0 := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	record(t, a, "Short", t0, 20*time.Second)
	record(t, a, "Long", t0, 20*time.Second)
	record(t, a, "Short", t0.Add(10*day), 20*time.Second)
	oldPath := a.Abs(SegmentPath("Short", t0, time.UTC, 0))

	clk.Set(t0.Add(59 * day))
	a.Sweep()
	if n := countSegments(t, a, "Short"); n != 4 {
		t.Fatalf("day 59: %d segments of Short, want 4", n)
	}
	clk.Set(t0.Add(61 * day))
	a.Sweep()
	if n := countSegments(t, a, "Short"); n != 2 {
		t.Fatalf("day 61: %d segments of Short, want the 2 newer ones", n)
	}
	if n := countSegments(t, a, "Long"); n != 2 {
		t.Fatalf("day 61: Long kept %d, want 2 (90-day retention)", n)
	}
	if _, err := os.Stat(oldPath); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("expired file still on disk: %v", err)
	}
	// the emptied day directory is removed, the camera folder stays
	if _, err := os.Stat(filepath.Dir(oldPath)); !errors.Is(err, fs.ErrNotExist) {
		t.Fatal("empty hour directory left behind")
	}
	if len(eventsOf(t, ev, event.KindSegmentPurged)) != 1 {
		t.Fatal("no purge event")
	}
	clk.Set(t0.Add(91 * day))
	a.Sweep()
	if n := countSegments(t, a, "Long"); n != 0 {
		t.Fatalf("day 91: Long kept %d", n)
	}
}

// The free-disk floor deletes the oldest segments of any camera first and
// raises an alarm; when space returns the alarm clears.
func TestDiskFloorDeletesOldestFirst(t *testing.T) {
	const capacity = 6 << 20
	var root string
	used := func() uint64 {
		var n uint64
		_ = filepath.WalkDir(root, func(_ string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				if info, err := d.Info(); err == nil {
					n += uint64(info.Size())
				}
			}
			return nil
		})
		return n
	}
	// a small virtual disk: capacity minus what the archive holds
	free := func(string) (uint64, error) {
		u := used()
		if u > capacity {
			return 0, nil
		}
		return capacity - u, nil
	}
	dir := t.TempDir()
	root = filepath.Join(dir, "archive")
	a, ev := openTestArchive(t, Options{
		Root: root, Segment: 10 * time.Second, MinFreeBytes: 2 << 20, DiskFree: free,
		Now: func() time.Time { return time.Date(2025, 8, 18, 11, 0, 0, 0, time.UTC) },
	})
	t0 := time.Date(2025, 8, 18, 10, 0, 0, 0, time.UTC)
	record(t, a, "CamA", t0, 10*time.Second)                    // oldest
	record(t, a, "CamB", t0.Add(time.Minute), 10*time.Second)   // second oldest
	record(t, a, "CamA", t0.Add(2*time.Minute), 10*time.Second) // newest
	before := used()
	if before < 3<<20 {
		t.Fatalf("fixture too small: %d bytes", before)
	}
	record(t, a, "CamB", t0.Add(3*time.Minute), 10*time.Second)
	a.Sweep()
	f, _ := free("")
	if f < 2<<20 {
		t.Fatalf("free %d still under the floor", f)
	}
	a1 := mustSegments(t, a, "CamA")
	b := mustSegments(t, a, "CamB")
	// ~1.5 MB each: two had to go, and they were the two oldest
	if len(a1) != 1 || !a1[0].Start.Equal(t0.Add(2*time.Minute)) ||
		len(b) != 1 || !b[0].Start.Equal(t0.Add(3*time.Minute)) {
		t.Fatalf("survivors CamA %+v CamB %+v", a1, b)
	}
	alarms := eventsOf(t, ev, event.KindAlarmRaised)
	if len(alarms) != 1 || alarms[0].Severity != event.SeverityMedium {
		t.Fatalf("alarms = %+v", alarms)
	}
	var al event.Alarm
	_ = json.Unmarshal(alarms[0].Payload, &al)
	if al.Type != event.AlarmDiskFloor {
		t.Fatalf("alarm = %+v", al)
	}
	a.Sweep() // space is fine now: the alarm clears
	if len(eventsOf(t, ev, event.KindAlarmCleared)) != 1 {
		t.Fatal("disk floor alarm not cleared")
	}
}

func countSegments(t *testing.T, a *Archive, cam string) int {
	return len(mustSegments(t, a, cam))
}

func mustSegments(t *testing.T, a *Archive, cam string) []Segment {
	t.Helper()
	s, err := a.Index().Segments(cam, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}
