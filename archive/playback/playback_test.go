package playback

import (
	"bytes"
	"fmt"
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
	"github.com/kuzet/kuzet/internal/mediatest"
	"github.com/kuzet/kuzet/internal/testkit"
)

// One recording (about 18 s of real RTSP) serves every subtest.
func TestPlayback(t *testing.T) {
	testkit.Long(t)
	fx := newFixture(t)
	t.Run("ListSegmentsAndGaps", func(t *testing.T) { testList(t, fx) })
	t.Run("DownloadWithRanges", func(t *testing.T) { testDownload(t, fx) })
	t.Run("MediaIsShiftedFile", func(t *testing.T) { testMedia(t, fx) })
	t.Run("PlayAcrossSegmentBoundary", func(t *testing.T) { testPlayBoundary(t, fx) })
	t.Run("PlayAcrossGap", func(t *testing.T) { testPlayGap(t, fx) })
	t.Run("PlayReplica", func(t *testing.T) { testPlayReplica(t, fx) })
	t.Run("Export", func(t *testing.T) { testExport(t, fx) })
	t.Run("ExportAcrossGap", func(t *testing.T) { testExportGap(t, fx) })
	t.Run("CodecChange", func(t *testing.T) { testCodecChange(t, fx) })
	t.Run("Qualities", func(t *testing.T) { testQualities(t, fx) })
	t.Run("FileBeingWritten", func(t *testing.T) { testOpenFile(t, fx) })
	t.Run("BadRequests", func(t *testing.T) { testBadRequests(t, fx) })
	t.Run("PathEscapes", func(t *testing.T) { testPathEscapes(t, fx) })
	t.Run("PlaylistLinksServeOnlyTheirRanges", func(t *testing.T) { testLinks(t, fx) })
	t.Run("DownloadsReported", func(t *testing.T) { testDownloadsReported(t, fx) })
	t.Run("Metrics", func(t *testing.T) { testMetrics(t, fx) })
}

type listed struct {
	archive.Segment
	URL string `json:"url"`
}

func testList(t *testing.T, fx *fixture) {
	var cams []string
	getJSON(t, fx.base+"/cameras", 200, &cams)
	for _, want := range []string{"Camera1", origin + "/Camera1", "Mixed"} {
		if !strings.Contains(strings.Join(cams, "\n")+"\n", want+"\n") {
			t.Errorf("cameras %v lack %s", cams, want)
		}
	}

	all := rangeQ("Camera1", fx.segs[0].Start.Add(-time.Minute), fx.segs[len(fx.segs)-1].End.Add(time.Minute))
	var got []listed
	getJSON(t, fx.base+"/segments?"+all, 200, &got)
	if len(got) != len(fx.segs) {
		t.Fatalf("listed %d segments, index has %d", len(got), len(fx.segs))
	}
	for i, s := range got {
		w := fx.segs[i]
		if s.Path != w.Path || !s.Start.Equal(w.Start) || !s.End.Equal(w.End) || s.Bytes != w.Bytes || s.SHA256 != w.SHA256 ||
			s.Codec != "h264" || s.Width != 1280 || s.Height != 720 {
			t.Errorf("segment %d = %+v, index %+v", i, s.Segment, w)
		}
		if s.URL != "/api/v1/archive/files/"+w.Path {
			t.Errorf("segment %d url %q", i, s.URL)
		}
	}
	// a range inside two files lists exactly those two
	mid := rangeQ("Camera1", fx.segs[1].Start.Add(500*time.Millisecond), fx.segs[2].Start.Add(500*time.Millisecond))
	getJSON(t, fx.base+"/cameras/Camera1/segments?"+strings.SplitN(mid, "&", 2)[1], 200, &got)
	if len(got) != 2 || got[0].Path != fx.segs[1].Path || got[1].Path != fx.segs[2].Path {
		t.Errorf("segments of a mid range: %+v", got)
	}

	var gaps []archive.Gap
	getJSON(t, fx.base+"/gaps?"+all, 200, &gaps)
	if len(gaps) != 1 {
		t.Fatalf("gaps %+v", gaps)
	}
	g := gaps[0]
	if !g.Start.Equal(fx.gaps[0].Start) || !g.End.Equal(fx.gaps[0].End) || g.Reason == "" || g.Camera != "Camera1" {
		t.Errorf("gap %+v, index %+v", g, fx.gaps[0])
	}
	if g.End.Sub(g.Start) < 1500*time.Millisecond {
		t.Errorf("gap of %v is shorter than the 1.5 s the node was down", g.End.Sub(g.Start))
	}
	// the gap lies exactly between the last file of the first session and
	// the first of the second
	var before, after bool
	for _, s := range fx.segs {
		before = before || s.End.Equal(g.Start)
		after = after || s.Start.Equal(g.End)
	}
	if !before || !after {
		t.Errorf("gap %v..%v does not join two segments", g.Start, g.End)
	}
	var none []archive.Gap
	getJSON(t, fx.base+"/cameras/Camera1/gaps?"+strings.SplitN(mid, "&", 2)[1], 200, &none)
	if len(none) != 0 {
		t.Errorf("gaps inside one session: %+v", none)
	}

	// a replica camera: '/' escaped in the path, or in the query
	rq := rangeQ(origin+"/Camera1", fx.replic[0].Start.Add(-time.Minute), fx.replic[1].End.Add(time.Minute))
	var reps, reps2 []listed
	getJSON(t, fx.base+"/cameras/"+origin+"%2FCamera1/segments?"+strings.SplitN(rq, "&", 2)[1], 200, &reps)
	getJSON(t, fx.base+"/segments?"+rq, 200, &reps2)
	if len(reps) != 2 || len(reps2) != 2 {
		t.Fatalf("replica segments %+v / %+v", reps, reps2)
	}
	for i, s := range reps {
		if s.Camera != origin+"/Camera1" || s.Path != ".replicas/"+origin+"/"+fx.segs[i].Path || s.SHA256 != fx.segs[i].SHA256 || reps2[i].Path != s.Path {
			t.Errorf("replica %d: %+v", i, s)
		}
		code, _, body := get(t, fx.srv.URL+s.URL)
		if code != 200 || sha(body) != fx.segs[i].SHA256 {
			t.Errorf("replica download %s: %d, %d bytes", s.URL, code, len(body))
		}
	}
}

func testDownload(t *testing.T, fx *fixture) {
	s := fx.segs[1]
	want, err := os.ReadFile(fx.arch.Abs(s.Path))
	if err != nil {
		t.Fatal(err)
	}
	u := fx.base + "/files/" + s.Path
	code, hdr, body := get(t, u)
	if code != 200 || !bytes.Equal(body, want) || sha(body) != s.SHA256 {
		t.Fatalf("download: %d, %d bytes (file %d)", code, len(body), len(want))
	}
	if hdr.Get("Content-Type") != "video/mp4" || hdr.Get("Accept-Ranges") != "bytes" {
		t.Errorf("headers %v", hdr)
	}
	n := len(want)
	for _, c := range []struct {
		rng        string
		start, end int // inclusive
	}{
		{"bytes=100-1099", 100, 1099},
		{"bytes=-500", n - 500, n - 1},
		{fmt.Sprintf("bytes=%d-", n-10), n - 10, n - 1},
		{"bytes=0-0", 0, 0},
	} {
		code, hdr, body := get(t, u, "Range", c.rng)
		if code != http.StatusPartialContent || !bytes.Equal(body, want[c.start:c.end+1]) ||
			hdr.Get("Content-Range") != fmt.Sprintf("bytes %d-%d/%d", c.start, c.end, n) {
			t.Errorf("%s: %d %q, %d bytes", c.rng, code, hdr.Get("Content-Range"), len(body))
		}
	}
	if code, _, _ := get(t, u, "Range", fmt.Sprintf("bytes=%d-", n)); code != http.StatusRequestedRangeNotSatisfiable {
		t.Errorf("range past the end: %d", code)
	}
	resp, err := http.Head(u)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.ContentLength != int64(n) {
		t.Errorf("HEAD: %d, length %d", resp.StatusCode, resp.ContentLength)
	}
}

// The media URL of a playlist is the file with decode times moved: same
// size, same offsets, only tfdt values differ.
func testMedia(t *testing.T, fx *fixture) {
	s := fx.segs[0]
	for _, c := range fx.segs {
		if c.Duration() > s.Duration() {
			s = c
		}
	}
	want, err := os.ReadFile(fx.arch.Abs(s.Path))
	if err != nil {
		t.Fatal(err)
	}
	orig := mustScan(t, want)
	const shift = 123456789
	code, _, body := get(t, fmt.Sprintf("%s/media/%d/%s", fx.base, shift, s.Path))
	if code != 200 || len(body) != len(want) {
		t.Fatalf("media: %d, %d bytes (file %d)", code, len(body), len(want))
	}
	moved := mustScan(t, body)
	if len(moved.Fragments) != len(orig.Fragments) || len(orig.Fragments) < 2 {
		t.Fatalf("fragments %d vs %d", len(moved.Fragments), len(orig.Fragments))
	}
	mask := bytes.Clone(body)
	for i, fr := range moved.Fragments {
		if fr.BaseTime != orig.Fragments[i].BaseTime+shift || fr.Offset != orig.Fragments[i].Offset {
			t.Errorf("fragment %d: base %d at %d, file %d at %d", i, fr.BaseTime, fr.Offset,
				orig.Fragments[i].BaseTime, orig.Fragments[i].Offset)
		}
		copy(mask[fr.TfdtPos:fr.TfdtPos+8], want[fr.TfdtPos:fr.TfdtPos+8])
	}
	if !bytes.Equal(mask, want) {
		t.Error("media differs from the file outside the decode times")
	}
	// a byte range of the media URL is that range of the shifted file
	fr := moved.Fragments[1]
	code, _, part := get(t, fmt.Sprintf("%s/media/%d/%s", fx.base, shift, s.Path), "Range",
		fmt.Sprintf("bytes=%d-%d", fr.Offset, fr.Offset+fr.Size-1))
	if code != http.StatusPartialContent || !bytes.Equal(part, body[fr.Offset:fr.Offset+fr.Size]) {
		t.Errorf("media range: %d, %d bytes", code, len(part))
	}
}

// contiguousPair finds two files of one session, both at least 2 s long.
func contiguousPair(t *testing.T, segs []archive.Segment) (archive.Segment, archive.Segment) {
	t.Helper()
	for i := 0; i+1 < len(segs); i++ {
		a, b := segs[i], segs[i+1]
		if a.End.Equal(b.Start) && a.Duration() >= 2*time.Second && b.Duration() >= 2*time.Second {
			return a, b
		}
	}
	t.Fatalf("no two contiguous files of 2 s in %+v", segs)
	return archive.Segment{}, archive.Segment{}
}

var pdtRe = regexp.MustCompile(`#EXT-X-PROGRAM-DATE-TIME:(\S+)`)

func programDateTimes(t *testing.T, playlist string) []time.Time {
	t.Helper()
	var out []time.Time
	for _, m := range pdtRe.FindAllStringSubmatch(playlist, -1) {
		ts, err := time.Parse(time.RFC3339Nano, m[1])
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ts)
	}
	return out
}

func testPlayBoundary(t *testing.T, fx *fixture) {
	a, b := contiguousPair(t, fx.segs)
	from, to := a.End.Add(-1500*time.Millisecond), b.Start.Add(1700*time.Millisecond)
	u := fx.base + "/play.m3u8?" + rangeQ("Camera1", from, to)
	code, hdr, body := get(t, u)
	pl := string(body)
	if code != 200 || hdr.Get("Content-Type") != "application/vnd.apple.mpegurl" {
		t.Fatalf("playlist: %d %s", code, body)
	}
	for _, want := range []string{"#EXTM3U\n", "#EXT-X-PLAYLIST-TYPE:VOD", "#EXT-X-INDEPENDENT-SEGMENTS", "#EXT-X-ENDLIST\n",
		`#EXT-X-MAP:URI="vod/`, a.Path, b.Path, "#EXT-X-BYTERANGE:", "\nvod/"} {
		if !strings.Contains(pl, want) {
			t.Errorf("playlist lacks %q:\n%s", want, pl)
		}
	}
	if n := strings.Count(pl, "#EXT-X-DISCONTINUITY"); n != 1 {
		t.Errorf("%d discontinuities, want 1 (one file change):\n%s", n, pl)
	}
	pdt := programDateTimes(t, pl)
	if len(pdt) != 2 || pdt[0].After(from) || from.Sub(pdt[0]) > gop || !near(pdt[1], b.Start) {
		t.Errorf("program date-times %v for a range from %v, second file at %v", pdt, from, b.Start)
	}

	out := ffmpegCopy(t, u)
	p := mediatest.Probe(t, out)
	want := to.Sub(from).Seconds()
	t.Logf("range %.3f s, ffmpeg read %.3f s, %d frames", want, p.Duration, p.Frames)
	if p.Duration < want-0.1 || p.Duration > want+gop.Seconds()+0.05 {
		t.Errorf("ffmpeg read %.3f s of a %.3f s range (allowed up to one GOP more)", p.Duration, want)
	}
	if !p.FirstKey || p.Codec != "h264" || p.Width != 1280 {
		t.Errorf("probe %+v", p)
	}
	if frames := int(math.Round(p.Duration * 25)); p.Frames != frames {
		t.Errorf("%d frames in %.3f s", p.Frames, p.Duration)
	}
	if e := mediatest.DecodeErrors(t, out); e != "" {
		t.Errorf("decoding the played range: %s", e)
	}
}

// near compares a program date-time (milliseconds) with a time.
func near(pdt, t time.Time) bool { return absDur(pdt.Sub(t)) < time.Millisecond }

// ffmpegCopy reads a playlist with ffmpeg into an MP4 file, as an
// operator would save a range.
func ffmpegCopy(t *testing.T, url string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "played.mp4")
	msg, err := exec.Command("ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-i", url, "-c", "copy", "-y", out).CombinedOutput()
	if err != nil {
		t.Fatalf("ffmpeg -i %s: %v: %s", url, err, msg)
	}
	if len(msg) > 0 {
		t.Logf("ffmpeg: %s", msg)
	}
	return out
}

func testPlayGap(t *testing.T, fx *fixture) {
	g := fx.gaps[0]
	from, to := g.Start.Add(-1200*time.Millisecond), g.End.Add(1200*time.Millisecond)
	u := fx.base + "/play.m3u8?" + rangeQ("Camera1", from, to)
	code, _, body := get(t, u)
	if code != 200 {
		t.Fatalf("playlist: %d %s", code, body)
	}
	pl := string(body)
	files, err := fx.arch.Index().Segments("Camera1", from, to)
	if err != nil {
		t.Fatal(err)
	}
	pdt := programDateTimes(t, pl)
	found := false
	for _, p := range pdt {
		found = found || near(p, g.End)
	}
	if len(pdt) != len(files) || !found || strings.Count(pl, "#EXT-X-DISCONTINUITY") != len(files)-1 {
		t.Fatalf("program date-times %v around the gap %v..%v over %d files:\n%s", pdt, g.Start, g.End, len(files), pl)
	}
	// the hole is closed up: the output holds the video on both sides
	p := mediatest.Probe(t, ffmpegCopy(t, u))
	video := 2.4
	if p.Duration < video-0.1 || p.Duration > video+gop.Seconds()+0.05 {
		t.Errorf("ffmpeg read %.3f s around a gap, want %.1f s of video (+ up to one GOP)", p.Duration, video)
	}
}

func testPlayReplica(t *testing.T, fx *fixture) {
	from, to := fx.replic[0].Start, fx.replic[1].End
	u := fx.base + "/play.m3u8?" + rangeQ(origin+"/Camera1", from, to)
	p := mediatest.Probe(t, ffmpegCopy(t, u))
	if want := to.Sub(from).Seconds(); math.Abs(p.Duration-want) > 0.05 {
		t.Errorf("replica played %.3f s, the two files hold %.3f s", p.Duration, want)
	}
	// the replicas live in their own namespace, not beside Camera1
	for i, s := range fx.replic {
		if want := archive.ReplicaPath(origin, fx.segs[i].Path); s.Path != want {
			t.Errorf("replica %d at %s, want %s", i, s.Path, want)
		}
	}
	code, hdr, body := get(t, fx.base+"/export.mp4?"+rangeQ(origin+"/Camera1", from, to))
	if code != 200 || !strings.Contains(hdr.Get("Content-Disposition"), origin+"_Camera1_") {
		t.Fatalf("replica export: %d %q %s", code, hdr.Get("Content-Disposition"), body[:min(len(body), 200)])
	}
	out := filepath.Join(t.TempDir(), "replica.mp4")
	if err := os.WriteFile(out, body, 0o644); err != nil {
		t.Fatal(err)
	}
	if p := mediatest.Probe(t, out); math.Abs(p.Duration-to.Sub(from).Seconds()) > gop.Seconds()+0.05 {
		t.Errorf("replica export holds %.3f s of %.3f s", p.Duration, to.Sub(from).Seconds())
	}
}

func testExport(t *testing.T, fx *fixture) {
	a, b := contiguousPair(t, fx.segs)
	from, to := a.Start.Add(600*time.Millisecond), b.End.Add(-700*time.Millisecond)
	code, hdr, body := get(t, fx.base+"/export.mp4?"+rangeQ("Camera1", from, to))
	if code != 200 {
		t.Fatalf("export: %d %s", code, body)
	}
	if cd := hdr.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment;") || !strings.Contains(cd, "Camera1_") {
		t.Errorf("Content-Disposition %q", cd)
	}
	if hdr.Get("Content-Length") != fmt.Sprint(len(body)) || hdr.Get("Content-Type") != "video/mp4" {
		t.Errorf("headers %v for %d bytes", hdr, len(body))
	}
	start, err := time.Parse(time.RFC3339Nano, hdr.Get("X-Archive-Start"))
	if err != nil || start.After(from) || from.Sub(start) > gop {
		t.Errorf("X-Archive-Start %q for from %v", hdr.Get("X-Archive-Start"), from)
	}
	out := filepath.Join(t.TempDir(), "export.mp4")
	if err := os.WriteFile(out, body, 0o644); err != nil {
		t.Fatal(err)
	}
	p := mediatest.Probe(t, out)
	want := to.Sub(from).Seconds()
	t.Logf("range %.3f s, export %.3f s, %d frames, %d bytes", want, p.Duration, p.Frames, len(body))
	if p.Duration < want-0.1 || p.Duration > want+gop.Seconds()+0.05 {
		t.Errorf("export holds %.3f s of a %.3f s range (allowed up to one GOP more)", p.Duration, want)
	}
	if !p.FirstKey || p.Codec != "h264" || p.Width != 1280 || p.Height != 720 {
		t.Errorf("probe %+v", p)
	}
	if frames := int(math.Round(p.Duration * 25)); p.Frames != frames {
		t.Errorf("%d frames in %.3f s", p.Frames, p.Duration)
	}
	if e := mediatest.DecodeErrors(t, out); e != "" {
		t.Errorf("export does not decode cleanly: %s", e)
	}
	// one timeline, fragments numbered from 1
	fi := mustScan(t, body)
	for i, fr := range fi.Fragments {
		if fr.Seq != uint32(i+1) {
			t.Errorf("fragment %d has sequence number %d", i, fr.Seq)
		}
		if i == 0 && fr.BaseTime != 0 || i > 0 && fr.BaseTime != fi.Fragments[i-1].End() {
			t.Errorf("fragment %d starts at %d, previous ends at %d", i, fr.BaseTime, fi.Fragments[max(i-1, 0)].End())
		}
	}
	if hdr.Get("X-Archive-Holes") != "0" {
		t.Errorf("holes %q in one session", hdr.Get("X-Archive-Holes"))
	}
}

func testExportGap(t *testing.T, fx *fixture) {
	g := fx.gaps[0]
	from, to := g.Start.Add(-1500*time.Millisecond), g.End.Add(1500*time.Millisecond)
	code, hdr, body := get(t, fx.base+"/export.mp4?"+rangeQ("Camera1", from, to))
	if code != 200 || hdr.Get("X-Archive-Holes") != "1" {
		t.Fatalf("export across the gap: %d holes=%q %s", code, hdr.Get("X-Archive-Holes"), body[:min(len(body), 200)])
	}
	out := filepath.Join(t.TempDir(), "gap.mp4")
	if err := os.WriteFile(out, body, 0o644); err != nil {
		t.Fatal(err)
	}
	p := mediatest.Probe(t, out)
	if p.Duration < 2.9 || p.Duration > 3+gop.Seconds()+0.05 {
		t.Errorf("export across a gap holds %.3f s, want the 3 s of video (+ up to one GOP)", p.Duration)
	}
	if e := mediatest.DecodeErrors(t, out); e != "" {
		t.Errorf("export does not decode cleanly: %s", e)
	}
}

func testCodecChange(t *testing.T, fx *fixture) {
	q := rangeQ("Mixed", fx.mixed[0].Start, fx.mixed[1].End)
	var e struct {
		Error    string    `json:"error"`
		Param    string    `json:"param"`
		ChangeAt time.Time `json:"change_at"`
	}
	getJSON(t, fx.base+"/export.mp4?"+q, http.StatusConflict, &e)
	if !e.ChangeAt.Equal(fx.mixed[1].Start) || !strings.Contains(e.Error, "1280x720") || !strings.Contains(e.Error, "640x360") {
		t.Errorf("409 %+v, change at %v", e, fx.mixed[1].Start)
	}
	// each side exports on its own
	for _, s := range fx.mixed {
		code, _, body := get(t, fx.base+"/export.mp4?"+rangeQ("Mixed", s.Start, s.End))
		if code != 200 {
			t.Errorf("export of %s: %d %s", s.Path, code, body)
		}
	}
	// a playlist switches init sections at the change
	code, _, body := get(t, fx.base+"/play.m3u8?"+q)
	if code != 200 || strings.Count(string(body), "#EXT-X-MAP:") != 2 || strings.Count(string(body), "#EXT-X-DISCONTINUITY") != 1 {
		t.Errorf("playlist over the change: %d\n%s", code, body)
	}
}

// A range reaching into the file being written plays what is complete,
// as an EVENT playlist that grows by whole media segments only, and ends
// once the range is recorded.
func testOpenFile(t *testing.T, fx *fixture) {
	clip := parseClip(t, demoClip())
	start := time.Date(2025, 8, 18, 15, 0, 0, 0, time.UTC)
	r := fx.arch.NewRecorder("Live", demoTrack(clip), "test")
	feedOpen(t, r, clip, start, 0, 63) // 2.5 s: two complete fragments and a pending one
	q := rangeQ("Live", start, start.Add(time.Minute))
	// not one media segment is whole yet: ask again
	code, hdr, body := get(t, fx.base+"/play.m3u8?"+q)
	if code != http.StatusServiceUnavailable || hdr.Get("Retry-After") == "" || !strings.Contains(string(body), "still recording") {
		t.Fatalf("playlist of a file just begun: %d %v\n%s", code, hdr, body)
	}
	code, _, exp := get(t, fx.base+"/export.mp4?"+q)
	if code != 200 {
		t.Fatalf("export of a file being written: %d %s", code, exp)
	}
	if fi := mustScan(t, exp); len(fi.Fragments) != 2 {
		t.Errorf("export of the open file has %d fragments, want the 2 complete ones", len(fi.Fragments))
	}
	feedOpen(t, r, clip, start, 63, 250-63) // 10 s
	code, _, body = get(t, fx.base+"/play.m3u8?"+q)
	rel := archive.SegmentPath("Live", start, time.UTC, 0)
	pl := string(body)
	if code != 200 || !strings.Contains(pl, rel) || !strings.Contains(pl, "#EXT-X-PLAYLIST-TYPE:EVENT") || strings.Contains(pl, "#EXT-X-ENDLIST") {
		t.Fatalf("playlist of a file being written: %d\n%s", code, pl)
	}
	first := segmentLines(pl)
	if len(first) == 0 {
		t.Fatalf("no segments in\n%s", pl)
	}
	// what is complete of the range plays, but the last segment, which
	// may still grow, is held back
	if d := playlistSeconds(t, pl); d < 4 || d > 9 {
		t.Errorf("the growing playlist holds %.1f s of 10 s written", d)
	}
	feedOpen(t, r, clip, start, 250, 250) // 20 s
	_, _, body = get(t, fx.base+"/play.m3u8?"+q)
	grown := segmentLines(string(body))
	if len(grown) <= len(first) || strings.Join(grown[:len(first)], "\n") != strings.Join(first, "\n") {
		t.Fatalf("the playlist did not grow by new segments alone:\n%v\n%v", first, grown)
	}
	// a range inside what is written is whole
	code, _, body = get(t, fx.base+"/play.m3u8?"+rangeQ("Live", start, start.Add(5*time.Second)))
	if code != 200 || !strings.Contains(string(body), "#EXT-X-ENDLIST") {
		t.Fatalf("a range recorded already: %d\n%s", code, body)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	_, _, exp = get(t, fx.base+"/export.mp4?"+q)
	if fi := mustScan(t, exp); len(fi.Fragments) != 20 {
		t.Errorf("export of the closed file has %d fragments, want 20", len(fi.Fragments))
	}
	// closed, the range ends where the camera stopped: the final playlist
	// keeps every segment the growing one listed
	_, _, body = get(t, fx.base+"/play.m3u8?"+q)
	final := segmentLines(string(body))
	if !strings.Contains(string(body), "#EXT-X-ENDLIST") || len(final) < len(grown) ||
		strings.Join(final[:len(grown)], "\n") != strings.Join(grown, "\n") {
		t.Fatalf("the final playlist changed what the growing one listed:\n%v\n%s", grown, body)
	}
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

// playlistSeconds adds up a playlist's segment durations.
func playlistSeconds(t *testing.T, pl string) float64 {
	t.Helper()
	var d float64
	for _, line := range strings.Split(pl, "\n") {
		if v, ok := strings.CutPrefix(line, "#EXTINF:"); ok {
			f, err := strconv.ParseFloat(strings.TrimSuffix(v, ","), 64)
			if err != nil {
				t.Fatal(err)
			}
			d += f
		}
	}
	return d
}

func testBadRequests(t *testing.T, fx *fixture) {
	s := fx.segs[0]
	ok := rangeQ("Camera1", s.Start, s.End)
	day := rangeQ("Camera1", s.Start, s.Start.Add(2*time.Hour))
	cases := []struct {
		path  string
		code  int
		param string
		words string
	}{
		{"/segments?from=2025-08-18T14:00:00Z&to=2025-08-18T15:00:00Z", 400, "camera", "camera: missing"},
		{"/segments?camera=Camera1&to=2025-08-18T15:00:00Z", 400, "from", "from: missing"},
		{"/gaps?camera=Camera1&from=2025-08-18T15:00:00Z", 400, "to", "to: missing"},
		{"/play.m3u8?camera=Camera1&from=yesterday&to=2025-08-18T15:00:00Z", 400, "from", `from: "yesterday" is not an RFC 3339 time`},
		{"/export.mp4?camera=Camera1&from=2025-08-18T15:00:00Z&to=2025-08-18%2016:00", 400, "to", "is not an RFC 3339 time"},
		{"/play.m3u8?camera=Camera1&from=2025-08-18T15:00:00Z&to=2025-08-18T15:00:00Z", 400, "to", "is not after from"},
		{"/export.mp4?camera=Camera1&from=2025-08-18T15:00:00Z&to=2025-08-18T14:00:00Z", 400, "to", "is not after from"},
		{"/play.m3u8?" + day, 400, "to", "longer than the 1h0m0s limit"},
		{"/export.mp4?" + day, 400, "to", "longer than the 1h0m0s limit"},
		{"/segments?" + strings.Replace(ok, "Camera1", "Camera9", 1), 404, "camera", `"Camera9" has no recordings`},
		{"/play.m3u8?" + strings.Replace(ok, "Camera1", "region-9%2FCamera1", 1), 404, "camera", "has no recordings"},
		{"/cameras/Camera1/segments?" + strings.Replace(ok, "Camera1", "Camera2", 1), 400, "camera", "the path names"},
		{"/segments?camera=Cam%0Aera&from=2025-08-18T14:00:00Z&to=2025-08-18T15:00:00Z", 400, "camera", "is not a camera ID"},
		{"/play.m3u8?" + rangeQ("Camera1", s.Start.Add(-3*time.Hour), s.Start.Add(-2*time.Hour)), 404, "from", "has no video between"},
		{"/export.mp4?" + rangeQ("Camera1", s.Start.Add(-3*time.Hour), s.Start.Add(-2*time.Hour)), 404, "from", "has no video between"},
		{"/media/12x/" + s.Path, 400, "shift", `shift: "12x" is not a whole number`},
		{"/cut/0/x/" + s.Path, 400, "until", `until: "x" is not a whole number`},
		{"/cut/0/999999999999/" + s.Path, 400, "until", "is not inside a fragment"},
		{"/nothing", 404, "", "no archive endpoint"},
	}
	for _, c := range cases {
		code, hdr, body := get(t, fx.base+c.path)
		var e struct{ Error, Param string }
		if err := jsonUnmarshal(body, &e); err != nil || code != c.code || e.Param != c.param ||
			!strings.Contains(e.Error, c.words) || hdr.Get("Content-Type") != "application/json" {
			t.Errorf("%s: %d %s, want %d param %q with %q", c.path, code, body, c.code, c.param, c.words)
		}
	}
	resp, err := http.Post(fx.base+"/export.mp4?"+ok, "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", resp.StatusCode)
	}
}

func testMetrics(t *testing.T, fx *fixture) {
	if n := mustCounter(t, fx, "export", "200"); n < 1 {
		t.Errorf("export requests counted: %v", n)
	}
	if n := mustCounter(t, fx, "segments", "400"); n < 1 {
		t.Errorf("bad segment requests counted: %v", n)
	}
}
