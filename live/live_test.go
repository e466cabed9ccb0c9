package live

import (
	"context"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kuzet/kuzet/config"
	"github.com/kuzet/kuzet/internal/mediatest"
	"github.com/kuzet/kuzet/internal/testkit"
	"github.com/kuzet/kuzet/live/livetest"
	"github.com/kuzet/kuzet/media"
	"github.com/kuzet/kuzet/site"
	"github.com/kuzet/kuzet/testcam"
)

// rig is a real camera path: RTSP source, site session, live server.
type rig struct {
	src  *testcam.Server
	site *site.Site
	live *Server
	url  string // http://.../live/
	base string // http://.../live/Camera1/
}

// startRig pulls path of a fresh testcam into a site that feeds the live
// server; publish, when above 0, first starts a stamped publisher at that
// frame rate on path.
func startRig(t *testing.T, o Options, path string, publish int) *rig {
	t.Helper()
	src, err := testcam.Start(testcam.Options{Listen: "127.0.0.1:0", DisableUDP: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(src.Close)
	if publish > 0 {
		pub, err := livetest.Publish(src.URL(path), publish)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := pub.Close(); err != nil {
				t.Error(err)
			}
		})
	}
	r := startLive(t, o, map[string]string{"Camera1": src.URL(path)})
	r.src = src
	return r
}

// startLive runs a site with the given cameras (ID to URL) feeding a live
// server, and waits until every camera's playlist is served.
func startLive(t *testing.T, o Options, cams map[string]string) *rig {
	t.Helper()
	var cfg []config.Camera
	for id, url := range cams {
		o.Cameras = append(o.Cameras, id)
		cfg = append(cfg, config.Camera{ID: id, URL: url, Transport: "tcp", OfflineAfter: config.Duration(5 * time.Second)})
	}
	srv, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	st := site.New(site.Options{Cameras: cfg, Consumers: []media.Consumer{srv.Consumer()},
		BackoffMin: 100 * time.Millisecond, BackoffMax: time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); st.Run(ctx) }()
	go func() { defer wg.Done(); srv.Run(ctx) }()
	mux := http.NewServeMux()
	mux.Handle("/live/", srv)
	hs := httptest.NewServer(mux)
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		hs.Close()
	})
	r := &rig{site: st, live: srv, url: hs.URL + "/live/", base: hs.URL + "/live/Camera1/"}
	// wait for the sessions: until then a playlist says "not streaming"
	for id := range cams {
		deadline := time.Now().Add(30 * time.Second)
		for {
			code, body := get(t, r.url+id+"/index.m3u8")
			if code == http.StatusOK || code == http.StatusUnsupportedMediaType {
				break // streaming (a codec browsers cannot play says so)
			}
			if time.Now().After(deadline) {
				t.Fatalf("live view of %s never started: %d %s", id, code, body)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return r
}

// Live latency from a camera sending a frame to a player holding the part
// with it, for a player that follows the playlist like hls.js and one that
// naively asks for the next part number of the same segment. The camera
// runs at 30 fps with a 25-frame GOP, so every segment ends with a short
// part closed by the next keyframe: exactly where the naive request must
// be answered with part 0 of the next segment.
func TestLiveLatency(t *testing.T) {
	testkit.Long(t)
	r := startRig(t, Options{}, "pub1", 30)
	ctx, cancel := context.WithTimeout(context.Background(), 9*time.Second)
	defer cancel()
	type run struct {
		res *livetest.Result
		err error
	}
	results := map[livetest.Mode]*run{}
	var wg sync.WaitGroup
	for _, mode := range []livetest.Mode{livetest.HLSJS, livetest.Naive} {
		rn := &run{}
		results[mode] = rn
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := &livetest.Player{Base: r.base, Mode: mode, KeepData: true, Client: &http.Client{Transport: &http.Transport{}}}
			rn.res, rn.err = p.Run(ctx)
		}()
	}
	wg.Wait()

	for mode, rn := range results {
		if rn.err != nil {
			t.Fatalf("%s player: %v", mode, rn.err)
		}
		res := rn.res
		lat := res.Latencies()
		if len(res.Fetches) < 20 || len(lat) < 100 {
			_, body := get(t, r.base+"index.m3u8")
			t.Fatalf("%s player: %d parts, %d frames; camera %+v; playlist now:\n%s",
				mode, len(res.Fetches), len(lat), r.site.Status(), body)
		}
		// every frame arrives, once, in order
		prev := int64(-1)
		for _, f := range res.Fetches {
			if len(f.Stamps) != f.Frames {
				t.Fatalf("%s: part %s has %d frames, %d stamped", mode, f.URI, f.Frames, len(f.Stamps))
			}
			for _, s := range f.Stamps {
				if prev >= 0 && s.Frame != prev+1 {
					t.Fatalf("%s: part %s: frame %d follows frame %d", mode, f.URI, s.Frame, prev)
				}
				prev = s.Frame
			}
		}
		file := append([]byte(nil), res.Init...)
		for _, f := range res.Fetches {
			file = append(file, f.Data...)
		}
		path := filepath.Join(t.TempDir(), "parts.mp4")
		if err := os.WriteFile(path, file, 0o644); err != nil {
			t.Fatal(err)
		}
		if info := mediatest.Probe(t, path); info.Codec != "h264" || info.Width != 1280 || info.Height != 720 || info.Frames != len(lat) {
			t.Fatalf("%s: ffprobe of the parts: %+v, want %d frames", mode, info, len(lat))
		}
		if e := mediatest.DecodeErrors(t, path); e != "" {
			t.Fatalf("%s: decode: %s", mode, e)
		}
		t.Logf("%-6s player: %d parts, %d frames, %d reloads; latency median %v, p95 %v, max %v",
			mode, len(res.Fetches), len(lat), res.Reloads,
			livetest.Percentile(lat, 50).Round(time.Millisecond), livetest.Percentile(lat, 95).Round(time.Millisecond),
			livetest.Percentile(lat, 100).Round(time.Millisecond))
	}
	naive := results[livetest.Naive].res
	if len(naive.Boundaries) < 2 {
		t.Fatalf("naive player crossed %d segment ends", len(naive.Boundaries))
	}
	for _, b := range naive.Boundaries {
		if !b.NextListed || b.NextComplete {
			t.Fatalf("naive request for part %d of complete segment %d answered with %+v", b.Part, b.MSN, b)
		}
	}
}

// ffmpeg, a player without LL-HLS support, reads the live playlist.
func TestFFmpegReadsLiveHLS(t *testing.T) {
	testkit.Long(t)
	needFFmpeg(t)
	r := startRig(t, Options{}, "cam1", 0)
	ffmpegCopy(t, r.base+"index.m3u8", "h264", 1280, 720)
}

// H.265, and B-frames (presentation order differs from decoding order) in
// either codec, come out of the live view with the right timing.
func TestH265AndBFrames(t *testing.T) {
	testkit.Long(t)
	needFFmpeg(t)
	src, err := testcam.Start(testcam.Options{Listen: "127.0.0.1:0", DisableUDP: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(src.Close)
	startEncoder(t, src.URL("hevc"), "-c:v", "libx265", "-preset", "ultrafast",
		"-x265-params", "keyint=25:min-keyint=25:bframes=2:log-level=error")
	startEncoder(t, src.URL("bframes"), "-c:v", "libx264", "-preset", "ultrafast",
		"-bf", "2", "-g", "25", "-keyint_min", "25", "-sc_threshold", "0")
	r := startLive(t, Options{}, map[string]string{"Hevc": src.URL("hevc"), "Bframes": src.URL("bframes")})
	ffmpegCopy(t, r.url+"Hevc/index.m3u8", "hevc", 640, 360)
	ffmpegCopy(t, r.url+"Bframes/index.m3u8", "h264", 640, 360)
}

func needFFmpeg(t *testing.T) {
	t.Helper()
	for _, p := range []string{"ffmpeg", "ffprobe"} {
		if _, err := exec.LookPath(p); err != nil {
			t.Fatal(p + " not installed: apt-get install -y ffmpeg")
		}
	}
}

// startEncoder publishes a live test pattern encoded by ffmpeg, stopped
// (by its PID) at the end of the test.
func startEncoder(t *testing.T, url string, codecArgs ...string) {
	t.Helper()
	args := append([]string{"-hide_banner", "-nostdin", "-loglevel", "error", "-re", "-f", "lavfi",
		"-i", "testsrc2=size=640x360:rate=25"}, codecArgs...)
	cmd := exec.Command("ffmpeg", append(args, "-f", "rtsp", "-rtsp_transport", "tcp", url)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("encoder for %s: %s", url, stderr.String())
		}
	})
}

// ffmpegCopy has ffmpeg copy 4 s of a live playlist and checks the file.
func ffmpegCopy(t *testing.T, playlist, codec string, w, h int) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "copy.mp4")
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error",
		"-i", playlist, "-t", "4", "-c", "copy", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg %s: %v: %s", playlist, err, b)
	}
	info := mediatest.Probe(t, out)
	if info.Codec != codec || info.Width != w || info.Height != h || info.Duration < 3.5 || info.Duration > 4.5 ||
		!info.FirstKey || math.Abs(float64(info.Frames)-info.Duration*25) > 2 {
		t.Fatalf("ffprobe of %s: %+v", playlist, info)
	}
	if e := mediatest.DecodeErrors(t, out); e != "" {
		t.Fatalf("decode %s: %s", playlist, e)
	}
}
