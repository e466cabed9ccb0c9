package playback

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kuzet/kuzet/archive"
	"github.com/kuzet/kuzet/config"
	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/media"
	"github.com/kuzet/kuzet/site"
	"github.com/kuzet/kuzet/testcam"
)

const (
	gop        = time.Second // the demo clip's keyframe interval
	segmentLen = 3 * time.Second
	origin     = "region-1" // a child whose camera this node holds replicas of
)

// fixture is an archive recorded from the synthetic camera over RTSP,
// with a replica of part of it, served over loopback HTTP.
type fixture struct {
	dir    string
	arch   *archive.Archive
	reg    *prometheus.Registry
	srv    *httptest.Server
	base   string // srv.URL + "/api/v1/archive"
	segs   []archive.Segment
	gaps   []archive.Gap
	mixed  []archive.Segment // camera "Mixed": 1280x720, then 640x360
	replic []archive.Segment
}

// newFixture records Camera1 in two sessions with a restart between
// them (a gap), 3-second segments.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	needTools(t)
	fx := &fixture{dir: t.TempDir()}
	events, err := event.OpenLog(filepath.Join(fx.dir, "events.db"), "site-1", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { events.Close() })
	fx.arch, err = archive.Open(archive.Options{
		Root: filepath.Join(fx.dir, "archive"), Segment: segmentLen, Location: time.UTC, Events: events,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fx.arch.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); fx.arch.Run(ctx) }()
	t.Cleanup(func() { cancel(); wg.Wait() })

	src, err := testcam.Start(testcam.Options{Listen: "127.0.0.1:0", DisableUDP: true})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	record := func(d time.Duration) {
		s := site.New(site.Options{
			Cameras: []config.Camera{{ID: "Camera1", URL: src.URL("cam1"), Transport: "tcp",
				OfflineAfter: config.Duration(5 * time.Second)}},
			Events: events,
			Consumers: []media.Consumer{{Name: "recorder", Queue: 256, Critical: true,
				Open: func(camera string, tr media.Track, reason string) (media.Sink, error) {
					return fx.arch.NewRecorder(camera, tr, reason), nil
				}}},
			BackoffMin: 200 * time.Millisecond, BackoffMax: time.Second,
		})
		sctx, scancel := context.WithTimeout(ctx, d)
		defer scancel()
		s.Run(sctx)
	}
	record(9 * time.Second)
	time.Sleep(1500 * time.Millisecond) // the node is down: a gap
	record(7 * time.Second)

	idx := fx.arch.Index()
	if fx.segs, err = idx.Segments("Camera1", time.Time{}, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if fx.gaps, err = idx.Gaps("Camera1", time.Time{}, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if len(fx.segs) < 4 || len(fx.gaps) != 1 {
		t.Fatalf("recorded %d segments and %d gaps: %+v %+v", len(fx.segs), len(fx.gaps), fx.segs, fx.gaps)
	}

	// a parent's copy of the child's first two files, imported the way
	// replication does it
	for _, s := range fx.segs[:2] {
		part, err := fx.arch.PartPath(origin, s.Path)
		if err != nil {
			t.Fatal(err)
		}
		if err := fx.arch.MkdirFor(part); err != nil {
			t.Fatal(err)
		}
		copyFile(t, fx.arch.Abs(s.Path), part)
		if err := fx.arch.ImportReplica(origin, s, part); err != nil {
			t.Fatal(err)
		}
	}
	if fx.replic, err = idx.Segments(event.ReplicaCamera(origin, "Camera1"), time.Time{}, time.Time{}); err != nil || len(fx.replic) != 2 {
		t.Fatalf("replicas %+v, %v", fx.replic, err)
	}

	fx.mixed = recordMixed(t, fx.arch)
	recordEvent(t, fx.arch)
	fx.reg = prometheus.NewRegistry()
	h, err := New(Options{Archive: fx.arch, MaxSpan: time.Hour, Registerer: fx.reg})
	if err != nil {
		t.Fatal(err)
	}
	fx.srv = httptest.NewServer(h)
	t.Cleanup(fx.srv.Close)
	fx.base = fx.srv.URL + "/api/v1/archive"
	return fx
}

// recordMixed records camera "Mixed" through the recorder API: 3 s of the
// demo clip, then 3 s of a 640x360 stream, as after a camera's profile
// was changed. The second part is encoded by ffmpeg here.
func recordMixed(t *testing.T, a *archive.Archive) []archive.Segment {
	t.Helper()
	big := parseClip(t, testcam.DemoClip)
	little := smallClip(t)
	start := time.Date(2025, 8, 18, 14, 0, 0, 0, time.UTC)
	n := feed(t, a, "Mixed", big, start, 75)
	feed(t, a, "Mixed", little, start.Add(time.Duration(n)*40*time.Millisecond), 75)
	segs, err := a.Index().Segments("Mixed", time.Time{}, time.Time{})
	if err != nil || len(segs) != 2 {
		t.Fatalf("Mixed: %+v, %v", segs, err)
	}
	return segs
}

// recordEvent records camera "Event" as an event-recorded camera does:
// its 640x360 sub-stream ("Event~sub") for 12 s from eventStart and its
// 1280x720 main stream for 3 s from 5 s in.
func recordEvent(t *testing.T, a *archive.Archive) {
	t.Helper()
	feed(t, a, "Event~sub", smallClip(t), eventStart, 300)
	big := parseClip(t, testcam.DemoClip)
	feed(t, a, "Event", big, eventStart.Add(5*time.Second), 75)
}

var eventStart = time.Date(2025, 8, 18, 15, 0, 0, 0, time.UTC)

// smallClip is 3 s of a 640x360 stream with a keyframe each second,
// encoded by ffmpeg here.
func smallClip(t *testing.T) *testcam.Clip {
	t.Helper()
	small := filepath.Join(t.TempDir(), "small.h264")
	out, err := exec.Command("ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-f", "lavfi",
		"-i", "testsrc2=size=640x360:rate=25", "-t", "3", "-c:v", "libx264", "-g", "25", "-bf", "0",
		"-pix_fmt", "yuv420p", "-x264-params", "aud=1", "-f", "h264", small).CombinedOutput()
	if err != nil {
		t.Fatalf("encode 640x360 clip: %v: %s", err, out)
	}
	raw, err := os.ReadFile(small)
	if err != nil {
		t.Fatal(err)
	}
	return parseClip(t, raw)
}

func parseClip(t testing.TB, b []byte) *testcam.Clip {
	t.Helper()
	c, err := testcam.ParseAnnexB(b)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// feed records frames of clip at 25 fps from start as one session and
// closes it; it returns how many frames were written.
func feed(t testing.TB, a *archive.Archive, camera string, clip *testcam.Clip, start time.Time, frames int) int {
	t.Helper()
	r := a.NewRecorder(camera, media.Track{Codec: media.H264, SPS: clip.SPS, PPS: clip.PPS}, "test")
	feedOpen(t, r, clip, start, 0, frames)
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	return frames
}

// feedOpen writes frames [from, from+n) of a looped clip.
func feedOpen(t testing.TB, r *archive.Recorder, clip *testcam.Clip, start time.Time, from, n int) {
	t.Helper()
	for i := from; i < from+n; i++ {
		fr := clip.Frames[i%len(clip.Frames)]
		u := &media.Unit{NALUs: fr.NALUs, PTS: int64(i) * 3600, Time: start.Add(time.Duration(i) * 40 * time.Millisecond)}
		if err := r.WriteUnit(u); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
	}
}

func needTools(t testing.TB) {
	t.Helper()
	for _, tool := range []string{"ffmpeg", "ffprobe"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not installed: apt-get install -y ffmpeg", tool)
		}
	}
}

func copyFile(t testing.TB, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// get fetches a URL and returns status, headers and body.
func get(t testing.TB, url string, hdr ...string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read %s: %v", url, err)
	}
	return resp.StatusCode, resp.Header, b
}

// getJSON fetches a URL, wants status code and decodes the body into v.
func getJSON(t testing.TB, url string, code int, v any) {
	t.Helper()
	got, _, body := get(t, url)
	if got != code {
		t.Fatalf("GET %s: %d %s, want %d", url, got, body, code)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("GET %s: %v: %s", url, err, body)
	}
}

// rangeQ is the query string of a camera and a time range.
func rangeQ(camera string, from, to time.Time) string {
	return url.Values{"camera": {camera}, "from": {from.UTC().Format(time.RFC3339Nano)},
		"to": {to.UTC().Format(time.RFC3339Nano)}}.Encode()
}
