package playback

import (
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kuzet/kuzet/internal/mediatest"
)

// An event-recorded camera: its sub-stream throughout, its main stream
// around an event. The index lists both, each marked; playback takes the
// main stream where there is one and the sub-stream between; an export,
// one MP4 of one size, takes the quality with the most video.
func testQualities(t *testing.T, fx *fixture) {
	from, to := eventStart, eventStart.Add(12*time.Second)
	q := rangeQ("Event", from, to)

	var cams []string
	getJSON(t, fx.base+"/cameras", http.StatusOK, &cams)
	if !slices.Contains(cams, "Event") || slices.Contains(cams, "Event~sub") {
		t.Errorf("cameras %v: want Event, and its sub-stream as a quality of it", cams)
	}

	var segs []listedSegment
	getJSON(t, fx.base+"/segments?"+q, http.StatusOK, &segs)
	byQ := map[string]time.Duration{}
	for _, s := range segs {
		byQ[s.Quality] += s.End.Sub(s.Start)
		if (s.Quality == QualitySub) != strings.HasPrefix(s.Path, "Event~sub/") {
			t.Errorf("segment %s marked %q", s.Path, s.Quality)
		}
	}
	if d := byQ[QualityMain]; d < 2900*time.Millisecond || d > 3100*time.Millisecond {
		t.Errorf("main stream listed for %v, want 3 s: %+v", d, segs)
	}
	if d := byQ[QualitySub]; d < 11900*time.Millisecond {
		t.Errorf("sub-stream listed for %v, want 12 s", d)
	}
	getJSON(t, fx.base+"/segments?quality=main&"+q, http.StatusOK, &segs)
	for _, s := range segs {
		if s.Quality != QualityMain {
			t.Errorf("quality=main lists %s (%s)", s.Path, s.Quality)
		}
	}

	// best: sub 0–5 s, main 5–8 s, sub from the keyframe at 8 s
	code, hdr, body := get(t, fx.base+"/play.m3u8?"+q)
	pl := string(body)
	if code != 200 || hdr.Get("X-Archive-Quality") != "main,sub" {
		t.Fatalf("play best: %d %q\n%s", code, hdr.Get("X-Archive-Quality"), pl)
	}
	maps := mapURIs(pl)
	want := []string{"Event~sub", "Event/", "Event~sub"}
	if len(maps) < 3 {
		t.Fatalf("play best: %d init sections, want sub, main, sub\n%s", len(maps), pl)
	}
	var got []string
	for _, m := range maps {
		k := "Event/"
		if strings.Contains(m, "Event~sub") || strings.Contains(m, "Event%7Esub") {
			k = "Event~sub"
		}
		if len(got) == 0 || got[len(got)-1] != k {
			got = append(got, k)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("play best switches %v, want %v\n%s", got, want, pl)
	}
	pdts := programDateTimes(t, pl)
	if !near(pdts[0], from) {
		t.Errorf("best starts at %v, want %v", pdts[0], from)
	}
	if secs := playlistSeconds(t, pl); secs < 11.9 || secs > 13.1 {
		t.Errorf("best plays %.3f s of a 12 s range (at most one GOP more where the qualities meet)", secs)
	}
	for _, c := range []struct {
		quality string
		maps    int
		secs    float64
	}{{"main", 2, 3}, {"sub", 4, 12}} { // files cut at multiples of 3 s
		code, hdr, body := get(t, fx.base+"/play.m3u8?quality="+c.quality+"&"+q)
		if code != 200 || hdr.Get("X-Archive-Quality") != c.quality {
			t.Fatalf("play %s: %d %q %s", c.quality, code, hdr.Get("X-Archive-Quality"), body)
		}
		if n := len(mapURIs(string(body))); n != c.maps {
			t.Errorf("play %s: %d files, want %d", c.quality, n, c.maps)
		}
		if secs := playlistSeconds(t, string(body)); secs < c.secs-0.1 || secs > c.secs+0.1 {
			t.Errorf("play %s: %.3f s, want %.0f", c.quality, secs, c.secs)
		}
	}

	// export: the sub-stream holds 12 s of the range, the main 3 s
	for _, c := range []struct {
		query   string
		quality string
		width   int
		secs    float64
	}{{"", "sub", 640, 12}, {"quality=main&", "main", 1280, 3},
		{"", "main", 1280, 2}} { // a range inside the event: main
		qq := q
		if c.secs == 2 {
			qq = rangeQ("Event", eventStart.Add(5*time.Second), eventStart.Add(7*time.Second))
		}
		code, hdr, body := get(t, fx.base+"/export.mp4?"+c.query+qq)
		if code != 200 || hdr.Get("X-Archive-Quality") != c.quality {
			t.Fatalf("export %s: %d %q %s", c.query, code, hdr.Get("X-Archive-Quality"), body)
		}
		out := filepath.Join(t.TempDir(), "export.mp4")
		if err := os.WriteFile(out, body, 0o644); err != nil {
			t.Fatal(err)
		}
		p := mediatest.Probe(t, out)
		if p.Width != c.width || p.Duration < c.secs-0.1 || p.Duration > c.secs+1.05 {
			t.Errorf("export %s%s: %dx%d, %.3f s; want width %d, %.0f s", c.query, c.quality, p.Width, p.Height, p.Duration, c.width, c.secs)
		}
	}

	var e struct {
		Param string `json:"param"`
	}
	getJSON(t, fx.base+"/play.m3u8?quality=hd&"+q, http.StatusBadRequest, &e)
	if e.Param != "quality" {
		t.Errorf("quality=hd refused naming %q", e.Param)
	}
}

// mapURIs lists a playlist's init sections.
func mapURIs(pl string) []string {
	var out []string
	for _, l := range strings.Split(pl, "\n") {
		if strings.HasPrefix(l, "#EXT-X-MAP:") {
			out = append(out, l)
		}
	}
	return out
}
