package live

import (
	"encoding/binary"
	"strings"
	"testing"

	"github.com/kuzet/kuzet/live/livetest"
	"github.com/kuzet/kuzet/media"
)

func FuzzParseFile(f *testing.F) {
	for _, s := range []string{"index.m3u8", "init1.mp4", "seg12.mp4", "part0.mp4", "part.mp4", "part-1.mp4",
		"seg18446744073709551616.mp4", "x.ts", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		kind, n, err := parseFile(name)
		if err != nil {
			return
		}
		// what parses names exactly that file
		var want string
		switch kind {
		case filePlaylist:
			want = "index.m3u8"
		case fileInit:
			want = "init"
		case fileSegment:
			want = "seg"
		case filePart:
			want = "part"
		}
		if kind != filePlaylist {
			if !strings.HasPrefix(name, want) || !strings.HasSuffix(name, ".mp4") {
				t.Fatalf("%q parsed as %v %d", name, kind, n)
			}
		} else if name != want {
			t.Fatalf("%q parsed as the playlist", name)
		}
	})
}

func FuzzParseDirectives(f *testing.F) {
	for _, s := range []string{"", "_HLS_msn=3", "_HLS_msn=3&_HLS_part=2", "_HLS_part=1", "_HLS_msn=3&_HLS_skip=YES",
		"_HLS_msn=%zz", "a=b&_HLS_msn=1&_HLS_msn=2", "_HLS_msn=+1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		d, err := parseDirectives(q)
		if err == nil && d.hasPart && !d.hasMSN {
			t.Fatalf("%q: part without msn accepted", q)
		}
	})
}

// The muxer survives whatever a camera sends: arbitrary NAL units and
// timestamps never make it panic, and its playlist stays parseable.
func FuzzMuxerUnits(f *testing.F) {
	clip := demoClip(f)
	seed := []byte{}
	for _, fr := range clip.Frames[:3] {
		for _, n := range fr.NALUs {
			seed = binary.BigEndian.AppendUint16(seed, uint16(min(len(n), 600)))
			seed = append(seed, n[:min(len(n), 600)]...)
		}
	}
	f.Add(seed, int64(3600))
	f.Add([]byte{0, 1, 0x65, 0, 2, 0x67, 0x42}, int64(-5))
	f.Fuzz(func(t *testing.T, data []byte, step int64) {
		s, err := New(Options{Cameras: []string{"Cam"}})
		if err != nil {
			t.Fatal(err)
		}
		sink, _ := s.Consumer().Open("Cam", media.Track{Codec: media.H264, SPS: clip.SPS, PPS: clip.PPS}, "fuzz")
		m := startMuxer(t, s, "Cam")
		pts := int64(0)
		// two passes: units cut from data, then real frames, so that the
		// muxer's state after garbage meets good video
		for pass := range 2 {
			rest := data
			for len(rest) >= 2 {
				n := int(binary.BigEndian.Uint16(rest))
				rest = rest[2:]
				if n > len(rest) {
					n = len(rest)
				}
				nalu := rest[:n]
				rest = rest[n:]
				if err := sink.WriteUnit(&media.Unit{NALUs: [][]byte{nalu}, PTS: pts}); err != nil {
					t.Fatal(err)
				}
				pts += step
			}
			if pass == 0 {
				for _, fr := range clip.Frames[:60] {
					_ = sink.WriteUnit(&media.Unit{NALUs: fr.NALUs, PTS: pts})
					pts += 3600
				}
			}
		}
		_ = sink.Close()
		m.mu.Lock()
		defer m.mu.Unlock()
		if m.hasContent() {
			if _, err := livetest.ParsePlaylist(m.renderPlaylist()); err != nil {
				t.Fatal(err)
			}
		}
	})
}
