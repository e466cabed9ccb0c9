package archive

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	kuzet "github.com/kuzet/kuzet"
	"github.com/kuzet/kuzet/event"
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
	c, err := testcam.ParseAnnexB(kuzet.DemoClip)
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

type probe struct {
	Codec    string
	Width    int
	Height   int
	Duration float64
	Frames   int
	FirstKey bool
}

// ffprobeFile reads a file the way an external player would.
func ffprobeFile(t testing.TB, path string) probe {
	t.Helper()
	if _, err := exec.LookPath("ffprobe"); err != nil {
		t.Skip("ffprobe not installed")
	}
	out, err := exec.Command("ffprobe", "-v", "error", "-count_packets", "-select_streams", "v:0",
		"-show_entries", "stream=codec_name,width,height,nb_read_packets:format=duration", "-of", "json", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	var r struct {
		Streams []struct {
			CodecName string `json:"codec_name"`
			Width     int    `json:"width"`
			Height    int    `json:"height"`
			Packets   string `json:"nb_read_packets"`
		} `json:"streams"`
		Format struct {
			Duration string `json:"duration"`
		} `json:"format"`
	}
	if err := json.Unmarshal(out, &r); err != nil || len(r.Streams) != 1 {
		t.Fatalf("ffprobe %s: %s", path, out)
	}
	p := probe{Codec: r.Streams[0].CodecName, Width: r.Streams[0].Width, Height: r.Streams[0].Height}
	p.Duration, _ = strconv.ParseFloat(r.Format.Duration, 64)
	p.Frames, _ = strconv.Atoi(r.Streams[0].Packets)
	key, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v:0", "-read_intervals", "%+#1",
		"-show_entries", "frame=key_frame", "-of", "csv=p=0", path).Output()
	if err != nil {
		t.Fatalf("ffprobe first frame of %s: %v", path, err)
	}
	p.FirstKey = len(key) > 0 && key[0] == '1'
	return p
}

func fileSHA(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

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
