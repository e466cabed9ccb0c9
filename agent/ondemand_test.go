package agent

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/kuzet/kuzet/archive"
	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/internal/mediatest"
	"github.com/kuzet/kuzet/internal/testkit"
	"github.com/kuzet/kuzet/media"
	"github.com/kuzet/kuzet/pki"
	"github.com/kuzet/kuzet/plates"
)

// NVMS-6.20, NVMS-6.9: with nothing replicated by policy, the centre pulls
// a range kept only at the site through the region, and watches the
// site's camera live through two links; a region whose policy changes to
// "all" back-fills what it lacks by comparing indexes after the reconnect.
func TestOnDemandThroughRegion(t *testing.T) {
	src, dir, tls := federationRig(t)
	if _, err := pki.IssueNode(filepath.Join(dir, "pki"), "region", filepath.Join(dir, "pki"), time.Time{}, time.Hour); err != nil {
		t.Fatal(err)
	}
	centre, _ := startAgent(t, fmt.Sprintf(`
node: {id: centre, data_dir: %s/centre}
http: {listen: "127.0.0.1:0"}
federation: {listen: "127.0.0.1:0", heartbeat: 200ms, tls: %s, fragments: {policy: none}, descendants: {region: [site]}}
rtsp: {listen: "127.0.0.1:0"}
`, dir, tls("centre")))
	regionAddr := testkit.Port(t) // the region starts again on it
	regionYAML := func(policy string) string {
		return fmt.Sprintf(`
node: {id: region, data_dir: %s/region}
http: {listen: "127.0.0.1:0"}
federation: {listen: %q, upstream: [%q], heartbeat: 200ms, tls: %s, fragments: {policy: %s}}
`, dir, regionAddr, centre.FederationAddr(), tls("region"), policy)
	}
	_, stopRegion := startAgent(t, regionYAML("none"))
	site, _ := startAgent(t, fmt.Sprintf(`
node: {id: site, data_dir: %s/site}
http: {listen: "127.0.0.1:0"}
archive: {segment: 2s}
cameras: [{id: Camera1, url: %q}, {id: Camera2, url: %q}]
federation: {upstream: [%q], heartbeat: 200ms, tls: %s}
`, dir, src.URL("cam1"), src.URL("cam1"), regionAddr, tls("site")))

	// the centre learns of the site's segments from their events alone
	var want []string
	deadline := time.Now().Add(40 * time.Second)
	for {
		segs, _ := site.Archive().Index().Segments("Camera1", time.Time{}, time.Time{})
		known, _ := centre.fetchQ.Known("site", "Camera1", time.Time{}, time.Now().Add(time.Hour))
		if len(segs) >= 5 && len(known) >= 5 {
			for _, s := range segs[:3] {
				want = append(want, s.Path)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("site has %d segments, the centre knows %d", len(segs), len(known))
		}
		time.Sleep(200 * time.Millisecond)
	}
	// the centre's tree places the site under the region, with its camera
	tree := centre.Tree()
	if len(tree.Children) != 1 || tree.Children[0].ID != "region" || tree.Children[0].Status != "online" ||
		len(tree.Children[0].Children) != 1 || tree.Children[0].Children[0].ID != "site" {
		t.Fatalf("centre's tree: %+v", tree)
	}
	if cams := tree.Children[0].Children[0].Cameras; len(cams) != 2 || cams[0].Key != "site/Camera1" ||
		cams[0].State != "streaming" || cams[0].Live != "/live/site/Camera1/index.m3u8" {
		t.Fatalf("site's cameras at the centre: %+v", cams)
	}
	if held, _ := centre.Archive().Index().Segments("site/Camera1", time.Time{}, time.Time{}); len(held) != 0 {
		t.Fatalf("policy none, yet the centre holds %d segments", len(held))
	}
	segs, _ := site.Archive().Index().Segments("Camera1", time.Time{}, time.Time{})
	from, to := segs[1].Start.Add(100*time.Millisecond), segs[2].End.Add(-100*time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	n, err := centre.FetchRange(ctx, "site/Camera1", from, to)
	if err != nil || n != 2 {
		t.Fatalf("fetch range: %d segments, %v; want 2", n, err)
	}
	for _, s := range segs[1:3] {
		local := filepath.Join(dir, "site", "archive", filepath.FromSlash(s.Path))
		for _, node := range []string{"centre", "region"} {
			replica := filepath.Join(dir, node, "archive", archive.ReplicaDir, "site", filepath.FromSlash(s.Path))
			if a, b := mediatest.SHA256(t, local), mediatest.SHA256(t, replica); a != b {
				t.Errorf("%s at %s: %s, site %s", s.Path, node, b, a)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "centre", "archive", archive.ReplicaDir, "site", filepath.FromSlash(segs[0].Path))); err == nil {
		t.Error("a segment outside the range was fetched")
	}

	// the same through the HTTP API: an export of a range the centre does
	// not hold pulls it first
	segs, _ = site.Archive().Index().Segments("Camera1", time.Time{}, time.Time{})
	from, to = segs[3].Start.Add(200*time.Millisecond), segs[4].End.Add(-200*time.Millisecond)
	url := fmt.Sprintf("http://%s/api/v1/archive/export.mp4?camera=site%%2FCamera1&from=%s&to=%s", centre.HTTPAddr(),
		from.UTC().Format(time.RFC3339Nano), to.UTC().Format(time.RFC3339Nano))
	out := filepath.Join(t.TempDir(), "export.mp4")
	if code := download(t, url, out); code != 200 {
		t.Fatalf("export at the centre: HTTP %d", code)
	}
	if p := mediatest.Probe(t, out); p.Codec != "h264" || p.Frames < 50 {
		t.Fatalf("exported range: %+v", p)
	}

	// a plate snapshot kept only at the site, shown at the centre
	crop := []byte("\xff\xd8 not really a jpeg \xff\xd9")
	if err := os.MkdirAll(filepath.Join(site.PlatesDir(), "Camera1"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(site.PlatesDir(), "Camera1", "x_crop.jpg"), crop, 0o644); err != nil {
		t.Fatal(err)
	}
	read, err := site.Events().Append(event.New(plates.KindPlateRead, "Camera1", "", plates.PlateRead{Plate: "123ABC02", Crop: "Camera1/x_crop.jpg"}))
	if err != nil {
		t.Fatal(err)
	}
	img := filepath.Join(t.TempDir(), "crop.jpg")
	imgURL := fmt.Sprintf("http://%s/api/v1/plates/site/%d/crop.jpg", centre.HTTPAddr(), read.Seq)
	for deadline := time.Now().Add(30 * time.Second); download(t, imgURL, img) != 200; time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the site's snapshot never reached the centre's API")
		}
	}
	if got, _ := os.ReadFile(img); string(got) != string(crop) {
		t.Fatalf("snapshot at the centre: %q", got)
	}

	// live through two links, starting at a keyframe
	feed, err := centre.openLive(ctx, "site", "Camera1")
	if err != nil {
		t.Fatal(err)
	}
	tr := feed.Track()
	var last int64
	for i := range 60 {
		u, err := feed.Next(ctx)
		if err != nil {
			t.Fatalf("unit %d: %v", i, err)
		}
		if i == 0 && !u.RandomAccess(tr.Codec) {
			t.Fatal("the relay did not start at a keyframe")
		}
		if i > 0 && u.PTS <= last {
			t.Fatalf("unit %d: PTS %d after %d", i, u.PTS, last)
		}
		last = u.PTS
	}
	if tr.Codec != media.H264 || len(tr.SPS) == 0 {
		t.Fatalf("relayed track %+v", tr)
	}
	_ = feed.Close()
	if _, err := centre.openLive(ctx, "site", "NoSuchCamera"); err == nil {
		t.Fatal("an unknown camera was relayed")
	}

	// the site's camera on the centre's own live view, relayed on demand
	liveOut := filepath.Join(t.TempDir(), "relayed.mp4")
	cmd := exec.Command(needFFmpeg(t), "-v", "error", "-y", "-i", "http://"+centre.HTTPAddr()+"/live/site/Camera1/index.m3u8",
		"-t", "3", "-c", "copy", liveOut)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg reading the relayed live view at the centre: %v\n%s", err, b)
	}
	if p := mediatest.Probe(t, liveOut); p.Codec != "h264" || p.Frames < 50 {
		t.Fatalf("relayed live view: %+v", p)
	}
	// and on the centre's own RTSP server, the relay started by the reader
	rtspOut := filepath.Join(t.TempDir(), "relayed-rtsp.mp4")
	cmd = exec.Command(needFFmpeg(t), "-v", "error", "-y", "-rtsp_transport", "tcp", "-i", "rtsp://"+centre.RTSPAddr()+"/site/Camera2",
		"-t", "2", "-c", "copy", rtspOut)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg reading the relayed RTSP re-stream at the centre: %v\n%s", err, b)
	}
	if p := mediatest.Probe(t, rtspOut); p.Codec != "h264" || p.Frames < 25 {
		t.Fatalf("relayed RTSP: %+v", p)
	}

	// back-fill: the region's cursor has passed every segment event under
	// policy none; with policy all, only the index comparison brings them
	if err := stopRegion(); err != nil {
		t.Fatal(err)
	}
	// the stopped region's UDP socket may take a moment to be released
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		pc, err := net.ListenPacket("udp", regionAddr)
		if err == nil {
			pc.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("region's port still held: %v", err)
		}
	}
	region, _ := startAgent(t, regionYAML("all"))
	deadline = time.Now().Add(40 * time.Second)
	for {
		missing := 0
		for _, p := range want {
			if _, err := region.Archive().File("region", "site", p); err != nil {
				missing++
			}
		}
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("region still lacks %d of the site's first %d segments after back-fill", missing, len(want))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// download saves url's body to path and returns the HTTP status.
func download(t *testing.T, url, path string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := io.Copy(f, resp.Body); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode
}
