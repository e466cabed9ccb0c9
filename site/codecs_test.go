package site

import (
	"context"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kuzet/kuzet/archive"
	"github.com/kuzet/kuzet/archive/playback"
	"github.com/kuzet/kuzet/config"
	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/internal/mediatest"
	"github.com/kuzet/kuzet/media"
	"github.com/kuzet/kuzet/testcam"
)

// publishFFmpeg makes ffmpeg a camera: a test pattern encoded with codec
// (and its options), published over RTSP to url until the test ends.
func publishFFmpeg(t *testing.T, url string, size string, fps string, codec ...string) {
	t.Helper()
	bin, err := exec.LookPath("ffmpeg")
	if err != nil {
		t.Fatal("ffmpeg not installed: apt-get install -y ffmpeg")
	}
	args := append([]string{"-v", "error", "-re", "-f", "lavfi", "-i", "testsrc=size=" + size + ":rate=" + fps}, codec...)
	args = append(args, "-f", "rtsp", "-rtsp_transport", "tcp", url)
	cmd := exec.Command(bin, args...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
}

// NVMS-6.14: an M-JPEG camera and an MPEG-4 Part 2 camera are recorded as
// they come, in MP4 files ffprobe reads with the camera's size and rate,
// each starting at a keyframe.
func TestPictureCodecsAreRecorded(t *testing.T) {
	src, err := testcam.Start(testcam.Options{Listen: "127.0.0.1:0", DisableUDP: true})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	publishFFmpeg(t, src.URL("mjpeg"), "320x240", "10", "-c:v", "mjpeg", "-pix_fmt", "yuvj420p", "-huffman", "0", "-q:v", "5")
	publishFFmpeg(t, src.URL("mp4v"), "352x288", "15", "-c:v", "mpeg4", "-g", "15", "-q:v", "5")
	// UA-3.14: a camera at 2 fps, below the 3 fps floor
	publishFFmpeg(t, src.URL("slow"), "320x240", "2", "-c:v", "mjpeg", "-pix_fmt", "yuvj420p", "-huffman", "0", "-q:v", "5")

	dir := t.TempDir()
	events, err := event.OpenLog(filepath.Join(dir, "events.db"), "site-test", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer events.Close()
	arch, err := archive.Open(archive.Options{Root: filepath.Join(dir, "archive"), Events: events, Segment: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer arch.Close()
	s := New(Options{
		Cameras: []config.Camera{cam("Motion", src.URL("mjpeg")), cam("Old", src.URL("mp4v")), cam("Slow", src.URL("slow"))},
		Events:  events,
		Consumers: []media.Consumer{{Name: "recorder", Queue: 256, Critical: true,
			Open: func(camera string, tr media.Track, reason string) (media.Sink, error) {
				return arch.NewRecorder(camera, tr, reason), nil
			}}},
		BackoffMin: 200 * time.Millisecond, BackoffMax: time.Second, QualityWindow: 2 * time.Second,
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	deadline := time.Now().Add(20 * time.Second)
	closed := func(id string) int {
		segs, _ := arch.Index().Segments(id, time.Now().Add(-time.Hour), time.Time{})
		return len(segs)
	}
	for time.Now().Before(deadline) && (closed("Motion") < 2 || closed("Old") < 2 || len(alarmsOf(t, events, event.AlarmFrameRate)) == 0) {
		time.Sleep(200 * time.Millisecond)
	}
	status := map[string]Status{}
	for _, st := range s.Status() {
		status[st.ID] = st
	}
	cancel()
	<-done

	// the slow camera has its alarm, naming its rate; the others none
	if a := alarmsOf(t, events, event.AlarmFrameRate); len(a) != 1 || a[0].Camera != "Slow" || !strings.Contains(string(a[0].Payload), "outside 3–30 fps") {
		t.Errorf("frame-rate alarms: %+v", a)
	}
	for _, c := range []struct {
		id, codec string
		w, h      int
		fps       float64
	}{{"Motion", "mjpeg", 320, 240, 10}, {"Old", "mpeg4", 352, 288, 15}} {
		if st := status[c.id]; st.State != StateStreaming || st.Codec != c.codec {
			t.Errorf("%s: %+v", c.id, st)
		}
		segs, err := arch.Index().Segments(c.id, time.Now().Add(-time.Hour), time.Time{})
		if err != nil || len(segs) < 2 {
			t.Fatalf("%s: segments %+v %v", c.id, segs, err)
		}
		for _, sg := range segs {
			if sg.Codec != c.codec || sg.Width != c.w || sg.Height != c.h {
				t.Errorf("%s: index %+v", c.id, sg)
			}
			p := mediatest.Probe(t, arch.Abs(sg.Path))
			if p.Codec != c.codec || p.Width != c.w || p.Height != c.h || !p.FirstKey {
				t.Errorf("%s %s: ffprobe %+v", c.id, sg.Path, p)
			}
			if got := float64(p.Frames) / sg.Duration().Seconds(); got < c.fps*0.8 || got > c.fps*1.2 {
				t.Errorf("%s %s: %d frames in %v", c.id, sg.Path, p.Frames, sg.Duration())
			}
			if errs := mediatest.DecodeErrors(t, arch.Abs(sg.Path)); errs != "" {
				t.Errorf("%s %s: decoding: %s", c.id, sg.Path, errs)
			}
		}
	}

	// and they play in a browser: the archive transcodes a range to H.264
	pb, err := playback.New(playback.Options{Archive: arch})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(pb)
	defer srv.Close()
	for _, id := range []string{"Motion", "Old"} {
		segs, _ := arch.Index().Segments(id, time.Now().Add(-time.Hour), time.Time{})
		from, to := segs[0].Start, segs[len(segs)-1].End
		u := srv.URL + "/api/v1/archive/transcode.mp4?" + url.Values{"camera": {id},
			"from": {from.Format(time.RFC3339Nano)}, "to": {to.Format(time.RFC3339Nano)}}.Encode()
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(t.TempDir(), id+".mp4")
		f, _ := os.Create(out)
		_, _ = io.Copy(f, resp.Body)
		f.Close()
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "video/mp4" {
			t.Fatalf("%s transcoded: %d", id, resp.StatusCode)
		}
		p := mediatest.Probe(t, out)
		if want := to.Sub(from).Seconds(); p.Codec != "h264" || !p.FirstKey || math.Abs(p.Duration-want) > 0.5 {
			t.Errorf("%s transcoded: %+v, want h264 for %.1f s", id, p, want)
		}
	}
}
