package live

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mp4"

	"github.com/kuzet/kuzet/internal/mediatest"
)

func parseParts(t *testing.T, b []byte) fmp4.Parts {
	t.Helper()
	var parts fmp4.Parts
	if err := parts.Unmarshal(b); err != nil {
		t.Fatal(err)
	}
	return parts
}

// Segments follow the GOPs, parts close as soon as they are full, and the
// files decode.
func TestPlaylistFollowsGOPs(t *testing.T) {
	s, hs := newTestServer(t, Options{Cameras: []string{"Cam"}})
	f := newFeeder(t, s, "Cam", 1000, 3600)
	startMuxer(t, s, "Cam")
	f.frames(3*25 + 1) // three GOPs and the keyframe that ends the third

	base := hs.URL + "/live/Cam/"
	pl := mustPlaylist(t, base+"index.m3u8")
	if pl.TargetDuration != 1 || pl.PartTarget != 0.2 || !pl.CanBlockReload || !pl.Independent || pl.MediaSequence != 0 {
		t.Fatalf("playlist header: %+v", pl)
	}
	if len(pl.Segments) != 3 {
		t.Fatalf("%d segments, want 3: %+v", len(pl.Segments), pl.Segments)
	}
	for i, sg := range pl.Segments {
		if !sg.Complete() || sg.Duration != 1 || len(sg.Parts) != 5 || sg.Map != "init1.mp4" || sg.Discontinuity {
			t.Fatalf("segment %d: %+v", i, sg)
		}
		for j, p := range sg.Parts {
			if p.Duration != 0.2 || p.Independent != (j == 0) || p.URI != fmt.Sprintf("part%d.mp4", i*5+j) {
				t.Fatalf("segment %d part %d: %+v", i, j, p)
			}
		}
	}
	if pl.PreloadHint != "part15.mp4" {
		t.Fatalf("preload hint %q", pl.PreloadHint)
	}

	// parts: 5 frames each, on one continuous timeline
	for i := range 15 {
		code, body := get(t, base+fmt.Sprintf("part%d.mp4", i))
		if code != http.StatusOK {
			t.Fatalf("part %d: %d %s", i, code, body)
		}
		parts := parseParts(t, []byte(body))
		tr := parts[0].Tracks[0]
		if len(parts) != 1 || len(tr.Samples) != 5 || tr.BaseTime != uint64(i*5*3600) {
			t.Fatalf("part %d: %d fragments, %d samples, base %d", i, len(parts), len(tr.Samples), tr.BaseTime)
		}
		if tr.Samples[0].IsNonSyncSample == (i%5 == 0) {
			t.Fatalf("part %d: first sample sync=%v", i, !tr.Samples[0].IsNonSyncSample)
		}
	}

	code, initData := get(t, base+"init1.mp4")
	var init fmp4.Init
	if code != http.StatusOK || init.Unmarshal(bytes.NewReader([]byte(initData))) != nil {
		t.Fatalf("init: %d", code)
	}
	if c, ok := init.Tracks[0].Codec.(*mp4.CodecH264); !ok || !bytes.Equal(c.SPS, demoClip(t).SPS) {
		t.Fatalf("init codec %#v", init.Tracks[0].Codec)
	}
	file := []byte(initData)
	for i := range 3 {
		code, body := get(t, base+fmt.Sprintf("seg%d.mp4", i))
		if code != http.StatusOK || len(parseParts(t, []byte(body))) != 5 {
			t.Fatalf("segment %d: %d", i, code)
		}
		file = append(file, body...)
	}
	path := filepath.Join(t.TempDir(), "live.mp4")
	if err := os.WriteFile(path, file, 0o644); err != nil {
		t.Fatal(err)
	}
	if info := mediatest.Probe(t, path); info.Codec != "h264" || info.Width != 1280 || info.Height != 720 || info.Frames != 75 || !info.FirstKey {
		t.Fatalf("ffprobe: %+v", info)
	}
	if e := mediatest.DecodeErrors(t, path); e != "" {
		t.Fatalf("decode: %s", e)
	}
}

// A blocking reload for the part after the last part of a complete
// segment is answered as soon as part 0 of the next segment exists, not
// when that segment completes (RFC 8216bis 6.2.5.2).
func TestBlockingReloadPastSegmentEnd(t *testing.T) {
	// 120 ms parts hold 3 frames; a GOP of 25 ends with a 1-frame part that
	// closes when the next keyframe arrives, together with its segment.
	s, hs := newTestServer(t, Options{Part: 120_000_000, Cameras: []string{"Cam"}})
	f := newFeeder(t, s, "Cam", 0, 3600)
	startMuxer(t, s, "Cam")
	f.frames(2*25 + 1)

	base := hs.URL + "/live/Cam/index.m3u8"
	pl := mustPlaylist(t, base)
	last := pl.Segments[len(pl.Segments)-1]
	if len(pl.Segments) != 2 || !last.Complete() || len(last.Parts) != 9 || last.MSN != 1 {
		t.Fatalf("setup: %+v", pl.Segments)
	}
	if code, body := get(t, base+"?_HLS_msn=1"); code != http.StatusOK {
		t.Fatalf("complete segment: %d %s", code, body)
	}
	waiting := map[string]<-chan result{}
	for _, q := range []string{"_HLS_msn=1&_HLS_part=9", "_HLS_msn=1&_HLS_part=12", "_HLS_msn=2&_HLS_part=0"} {
		waiting[q] = getAsync(t, base+"?"+q)
	}
	f.frames(1) // part 0 of segment 2 still lacks a frame
	for q, ch := range waiting {
		select {
		case r := <-ch:
			t.Fatalf("%s answered before part 0 of segment 2 existed: %d %s", q, r.code, r.body)
		case <-time.After(300 * time.Millisecond):
		}
	}
	f.frames(1)
	for q, ch := range waiting {
		r := <-ch
		if r.code != http.StatusOK {
			t.Fatalf("%s: %d %s", q, r.code, r.body)
		}
		pl, err := livetestParse(r.body)
		if err != nil {
			t.Fatal(err)
		}
		next := pl.Segment(2)
		if next == nil || len(next.Parts) != 1 || next.Complete() || next.Parts[0].URI != "part18.mp4" {
			t.Fatalf("%s: answered with %+v", q, pl.Segments)
		}
	}
}

// The preload hint's part is held until it exists; a segment being
// written is held until it completes; gone and far-future ones are 404.
func TestHintedPartAndOpenSegmentWait(t *testing.T) {
	s, hs := newTestServer(t, Options{Cameras: []string{"Cam"}})
	f := newFeeder(t, s, "Cam", 0, 3600)
	startMuxer(t, s, "Cam")
	f.frames(25 + 1)
	base := hs.URL + "/live/Cam/"
	pl := mustPlaylist(t, base+"index.m3u8")
	if pl.PreloadHint != "part5.mp4" {
		t.Fatalf("hint %q", pl.PreloadHint)
	}
	hint := getAsync(t, base+pl.PreloadHint)
	seg := getAsync(t, base+"seg1.mp4")
	if code, body := get(t, base+"part7.mp4"); code != http.StatusNotFound || !strings.Contains(body, "does not exist yet") {
		t.Fatalf("far part: %d %s", code, body)
	}
	f.frames(3)
	if !pending(hint) {
		t.Fatal("hinted part answered before it was complete")
	}
	f.frames(1)
	r := <-hint
	if r.code != http.StatusOK || len(parseParts(t, []byte(r.body))[0].Tracks[0].Samples) != 5 {
		t.Fatalf("hinted part: %d", r.code)
	}
	if !pending(seg) {
		t.Fatal("open segment answered before it was complete")
	}
	f.frames(21)
	r = <-seg
	if r.code != http.StatusOK || len(parseParts(t, []byte(r.body))) != 5 {
		t.Fatalf("segment: %d %s", r.code, r.body)
	}

	// after 20 more GOPs the first ones have left the window
	f.frames(20 * 25)
	pl = mustPlaylist(t, base+"index.m3u8")
	if len(pl.Segments) != DefaultSegments || pl.MediaSequence != 22-DefaultSegments {
		t.Fatalf("window: media sequence %d, %d segments", pl.MediaSequence, len(pl.Segments))
	}
	for i, sg := range pl.Segments {
		// parts only within three target durations of the end
		if want := 0; i >= len(pl.Segments)-3 && len(sg.Parts) != 5 || i < len(pl.Segments)-3 && len(sg.Parts) != want {
			t.Fatalf("segment %d lists %d parts", sg.MSN, len(sg.Parts))
		}
	}
	for _, u := range []string{"part0.mp4", "seg0.mp4", "init7.mp4"} {
		if code, body := get(t, base+u); code != http.StatusNotFound {
			t.Fatalf("%s: %d %s", u, code, body)
		}
	}
}

// A new session (camera reconnect) continues the timeline after a
// discontinuity; new parameters get a new init section.
func TestReconnectMarksDiscontinuity(t *testing.T) {
	s, hs := newTestServer(t, Options{Cameras: []string{"Cam"}})
	f := newFeeder(t, s, "Cam", 0, 3600)
	startMuxer(t, s, "Cam")
	f.frames(2*25 + 3)
	if err := f.sink.Close(); err != nil {
		t.Fatal(err)
	}
	base := hs.URL + "/live/Cam/"
	pl := mustPlaylist(t, base+"index.m3u8")
	if len(pl.Segments) != 3 || !pl.Segments[2].Complete() || len(pl.Segments[2].Parts) != 1 {
		t.Fatalf("after the session: %+v", pl.Segments)
	}
	end := 53 * 3600

	g := newFeeder(t, s, "Cam", 987654321, 3600) // a new RTP timeline
	g.frames(2*25 + 1)
	pl = mustPlaylist(t, base+"index.m3u8")
	if len(pl.Segments) != 5 || !pl.Segments[3].Discontinuity || pl.Segments[4].Discontinuity || pl.Segments[3].Map != "init1.mp4" {
		t.Fatalf("after the reconnect: %+v", pl.Segments)
	}
	_, body := get(t, base+pl.Segments[3].Parts[0].URI)
	if bt := parseParts(t, []byte(body))[0].Tracks[0].BaseTime; bt != uint64(end) {
		t.Fatalf("new session starts at %d, want %d", bt, end)
	}
	if err := g.sink.Close(); err != nil {
		t.Fatal(err)
	}

	// a camera that comes back with other parameters
	h := newFeeder(t, s, "Cam", 5, 3600)
	h.mutate = func(n []byte) []byte {
		if n[0]&0x1f == 7 {
			n = bytes.Clone(n)
			n[3]++ // level_idc
		}
		return n
	}
	h.frames(25 + 1)
	pl = mustPlaylist(t, base+"index.m3u8")
	lastSeg := pl.Segments[len(pl.Segments)-1]
	if !lastSeg.Discontinuity || lastSeg.Map != "init2.mp4" {
		t.Fatalf("new parameters: %+v", lastSeg)
	}
	_, initData := get(t, base+"init2.mp4")
	var init fmp4.Init
	if err := init.Unmarshal(bytes.NewReader([]byte(initData))); err != nil {
		t.Fatal(err)
	}
	if sps := init.Tracks[0].Codec.(*mp4.CodecH264).SPS; sps[3] != demoClip(t).SPS[3]+1 {
		t.Fatalf("init2 SPS %x", sps)
	}
}
