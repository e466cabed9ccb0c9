package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kuzet/kuzet/archive"
	"github.com/kuzet/kuzet/config"
	"github.com/kuzet/kuzet/site"
	"github.com/kuzet/kuzet/testcam"
)

const gop = time.Second // the demo clip's keyframe interval

// startFFmpegPublisher publishes the clip into the synthetic camera server
// like an encoder pushing to a media server.
func startFFmpegPublisher(t *testing.T, url string) {
	t.Helper()
	ffmpeg, err := exec.LookPath("ffmpeg")
	if err != nil {
		t.Skip("ffmpeg not installed")
	}
	// raw H.264 cannot be looped by seeking: remux into MP4 first
	clip := filepath.Join(t.TempDir(), "clip.mp4")
	if out, err := exec.Command(ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-f", "h264",
		"-framerate", "25", "-i", "../testdata/plates720p.h264", "-c", "copy", clip).CombinedOutput(); err != nil {
		t.Fatalf("remux clip: %v: %s", err, out)
	}
	var stderr strings.Builder
	cmd := exec.Command(ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error",
		"-re", "-stream_loop", "-1", "-i", clip, "-c", "copy", "-f", "rtsp", "-rtsp_transport", "tcp", url)
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("ffmpeg: %s", stderr.String())
		}
	})
}

// startAgent runs a node; stop cancels it and returns Run's error.
func startAgent(t *testing.T, yaml string) (a *Agent, stop func() error) {
	t.Helper()
	cfg, err := config.Parse([]byte(yaml), config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	a, err = New(cfg, log, Options{Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	var runErr error
	go func() {
		runErr = a.Run(ctx)
		close(done)
	}()
	stop = func() error {
		cancel()
		<-done
		return runErr
	}
	t.Cleanup(func() { _ = stop() })
	return a, stop
}

var layout = regexp.MustCompile(`^(Camera\d)/(\d{4})/(\d{2})/(\d{2})/(\d{2})/(Camera\d)_(\d{4})_(\d{2})_(\d{2})_(\d{2})_(\d{2})(_\d{2})?\.mp4$`)

// CGR-4.1a, CGR-4.2: real RTSP over TCP, UDP and from an ffmpeg publisher is
// recorded into correctly named, playable, indexed files.
func TestRecordsRealRTSPStreams(t *testing.T) {
	cam, err := testcam.Start(testcam.Options{Listen: "127.0.0.1:0", Cameras: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer cam.Close()
	startFFmpegPublisher(t, cam.URL("pub1"))

	dir := t.TempDir()
	const seg = 4 * time.Second
	a, stop := startAgent(t, fmt.Sprintf(`
node: {id: it-site, data_dir: %s, time_zone: UTC}
http: {listen: "127.0.0.1:0"}
archive: {segment: %s}
cameras:
  - {id: Camera1, url: %q, transport: tcp}
  - {id: Camera2, url: %q, transport: udp}
  - {id: Camera3, url: %q, transport: tcp}
`, dir, seg, cam.URL("cam1"), cam.URL("cam2"), cam.URL("pub1")))

	// four full segments after the first (partial) one
	time.Sleep(5*seg + 2*time.Second)
	status := getStatus(t, a)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	for _, st := range status {
		if st.State != site.StateStreaming || st.Width != 1280 || st.FPS < 20 {
			t.Errorf("status %+v", st)
		}
	}

	idx, err := archive.OpenIndex(filepath.Join(dir, "archive.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer idx.Close()
	for _, camera := range []string{"Camera1", "Camera2", "Camera3"} {
		segs, err := idx.Segments(camera, time.Time{}, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if len(segs) < 4 {
			t.Fatalf("%s: %d segments", camera, len(segs))
		}
		for i, s := range segs {
			m := layout.FindStringSubmatch(s.Path)
			if m == nil || m[1] != camera || m[6] != camera {
				t.Errorf("%s: path %q does not follow the layout", camera, s.Path)
				continue
			}
			st := s.Start.UTC()
			if m[2] != fmt.Sprintf("%04d", st.Year()) || m[5] != fmt.Sprintf("%02d", st.Hour()) ||
				m[11] != fmt.Sprintf("%02d", st.Minute()) {
				t.Errorf("%s: path %q does not match start %v", camera, s.Path, st)
			}
			abs := filepath.Join(dir, "archive", filepath.FromSlash(s.Path))
			if sum := sha(t, abs); sum != s.SHA256 {
				t.Errorf("%s: sha256 %s, index %s", s.Path, sum, s.SHA256)
			}
			p := ffprobe(t, abs)
			if p.codec != "h264" || p.width != 1280 || p.height != 720 {
				t.Errorf("%s: ffprobe %+v", s.Path, p)
			}
			// the first and last files are partial; the rest are one segment long, within a GOP
			if i > 0 && i < len(segs)-1 && math.Abs(p.duration-seg.Seconds()) > gop.Seconds() {
				t.Errorf("%s: %.2f s, want %v ± %v", s.Path, p.duration, seg, gop)
			}
			if i > 0 && !s.Start.Equal(segs[i-1].End) {
				t.Errorf("%s: starts %v but the previous ended %v", s.Path, s.Start, segs[i-1].End)
			}
		}
	}
}

func getStatus(t *testing.T, a *Agent) []site.Status {
	t.Helper()
	resp, err := http.Get("http://" + a.HTTPAddr() + "/api/v1/cameras")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st []site.Status
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	return st
}

type probed struct {
	codec         string
	width, height int
	duration      float64
}

func ffprobe(t *testing.T, path string) probed {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v:0",
		"-show_entries", "stream=codec_name,width,height:format=duration", "-of", "default=nw=1", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	var p probed
	for _, line := range strings.Split(string(out), "\n") {
		k, v, _ := strings.Cut(line, "=")
		switch k {
		case "codec_name":
			p.codec = v
		case "width":
			p.width, _ = strconv.Atoi(v)
		case "height":
			p.height, _ = strconv.Atoi(v)
		case "duration":
			p.duration, _ = strconv.ParseFloat(v, 64)
		}
	}
	return p
}

func sha(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
