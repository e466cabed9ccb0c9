package web_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/kuzet/kuzet/testcam"
)

// publish makes ffmpeg a camera streaming a 640x360 pattern in codec.
func publish(t *testing.T, url string, codec ...string) {
	t.Helper()
	args := append([]string{"-hide_banner", "-nostdin", "-loglevel", "error", "-re", "-f", "lavfi",
		"-i", "testsrc2=size=640x360:rate=25"}, codec...)
	cmd := exec.Command("ffmpeg", append(args, "-f", "rtsp", "-rtsp_transport", "tcp", url)...)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start ffmpeg (apt-get install -y ffmpeg): %v", err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
}

// NVMS-6.14 and H.265 in the browser: an H.265 camera and an M-JPEG
// camera play in the console's live view in Chromium; what Chromium
// cannot decode, the node transcodes while it is watched.
func TestBrowserCodecs(t *testing.T) {
	ctx, rig := newBrowserRig(t)
	src, err := testcam.Start(testcam.Options{Listen: "127.0.0.1:0", DisableUDP: true})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	publish(t, src.URL("hevc"), "-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "keyint=25:log-level=error")
	publish(t, src.URL("mjpeg"), "-c:v", "mjpeg", "-pix_fmt", "yuvj420p", "-huffman", "0", "-q:v", "6")
	a := startNode(t, ctx, fmt.Sprintf(`
node: {id: gate, data_dir: %s, time_zone: UTC}
http: {listen: "127.0.0.1:0"}
live: {webrtc: {off: true}}
archive: {segment: 10s}
cameras:
  - {id: Hevc, url: %q}
  - {id: Mjpeg, url: %q}
`, t.TempDir(), src.URL("hevc"), src.URL("mjpeg")))
	out := rig.run(t, ctx, "codecs", "http://"+a.HTTPAddr())
	var res map[string]struct{ Codec string }
	if err := json.Unmarshal(lastLine(out), &res); err != nil {
		t.Fatalf("the scenario's result: %v", err)
	}
	delete(res, "archive")
	// the node says what it transcoded and what that cost (an archive
	// range's once its request has ended, when the browser closed)
	var b []byte
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		resp, err := http.Get("http://" + a.HTTPAddr() + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		b, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if res["Hevc"].Codec != "h264" || !strings.Contains(string(b), "kuzet_playback_transcode_cpu_seconds_total 0\n") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the archive's transcoding cost is not in /metrics")
		}
	}
	for cam, r := range res {
		want := r.Codec == "h264" // transcoded
		got := strings.Contains(string(b), `kuzet_live_transcode_cpu_seconds_total{camera="`+cam+`~h264"}`)
		if want != got {
			t.Errorf("%s played as %q, transcoder CPU in /metrics: %v", cam, r.Codec, got)
		}
	}
}
