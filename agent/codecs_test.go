package agent

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/kuzet/kuzet/federation"
	"github.com/kuzet/kuzet/internal/mediatest"
)

// An M-JPEG camera at a site plays at the centre: the tree there names its
// codec, its native playlist says HLS cannot carry it, and its ~h264 view
// is the site's pictures relayed up the link as they are and transcoded
// at the centre, the node that serves the viewer.
func TestTranscodedViewAtTheCentre(t *testing.T) {
	ffmpeg := needFFmpeg(t)
	src, dir, tls := federationRig(t)
	startFFmpeg(t, "-re", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25", "-c:v", "mjpeg", "-pix_fmt", "yuvj420p",
		"-huffman", "0", "-q:v", "6", "-f", "rtsp", "-rtsp_transport", "tcp", src.URL("mjpeg"))
	centre, _ := startAgent(t, fmt.Sprintf(`
node: {id: centre, data_dir: %s/centre}
http: {listen: "127.0.0.1:0"}
live: {webrtc: {off: true}}
federation: {listen: "127.0.0.1:0", heartbeat: 200ms, tls: %s, fragments: {policy: none}}
`, dir, tls("centre")))
	site, _ := startAgent(t, fmt.Sprintf(`
node: {id: site, data_dir: %s/site}
http: {listen: "127.0.0.1:0"}
live: {webrtc: {off: true}}
cameras: [{id: Old1, url: %q}]
federation: {upstream: [%q], heartbeat: 200ms, tls: %s}
`, dir, src.URL("mjpeg"), centre.FederationAddr(), tls("site")))

	codec := ""
	for deadline := time.Now().Add(40 * time.Second); codec != "mjpeg"; time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the centre's tree never gave the camera's codec (%q)", codec)
		}
		centre.Tree().Walk(func(n *federation.ObservedNode) {
			for _, c := range n.Cameras {
				if c.Key == "site/Old1" {
					codec = c.Codec
				}
			}
		})
	}
	c := newClient(t, "http://"+centre.HTTPAddr())
	if code, b := c.do("GET", "/live/site/Old1/index.m3u8", ""); code != 415 {
		t.Fatalf("the native playlist of an M-JPEG camera: %d %s", code, b)
	}
	out := filepath.Join(t.TempDir(), "view.mp4")
	cmd := exec.Command(ffmpeg, "-v", "error", "-y", "-i", "http://"+centre.HTTPAddr()+"/live/site/Old1~h264/index.m3u8", "-t", "3", "-c", "copy", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg reading the transcoded view at the centre: %v\n%s", err, b)
	}
	if p := mediatest.Probe(t, out); p.Codec != "h264" || p.Width != 640 || p.Height != 360 || !p.FirstKey {
		t.Fatalf("the view at the centre: %+v", p)
	}
	if site.live.Transcoding() != 0 {
		t.Error("the site transcodes: the centre, which serves the viewer, should")
	}
	if centre.live.Transcoding() != 1 {
		t.Error("the centre does not transcode the view it serves")
	}
}
