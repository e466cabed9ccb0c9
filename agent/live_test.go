package agent

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/kuzet/kuzet/internal/mediatest"
	"github.com/kuzet/kuzet/testcam"
)

// NVMS-6.6: a node serves each camera live as LL-HLS and re-streams it
// over its own RTSP server, both fed by the one camera session.
func TestNodeServesLiveHLSAndRTSP(t *testing.T) {
	ffmpeg := needFFmpeg(t)
	src, err := testcam.Start(testcam.Options{Listen: "127.0.0.1:0", DisableUDP: true})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dir := t.TempDir()
	a, _ := startAgent(t, fmt.Sprintf(`
node: {id: site, data_dir: %s}
http: {listen: "127.0.0.1:0"}
cameras: [{id: Camera1, url: %q, tamper: {enabled: true}}]
rtsp: {listen: "127.0.0.1:0"}
`, dir, src.URL("cam1")))
	time.Sleep(2 * time.Second)
	out := filepath.Join(t.TempDir(), "live.mp4")
	cmd := exec.Command(ffmpeg, "-v", "error", "-y", "-i", "http://"+a.HTTPAddr()+"/live/Camera1/index.m3u8", "-t", "3", "-c", "copy", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg reading live HLS: %v\n%s", err, b)
	}
	if p := mediatest.Probe(t, out); p.Codec != "h264" || p.Width != 1280 || p.Frames < 50 {
		t.Fatalf("live HLS copy: %+v", p)
	}
	rtspOut := filepath.Join(t.TempDir(), "rtsp.mp4")
	cmd = exec.Command(ffmpeg, "-v", "error", "-y", "-rtsp_transport", "tcp", "-i", "rtsp://"+a.RTSPAddr()+"/Camera1", "-t", "2", "-c", "copy", rtspOut)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg reading the RTSP re-stream: %v\n%s", err, b)
	}
	if p := mediatest.Probe(t, rtspOut); p.Codec != "h264" || p.Height != 720 {
		t.Fatalf("RTSP copy: %+v", p)
	}
	// tamper detection watches the same session's frames
	if st := a.tamper.Status(); len(st) != 1 || st[0].Camera != "Camera1" || st[0].Last.Time.IsZero() {
		t.Fatalf("tamper detection saw no frame: %+v", st)
	}
}
