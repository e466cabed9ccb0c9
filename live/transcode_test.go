package live

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/kuzet/kuzet/internal/testkit"
	"github.com/kuzet/kuzet/media"
	"github.com/kuzet/kuzet/testcam"
)

// NVMS-6.14, H.265 in the browser: cameras a browser cannot play (H.265,
// M-JPEG, MPEG-4 Part 2) play as H.264 at CAMERA~h264, transcoded only
// while watched, at most live.transcode.max at once, the cost in /metrics.
func TestTranscodedViews(t *testing.T) {
	testkit.Long(t)
	needFFmpeg(t)
	src, err := testcam.Start(testcam.Options{Listen: "127.0.0.1:0", DisableUDP: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(src.Close)
	startEncoder(t, src.URL("hevc"), "-c:v", "libx265", "-preset", "ultrafast",
		"-x265-params", "keyint=25:min-keyint=25:bframes=2:log-level=error")
	startEncoder(t, src.URL("mjpeg"), "-c:v", "mjpeg", "-pix_fmt", "yuvj420p", "-huffman", "0", "-q:v", "6")
	startEncoder(t, src.URL("mp4v"), "-c:v", "mpeg4", "-g", "25", "-q:v", "6")
	reg := prometheus.NewRegistry()
	r := startLive(t, Options{Registerer: reg, IdleStop: 8 * time.Second, Transcode: media.Transcode{Max: 2}},
		map[string]string{"Hevc": src.URL("hevc"), "Mjpeg": src.URL("mjpeg"), "Mp4v": src.URL("mp4v"), "Plain": src.URL("cam1")})

	// the camera's own codec where HLS can carry it; a clear answer where not
	if code, body := get(t, r.url+"Mjpeg/index.m3u8"); code != http.StatusUnsupportedMediaType ||
		!strings.Contains(body, "M-JPEG") || !strings.Contains(body, "Mjpeg~h264/index.m3u8") {
		t.Fatalf("native M-JPEG playlist: %d %s", code, body)
	}
	if code, body := get(t, r.url+"Plain~h264/index.m3u8"); code != http.StatusBadRequest || !strings.Contains(body, "no transcoding needed") {
		t.Fatalf("transcoding an H.264 camera: %d %s", code, body)
	}
	if code, _ := get(t, r.url+"Nothing~h264/index.m3u8"); code != http.StatusNotFound {
		t.Fatalf("unknown camera's view: %d", code)
	}
	if n := testutil.ToFloat64(r.live.met.transcodes); n != 0 {
		t.Fatalf("%v transcoders before anyone watches", n)
	}

	ffmpegCopy(t, r.url+"Hevc~h264/index.m3u8", "h264", 640, 360)
	ffmpegCopy(t, r.url+"Mjpeg~h264/index.m3u8", "h264", 640, 360)
	// two run; a third waits for one of them to go idle
	if code, body := get(t, r.url+"Mp4v~h264/index.m3u8"); code != http.StatusServiceUnavailable || !strings.Contains(body, "live.transcode.max") {
		t.Fatalf("a third transcoder: %d %s", code, body)
	}
	for _, v := range []string{"Hevc~h264", "Mjpeg~h264"} {
		if out := testutil.ToFloat64(r.live.met.transcodeFrames.WithLabelValues(v, "out")); out < 90 {
			t.Errorf("%s: %v frames out", v, out)
		}
		if cpu := testutil.ToFloat64(r.live.met.transcodeCPU.WithLabelValues(v)); cpu <= 0 {
			t.Errorf("%s: no CPU time measured", v)
		}
	}
	if !testkit.Eventually(30*time.Second, func() bool { return testutil.ToFloat64(r.live.met.transcodes) == 0 }) {
		t.Fatal("transcoders still run after their viewers left")
	}
	ffmpegCopy(t, r.url+"Mp4v~h264/index.m3u8", "h264", 640, 360)
}
