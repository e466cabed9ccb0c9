package agent

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kuzet/kuzet/federation"
	"github.com/kuzet/kuzet/internal/mediatest"
	"github.com/kuzet/kuzet/testcam"
	"github.com/kuzet/kuzet/whep/wheptest"
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

// A camera's sub-stream (cameras[].sub_path) is pulled only while
// watched, and plays at the centre through a region, over LL-HLS and
// WebRTC, at its own size; the tree names it, and a camera without one
// says so.
func TestSubStreamsPlayAtTheCentre(t *testing.T) {
	ffmpeg := needFFmpeg(t)
	_, dir, tls := federationRig(t)
	src, err := testcam.Start(testcam.Options{Listen: "127.0.0.1:0", DisableUDP: true, Cameras: 2, SubStreams: true})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	centre, _ := startAgent(t, fmt.Sprintf(`
node: {id: centre, data_dir: %s/centre}
http: {listen: "127.0.0.1:0"}
live: {webrtc: {listen: "127.0.0.1:0"}}
federation: {listen: "127.0.0.1:0", heartbeat: 200ms, tls: %s, fragments: {policy: none}, descendants: {region: [site]}}
`, dir, tls("centre")))
	region, _ := startAgent(t, fmt.Sprintf(`
node: {id: region, data_dir: %s/region}
http: {listen: "127.0.0.1:0"}
live: {webrtc: {off: true}}
federation: {listen: "127.0.0.1:0", upstream: [%q], heartbeat: 200ms, tls: %s, fragments: {policy: none}}
`, dir, centre.FederationAddr(), tls("region")))
	site, _ := startAgent(t, fmt.Sprintf(`
node: {id: site, data_dir: %s/site}
http: {listen: "127.0.0.1:0"}
live: {webrtc: {off: true}}
rtsp: {listen: "127.0.0.1:0"}
cameras:
  - {id: Camera1, url: %q, sub_path: /cam1-sub}
  - {id: Camera2, url: %q}
federation: {upstream: [%q], heartbeat: 200ms, tls: %s}
`, dir, src.URL("cam1"), src.URL("cam2"), region.FederationAddr(), tls("site")))

	// the tree at the centre names the sub-stream of Camera1 only
	subOf := map[string]string{}
	for deadline := time.Now().Add(40 * time.Second); len(subOf) < 2; time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the centre's tree never showed both cameras: %v", subOf)
		}
		clear(subOf)
		var walk func(n *federation.ObservedNode)
		walk = func(n *federation.ObservedNode) {
			for _, c := range n.Cameras {
				subOf[c.Key] = c.Sub
			}
			for _, ch := range n.Children {
				walk(ch)
			}
		}
		walk(centre.Tree())
	}
	if subOf["site/Camera1"] != "site/Camera1~sub" || subOf["site/Camera2"] != "" {
		t.Fatalf("sub-streams in the centre's tree: %v", subOf)
	}
	if sub, err := site.tap.Subscribe("Camera1~sub"); err == nil {
		sub.Close()
		t.Fatal("the sub-stream is pulled before anyone watches it")
	}

	// LL-HLS at the centre: the sub-stream's own 640x360
	out := filepath.Join(t.TempDir(), "sub.mp4")
	// a player retries a first playlist that timed out while the relay
	// dialled the camera through two links (a loaded machine is slow)
	for try := 1; ; try++ {
		cmd := exec.Command(ffmpeg, "-v", "error", "-y", "-i", "http://"+centre.HTTPAddr()+"/live/site/Camera1~sub/index.m3u8", "-t", "2", "-c", "copy", out)
		b, err := cmd.CombinedOutput()
		if err == nil {
			break
		}
		if try == 3 || !strings.Contains(string(b), "5XX") {
			t.Fatalf("ffmpeg reading the relayed sub-stream (try %d): %v\n%s", try, err, b)
		}
	}
	if p := mediatest.Probe(t, out); p.Codec != "h264" || p.Width != 640 || p.Height != 360 {
		t.Fatalf("sub-stream at the centre: %+v", p)
	}
	// WebRTC at the centre, the main stream and the sub-stream side by side
	for camera, width := range map[string]int{"site/Camera1~sub": 640, "site/Camera1": 1280} {
		p, code, body, err := wheptest.Dial(context.Background(), http.DefaultClient, "http://"+centre.HTTPAddr()+"/api/v1/webrtc/"+camera, nil, true)
		if err != nil || p == nil {
			t.Fatalf("WebRTC %s: %v %d %s", camera, err, code, body)
		}
		defer p.Close()
		for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			if w, _ := p.Size(); w == width {
				break
			}
			if time.Now().After(deadline) {
				w, h := p.Size()
				t.Fatalf("WebRTC %s: %dx%d after 15 s, want width %d", camera, w, h, width)
			}
		}
	}
	if site.tap.Viewers("Camera1~sub") == 0 {
		t.Fatal("the site relays the sub-stream to no one")
	}
	// the site's own RTSP re-stream of it
	rtspOut := filepath.Join(t.TempDir(), "sub-rtsp.mp4")
	cmd := exec.Command(ffmpeg, "-v", "error", "-y", "-rtsp_transport", "tcp", "-i", "rtsp://"+site.RTSPAddr()+"/Camera1~sub", "-t", "2", "-c", "copy", rtspOut)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg reading the sub-stream's RTSP re-stream: %v\n%s", err, b)
	}
	if p := mediatest.Probe(t, rtspOut); p.Width != 640 {
		t.Fatalf("sub-stream over RTSP: %+v", p)
	}
	// a camera without a sub-stream says so
	resp, err := http.Get("http://" + centre.HTTPAddr() + "/live/site/Camera2~sub/index.m3u8")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadGateway || !strings.Contains(string(b), "no sub-stream") {
		t.Fatalf("Camera2~sub: %d %s", resp.StatusCode, b)
	}
}
