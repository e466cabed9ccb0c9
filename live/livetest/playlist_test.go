package livetest

import (
	"testing"
	"time"
)

func FuzzParsePlaylist(f *testing.F) {
	f.Add([]byte("#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXT-X-MAP:URI=\"init1.mp4\"\n#EXT-X-PART:DURATION=0.2,URI=\"part0.mp4\",INDEPENDENT=YES\n#EXTINF:1,\nseg0.mp4\n#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"part1.mp4\"\n"))
	f.Add([]byte("#EXTM3U\n#EXTINF:x,\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParsePlaylist(b)
		if err != nil {
			return
		}
		for i, s := range p.Segments {
			if s.MSN != p.MediaSequence+uint64(i) {
				t.Fatalf("segment %d numbered %d", i, s.MSN)
			}
		}
		p.LastPart()
	})
}

func FuzzParseStamp(f *testing.F) {
	f.Add(StampSEI(Stamp{Frame: 42, Sent: time.Unix(1, 2)}))
	f.Add([]byte{6, 5, 200})
	f.Fuzz(func(t *testing.T, n []byte) {
		s, ok := ParseStamp(n)
		if !ok {
			return
		}
		if back, ok := ParseStamp(StampSEI(s)); !ok || back.Frame != s.Frame || !back.Sent.Equal(s.Sent) {
			t.Fatalf("stamp %+v does not round-trip", s)
		}
	})
}

func TestStampRoundTrip(t *testing.T) {
	want := Stamp{Frame: 1234567, Sent: time.Unix(1700000000, 123456789)}
	got, ok := ParseStamp(StampSEI(want))
	if !ok || got.Frame != want.Frame || !got.Sent.Equal(want.Sent) {
		t.Fatalf("got %+v %v", got, ok)
	}
}
