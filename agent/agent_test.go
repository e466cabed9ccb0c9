package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kuzet/kuzet/archive"
	"github.com/kuzet/kuzet/config"
	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/internal/mediatest"
	"github.com/kuzet/kuzet/internal/netfault"
	"github.com/kuzet/kuzet/internal/testkit"
	"github.com/kuzet/kuzet/pki"
	"github.com/kuzet/kuzet/plates"
	"github.com/kuzet/kuzet/site"
	"github.com/kuzet/kuzet/testcam"
)

const gop = time.Second // the demo clip's keyframe interval

// startFFmpegPublisher publishes the clip into the synthetic camera server
// like an encoder pushing to a media server.
func startFFmpegPublisher(t *testing.T, url string) {
	t.Helper()
	ffmpeg := needFFmpeg(t)
	// raw H.264 cannot be looped by seeking: remux into MP4 first
	clip := filepath.Join(t.TempDir(), "clip.mp4")
	if out, err := exec.Command(ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-f", "h264",
		"-framerate", "25", "-i", "../testcam/plates720p.h264", "-c", "copy", clip).CombinedOutput(); err != nil {
		t.Fatalf("remux clip: %v: %s", err, out)
	}
	startFFmpeg(t, "-re", "-stream_loop", "-1", "-i", clip, "-c", "copy", "-f", "rtsp", "-rtsp_transport", "tcp", url)
}

// startEncoder publishes a live test pattern encoded by ffmpeg with the
// given video codec arguments.
func startEncoder(t *testing.T, url string, codecArgs ...string) {
	t.Helper()
	args := append([]string{"-re", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25"}, codecArgs...)
	startFFmpeg(t, append(args, "-f", "rtsp", "-rtsp_transport", "tcp", url)...)
}

func needFFmpeg(t *testing.T) string {
	t.Helper()
	ffmpeg, err := exec.LookPath("ffmpeg")
	if err != nil {
		t.Fatal("ffmpeg not installed: apt-get install -y ffmpeg")
	}
	return ffmpeg
}

// startFFmpeg runs ffmpeg for the rest of the test; only this process is
// killed at the end.
func startFFmpeg(t *testing.T, args ...string) {
	t.Helper()
	var stderr strings.Builder
	cmd := exec.Command(needFFmpeg(t), append([]string{"-hide_banner", "-nostdin", "-loglevel", "error"}, args...)...)
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("ffmpeg %v: %s", args, stderr.String())
		}
	})
}

// startAgent runs a node; stop cancels it and returns Run's error.
func startAgent(t *testing.T, yaml string) (a *Agent, stop func() error) {
	t.Helper()
	testkit.Long(t) // a running node with its cameras and links
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
		// 25 fps sources; a loaded machine slows the synthetic camera itself
		if st.State != site.StateStreaming || st.Width != 1280 || st.FPS < 15 {
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
			if sum := mediatest.SHA256(t, abs); sum != s.SHA256 {
				t.Errorf("%s: sha256 %s, index %s", s.Path, sum, s.SHA256)
			}
			p := mediatest.Probe(t, abs)
			if p.Codec != "h264" || p.Width != 1280 || p.Height != 720 {
				t.Errorf("%s: ffprobe %+v", s.Path, p)
			}
			// the first and last files are partial; the rest are one segment long, within a GOP
			if i > 0 && i < len(segs)-1 && math.Abs(p.Duration-seg.Seconds()) > gop.Seconds() {
				t.Errorf("%s: %.2f s, want %v ± %v", s.Path, p.Duration, seg, gop)
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

// NVMS-6.14: H.265 is recorded, and B-frames (reordered presentation) keep
// correct timing in H.264 and H.265 alike.
func TestRecordsH265AndBFrames(t *testing.T) {
	src, err := testcam.Start(testcam.Options{Listen: "127.0.0.1:0", DisableUDP: true})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	startEncoder(t, src.URL("hevc"), "-c:v", "libx265", "-preset", "ultrafast",
		"-x265-params", "keyint=25:min-keyint=25:bframes=2:log-level=error")
	startEncoder(t, src.URL("bframes"), "-c:v", "libx264", "-preset", "ultrafast",
		"-bf", "2", "-g", "25", "-keyint_min", "25", "-sc_threshold", "0")
	time.Sleep(time.Second) // let the encoders announce their paths

	dir := t.TempDir()
	const seg = 3 * time.Second
	_, stop := startAgent(t, fmt.Sprintf(`
node: {id: it-codecs, data_dir: %s, time_zone: UTC}
http: {listen: "127.0.0.1:0"}
archive: {segment: %s}
cameras:
  - {id: Camera4, url: %q}
  - {id: Camera5, url: %q}
`, dir, seg, src.URL("hevc"), src.URL("bframes")))
	time.Sleep(4*seg + time.Second)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	idx, err := archive.OpenIndex(filepath.Join(dir, "archive.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer idx.Close()
	for camera, codec := range map[string]string{"Camera4": "hevc", "Camera5": "h264"} {
		segs, _ := idx.Segments(camera, time.Time{}, time.Time{})
		if len(segs) < 3 {
			t.Fatalf("%s: %d segments", camera, len(segs))
		}
		for _, s := range segs {
			abs := filepath.Join(dir, "archive", filepath.FromSlash(s.Path))
			p := mediatest.Probe(t, abs)
			if p.Codec != codec || p.Width != 640 || p.Height != 360 {
				t.Errorf("%s: %+v", s.Path, p)
			}
			if math.Abs(p.Duration-s.Duration().Seconds()) > 0.1 {
				t.Errorf("%s: ffprobe %.3f s, index %v", s.Path, p.Duration, s.Duration())
			}
			if msg := mediatest.DecodeErrors(t, abs); msg != "" {
				t.Errorf("%s does not decode cleanly: %s", s.Path, msg)
			}
		}
	}
}

// A site node with an upstream ships its recording events to the parent
// node over QUIC (NVMS-6.17), and a certificate naming another node is
// refused at start.
func TestSiteEventsReachParent(t *testing.T) {
	src, dir, tls := federationRig(t)
	if _, err := New(mustParse(t, fmt.Sprintf(`
node: {id: not-centre, data_dir: %s/x}
federation: {listen: "127.0.0.1:0", tls: %s}
`, dir, tls("centre"))), slog.New(slog.DiscardHandler), Options{}); err == nil ||
		!strings.Contains(err.Error(), `federation.tls.cert names node "centre" but node.id is "not-centre"`) {
		t.Fatalf("mismatched identity: %v", err)
	}

	centre, stopCentre := startAgent(t, fmt.Sprintf(`
node: {id: centre, data_dir: %s/centre}
http: {listen: "127.0.0.1:0"}
federation: {listen: "127.0.0.1:0", heartbeat: 200ms, tls: %s}
`, dir, tls("centre")))
	_, stopSite := startAgent(t, fmt.Sprintf(`
node: {id: site, data_dir: %s/site}
http: {listen: "127.0.0.1:0"}
archive: {segment: 2s}
cameras: [{id: Camera1, url: %q}]
federation: {upstream: [%q], heartbeat: 200ms, tls: %s}
`, dir, src.URL("cam1"), centre.FederationAddr(), tls("site")))
	deadline := time.Now().Add(15 * time.Second)
	for {
		evs, _ := centre.Events().Range(0, 0)
		closed := 0
		for _, e := range evs {
			if e.Origin == "site" && e.Kind == "segment.closed" {
				closed++
			}
		}
		if closed >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("centre got %d segment.closed events from the site", closed)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := stopSite(); err != nil {
		t.Fatal(err)
	}
	if err := stopCentre(); err != nil {
		t.Fatal(err)
	}
}

func mustParse(t *testing.T, yaml string) *config.Config {
	t.Helper()
	c, err := config.Parse([]byte(yaml), config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// NVMS-6.7/6.9/6.19: the site records while its uplink is cut and is
// restarted; afterwards every segment it recorded is at the parent,
// byte-identical, pulled under the bandwidth cap.
func TestSegmentsReplicateAcrossCutAndRestart(t *testing.T) {
	src, dir, tls := federationRig(t)
	const capMbps = 3.0
	centre, _ := startAgent(t, fmt.Sprintf(`
node: {id: centre, data_dir: %s/centre}
http: {listen: "127.0.0.1:0"}
federation: {listen: "127.0.0.1:0", heartbeat: 200ms, link_down_after: 1s, tls: %s, fragments: {policy: all, child_mbps: %v}}
`, dir, tls("centre"), capMbps))
	relay, err := netfault.NewRelay(centre.FederationAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer relay.Close()
	siteYAML := fmt.Sprintf(`
node: {id: site, data_dir: %s/site}
http: {listen: "127.0.0.1:0"}
archive: {segment: 2s}
cameras: [{id: Camera1, url: %q}]
federation: {upstream: [%q], heartbeat: 200ms, tls: %s}
`, dir, src.URL("cam1"), relay.Addr(), tls("site"))
	_, stopSite := startAgent(t, siteYAML)
	time.Sleep(5 * time.Second)
	relay.Cut()
	time.Sleep(4 * time.Second)
	if err := stopSite(); err != nil { // restart while cut off
		t.Fatal(err)
	}
	site, stopSite := startAgent(t, siteYAML)
	time.Sleep(4 * time.Second)
	relay.Heal()
	healed := time.Now()
	time.Sleep(time.Second)
	want, _ := site.Archive().Index().Segments("Camera1", time.Time{}, time.Time{})
	if len(want) < 6 {
		t.Fatalf("site recorded only %d segments", len(want))
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		have, _ := centre.Archive().Index().Segments("site/Camera1", time.Time{}, want[len(want)-1].End)
		if len(have) >= len(want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("centre holds %d of %d segments", len(have), len(want))
		}
		time.Sleep(100 * time.Millisecond)
	}
	elapsed := time.Since(healed)
	if err := stopSite(); err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, s := range want {
		total += s.Bytes
	}
	for _, s := range want {
		local := filepath.Join(dir, "site", "archive", filepath.FromSlash(s.Path))
		replica := filepath.Join(dir, "centre", "archive", archive.ReplicaDir, "site", filepath.FromSlash(s.Path))
		if a, b := mediatest.SHA256(t, local), mediatest.SHA256(t, replica); a != b || a != s.SHA256 {
			t.Errorf("%s: site %s, centre %s, index %s", s.Path, a, b, s.SHA256)
		}
		if _, err := os.Stat(replica + ".part"); err == nil {
			t.Errorf("%s: part file left beside the replica", s.Path)
		}
	}
	t.Logf("%d segments, %d bytes replicated; caught up %.1fs after the link returned", len(want), total, elapsed.Seconds())
}

// CGR-4.3 / UA-3.3.1: the synthetic camera's trucks, read on the node's
// own stream: one plate.read per pass with the right text, snapshots, and
// a link to the archive file that holds the moment.
func TestPlateReadsFromCamera(t *testing.T) {
	models, _ := filepath.Abs("../.cache/anpr")
	if _, err := os.Stat(filepath.Join(models, "libonnxruntime.so.1")); err != nil {
		t.Fatalf("plate models missing in %s: run make anpr-deps", models)
	}
	src, err := testcam.Start(testcam.Options{Listen: "127.0.0.1:0", DisableUDP: true})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dir := t.TempDir()
	var mu sync.Mutex
	pushed := map[string]int{}
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		pushed[r.Header.Get("Idempotency-Key")]++
		mu.Unlock()
		w.WriteHeader(http.StatusCreated)
	}))
	defer api.Close()
	ag, stop := startAgent(t, fmt.Sprintf(`
node: {id: plates, data_dir: %s, time_zone: UTC}
http: {listen: "127.0.0.1:0"}
archive: {segment: 10s}
plate_api: {url: %q}
anpr: {models: %s}
cameras:
  - id: Camera1
    url: %q
    direction: entry
    anpr: {enabled: true, fps: 2, countries: [KZ, RU, UA]}
`, dir, api.URL, models, src.URL("cam1")))
	// one loop of the clip and a bit; a loaded machine drops frames and may
	// need another loop to see every truck
	truth := map[string]bool{"123ABC02": true, "A123BC77": true, "AA1234BB": true, "456KTA05": true}
	started := time.Now()
	time.Sleep(22 * time.Second)
	for deadline := time.Now().Add(45 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		stored, _ := ag.Events().Search(0, func(e event.Event) bool { return e.Kind == plates.KindPlateRead })
		seen := map[string]bool{}
		for _, e := range stored {
			var pr plates.PlateRead
			_ = json.Unmarshal(e.Payload, &pr)
			seen[pr.Plate] = true
		}
		if len(seen) >= len(truth) {
			break
		}
	}
	// let the push outbox deliver what is stored so far (a loaded machine
	// may be seconds behind)
	storedBefore := map[string]bool{}
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		stored, _ := ag.Events().Search(0, func(e event.Event) bool { return e.Kind == plates.KindPlateRead })
		mu.Lock()
		all := true
		for _, e := range stored {
			storedBefore[e.ID()] = true
			all = all && pushed[e.ID()] > 0
		}
		mu.Unlock()
		if all {
			break
		}
	}

	if err := stop(); err != nil {
		t.Fatal(err)
	}
	ran := time.Since(started)
	log, err := event.OpenLog(filepath.Join(dir, "events.db"), "plates", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	evs, _ := log.Range(0, 0)
	seen := map[string]int{}
	idx, err := archive.OpenIndex(filepath.Join(dir, "archive.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer idx.Close()
	for _, e := range evs {
		if e.Kind != plates.KindPlateRead {
			continue
		}
		var pr plates.PlateRead
		if err := json.Unmarshal(e.Payload, &pr); err != nil {
			t.Fatal(err)
		}
		t.Logf("read %s (%.2f, %d frames) at %v -> %s +%.1fs", pr.Plate, pr.Confidence, pr.Frames, e.Time, pr.ArchiveLink, pr.Offset)
		seen[pr.Plate]++
		mu.Lock()
		n := pushed[e.ID()]
		mu.Unlock()
		// a pass still open at shutdown is stored then and pushed on the next start
		if n == 0 && storedBefore[e.ID()] {
			t.Errorf("read %s never reached the plate API", e.ID())
		}
		if !truth[pr.Plate] {
			// a loaded machine drops frames and a pass may rest on a few
			// poor ones: it may then be wrong, but never sure
			if pr.Confidence >= config.DefaultReviewBelow {
				t.Errorf("read %q (%.2f), which is no plate in the clip, above the review threshold %.2f",
					pr.Plate, pr.Confidence, config.DefaultReviewBelow)
			}
		}
		if pr.Direction != "entry" || pr.Overview == "" || pr.Crop == "" {
			t.Errorf("read %+v lacks direction or snapshots", pr)
		}
		for _, f := range []string{pr.Overview, pr.Crop} {
			if st, err := os.Stat(filepath.Join(dir, "plates", filepath.FromSlash(f))); err != nil || st.Size() == 0 {
				t.Errorf("snapshot %s: %v", f, err)
			}
		}
		segs, _ := idx.Segments("Camera1", e.Time, e.Time.Add(time.Nanosecond))
		if len(segs) != 1 || segs[0].Path != pr.Archive || !strings.HasPrefix(pr.ArchiveLink, `Camera1\`) {
			t.Errorf("read at %v links %q; the archive holds %+v", e.Time, pr.Archive, segs)
		}
	}
	for plate := range truth {
		if seen[plate] == 0 {
			t.Errorf("plate %s never read", plate)
		}
		// the 20 s clip passes each truck once per loop
		if loops := int(ran/(20*time.Second)) + 1; seen[plate] > loops {
			t.Errorf("plate %s read %d times in %d loops: more than one read per pass", plate, seen[plate], loops)
		}
	}
}

// federationRig starts a synthetic camera and certifies nodes "centre" and
// "site"; tls(id) is the node's federation.tls YAML.
func federationRig(t *testing.T) (src *testcam.Server, dir string, tls func(id string) string) {
	t.Helper()
	src, err := testcam.Start(testcam.Options{Listen: "127.0.0.1:0", DisableUDP: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(src.Close)
	dir = t.TempDir()
	pkiDir := filepath.Join(dir, "pki")
	if err := pki.InitCA(pkiDir, "test", time.Hour); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"centre", "region", "site"} {
		if _, err := pki.IssueNode(pkiDir, id, pkiDir, time.Time{}, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	return src, dir, func(id string) string {
		return fmt.Sprintf("{ca: %s/ca.pem, cert: %s/%s.pem, key: %s/%s-key.pem}", pkiDir, pkiDir, id, pkiDir, id)
	}
}
