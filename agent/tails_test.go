package agent

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kuzet/kuzet/archive"
	"github.com/kuzet/kuzet/internal/mediatest"
	"github.com/kuzet/kuzet/pki"
)

// The last minutes play at the centre: a range reaching into the file the
// site is still writing plays from the fragments fetched on demand through
// the region, as a playlist that grows until the range is whole; once the
// file closes, the same range plays from the pulled segment and the tail
// is gone.
func TestLastMinutesPlayAtTheCentre(t *testing.T) {
	src, dir, tls := federationRig(t)
	if _, err := pki.IssueNode(filepath.Join(dir, "pki"), "region", filepath.Join(dir, "pki"), time.Time{}, time.Hour); err != nil {
		t.Fatal(err)
	}
	centre, _ := startAgent(t, fmt.Sprintf(`
node: {id: centre, data_dir: %s/centre}
http: {listen: "127.0.0.1:0"}
federation: {listen: "127.0.0.1:0", heartbeat: 200ms, tls: %s, fragments: {policy: none}, descendants: {region: [site]}}
`, dir, tls("centre")))
	region, _ := startAgent(t, fmt.Sprintf(`
node: {id: region, data_dir: %s/region}
http: {listen: "127.0.0.1:0"}
federation: {listen: "127.0.0.1:0", upstream: [%q], heartbeat: 200ms, tls: %s, fragments: {policy: none}}
`, dir, centre.FederationAddr(), tls("region")))
	site, _ := startAgent(t, fmt.Sprintf(`
node: {id: site, data_dir: %s/site}
http: {listen: "127.0.0.1:0"}
archive: {segment: 30s}
cameras: [{id: Camera1, url: %q}]
federation: {upstream: [%q], heartbeat: 200ms, tls: %s}
`, dir, src.URL("cam1"), region.FederationAddr(), tls("site")))

	// wait until the site writes a file and the centre knows the way there;
	// files are cut at the wall clock's half minutes, and the checks below
	// need the same file open for about 15 s more
	var open archive.OpenFile
	for deadline := time.Now().Add(70 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		f, ok := site.Archive().Open("Camera1")
		closes := f.Start.Truncate(30 * time.Second).Add(30 * time.Second)
		if ok && time.Since(f.Start) > 6*time.Second && time.Until(closes) > 17*time.Second && centre.fedSrv.Leads("site") {
			open = f
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no open file at the site (%v) or no route at the centre", ok)
		}
	}
	if segs, _ := centre.Archive().Index().Segments("site/Camera1", time.Time{}, time.Time{}); len(segs) != 0 {
		t.Fatalf("policy none, yet the centre holds %d segments", len(segs))
	}
	play := func(from, to time.Time) (int, string) {
		t.Helper()
		url := fmt.Sprintf("http://%s/api/v1/archive/play.m3u8?camera=site%%2FCamera1&from=%s&to=%s", centre.HTTPAddr(),
			from.UTC().Format(time.RFC3339Nano), to.UTC().Format(time.RFC3339Nano))
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	// a plate read a moment ago: its clip reaches 20 s into the future
	read := time.Now()
	code, pl := play(read.Add(-5*time.Second), read.Add(20*time.Second))
	if code != 200 {
		t.Fatalf("the last seconds at the centre: HTTP %d %s", code, pl)
	}
	if !strings.Contains(pl, "#EXT-X-PLAYLIST-TYPE:EVENT") || strings.Contains(pl, "#EXT-X-ENDLIST") {
		t.Fatalf("a range reaching into the present is not a growing playlist:\n%s", pl)
	}
	end := playlistEnd(t, pl)
	t.Logf("the centre's playlist ends %v before the request, %v after the read", time.Since(end).Round(time.Millisecond), end.Sub(read).Round(time.Millisecond))
	if time.Since(end) > 10*time.Second {
		t.Fatalf("the playlist at the centre ends %v ago", time.Since(end))
	}
	for _, node := range []string{"region", "centre"} {
		p := filepath.Join(dir, node, "archive", archive.TailDir, "site", filepath.FromSlash(open.Path))
		if _, err := os.Stat(p); err != nil {
			t.Errorf("no tail of the open file at the %s: %v", node, err)
		}
	}
	// the bytes play (ffmpeg follows the EVENT playlist from its start)
	out := filepath.Join(t.TempDir(), "last.mp4")
	url := fmt.Sprintf("http://%s/api/v1/archive/play.m3u8?camera=site%%2FCamera1&from=%s&to=%s", centre.HTTPAddr(),
		read.Add(-5*time.Second).UTC().Format(time.RFC3339Nano), read.Add(20*time.Second).UTC().Format(time.RFC3339Nano))
	cmd := exec.Command(needFFmpeg(t), "-v", "error", "-y", "-live_start_index", "0", "-i", url, "-t", "3", "-c", "copy", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg playing the last seconds at the centre: %v\n%s", err, b)
	}
	if p := mediatest.Probe(t, out); p.Codec != "h264" || p.Frames < 50 {
		t.Fatalf("the last seconds at the centre: %+v", p)
	}

	// the playlist grows by new segments only: each listed one keeps its
	// place and bytes
	time.Sleep(6 * time.Second)
	code, pl2 := play(read.Add(-5*time.Second), read.Add(20*time.Second))
	if code != 200 {
		t.Fatalf("the growing playlist asked again: HTTP %d %s", code, pl2)
	}
	a, b := segmentLines(pl), segmentLines(pl2)
	if len(b) <= len(a) || strings.Join(b[:len(a)], "\n") != strings.Join(a, "\n") {
		t.Fatalf("the playlist did not grow by new segments alone:\nbefore %v\nafter %v", a, b)
	}

	// a range inside the open file is whole: it ends
	code, pl = play(read.Add(-5*time.Second), read.Add(-2*time.Second))
	if code != 200 || !strings.Contains(pl, "#EXT-X-ENDLIST") || !strings.Contains(pl, "PLAYLIST-TYPE:VOD") {
		t.Fatalf("a past range of the open file: HTTP %d\n%s", code, pl)
	}

	// the file closes: the same range plays from the pulled segment, the
	// next file is the new tail and the old one is gone
	for deadline := time.Now().Add(45 * time.Second); ; time.Sleep(500 * time.Millisecond) {
		if f, ok := site.Archive().Open("Camera1"); ok && f.Path != open.Path && time.Since(f.Start) > 5*time.Second {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the site never opened its next file")
		}
	}
	// the tail moves on to the next file without asking for the range
	// first: the closed file is pulled before its tail goes, so no moment
	// passes in which its video is missing here
	if err := centre.pullTail(t.Context(), "site/Camera1", time.Now()); err != nil {
		t.Fatal(err)
	}
	if tl, _ := centre.Archive().Tail("site", "Camera1"); tl.Path == open.Path {
		t.Fatalf("the centre's tail is still the closed file %s", open.Path)
	}
	if rel, _, ok := centre.Archive().Locate("site/Camera1", open.Start.Add(2*time.Second)); !ok || !strings.HasPrefix(rel, archive.ReplicaDir+"/") {
		t.Fatalf("the closed file's video at the centre: %q %v, want its pulled segment", rel, ok)
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(500 * time.Millisecond) {
		code, pl = play(read.Add(-5*time.Second), time.Now())
		if code == 200 && strings.Contains(pl, "/"+archive.ReplicaDir+"/site/") && strings.Contains(pl, "/"+archive.TailDir+"/site/") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the file closed, the range does not play from the segment and the next tail: HTTP %d\n%s", code, pl)
		}
	}
	old := filepath.Join(dir, "centre", "archive", archive.TailDir, "site", filepath.FromSlash(open.Path))
	if _, err := os.Stat(old); err == nil {
		t.Error("the tail of the closed file is still kept at the centre")
	}
}

// playlistEnd is the wall clock where a playlist's last segment ends.
func playlistEnd(t *testing.T, pl string) time.Time {
	t.Helper()
	var at time.Time
	for _, line := range strings.Split(pl, "\n") {
		if v, ok := strings.CutPrefix(line, "#EXT-X-PROGRAM-DATE-TIME:"); ok {
			pdt, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				t.Fatal(err)
			}
			at = pdt
		}
		if v, ok := strings.CutPrefix(line, "#EXTINF:"); ok {
			sec, err := strconv.ParseFloat(strings.TrimSuffix(v, ","), 64)
			if err != nil {
				t.Fatal(err)
			}
			at = at.Add(time.Duration(sec * float64(time.Second)))
		}
	}
	if at.IsZero() {
		t.Fatalf("no segments in\n%s", pl)
	}
	return at
}

// segmentLines are a playlist's segment durations and byte ranges.
func segmentLines(pl string) []string {
	var out []string
	for _, line := range strings.Split(pl, "\n") {
		if strings.HasPrefix(line, "#EXTINF:") || strings.HasPrefix(line, "#EXT-X-BYTERANGE:") {
			out = append(out, line)
		}
	}
	return out
}
