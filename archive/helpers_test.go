package archive

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/internal/mediatest"
	"github.com/kuzet/kuzet/media"
	"github.com/kuzet/kuzet/testcam"
)

// feeder plays the demo clip into a recorder with a chosen wall clock.
type feeder struct {
	clip  *testcam.Clip
	start time.Time
	n     int
}

func newFeeder(t testing.TB, start time.Time) *feeder {
	t.Helper()
	c, err := testcam.ParseAnnexB(testcam.DemoClip)
	if err != nil {
		t.Fatal(err)
	}
	return &feeder{clip: c, start: start}
}

func (f *feeder) track() media.Track {
	return media.Track{Codec: media.H264, SPS: f.clip.SPS, PPS: f.clip.PPS}
}

// feed writes d worth of 25 fps frames.
func (f *feeder) feed(t testing.TB, r *Recorder, d time.Duration) {
	t.Helper()
	frames := int(d / (40 * time.Millisecond))
	for i := 0; i < frames; i++ {
		fr := f.clip.Frames[f.n%len(f.clip.Frames)]
		u := &media.Unit{NALUs: fr.NALUs, PTS: int64(f.n) * 3600, Time: f.start.Add(time.Duration(f.n) * 40 * time.Millisecond)}
		if err := r.WriteUnit(u); err != nil {
			t.Fatalf("frame %d: %v", f.n, err)
		}
		f.n++
	}
}

func openTestArchive(t testing.TB, o Options) (*Archive, *event.Log) {
	t.Helper()
	dir := t.TempDir()
	if o.Root == "" {
		o.Root = filepath.Join(dir, "archive")
	}
	if o.IndexPath == "" {
		o.IndexPath = filepath.Join(dir, "archive.db")
	}
	if o.Location == nil {
		o.Location = time.UTC
	}
	var ev *event.Log
	if o.Events == nil {
		var err error
		ev, err = event.OpenLog(filepath.Join(dir, "events.db"), "test-node", nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ev.Close() })
		o.Events = ev
	}
	a, err := Open(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a, ev
}

// ffprobeFile reads a file the way an external player would.
func ffprobeFile(t testing.TB, path string) mediatest.Info { return mediatest.Probe(t, path) }

func fileSHA(t testing.TB, path string) string { return mediatest.SHA256(t, path) }

func eventsOf(t testing.TB, l *event.Log, kind string) []event.Event {
	t.Helper()
	all, err := l.Range(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []event.Event
	for _, e := range all {
		if e.Kind == kind {
			out = append(out, e)
		}
	}
	return out
}
