package media

import (
	"bytes"
	"os"
	"testing"
)

// splitVOPs cuts an elementary stream into units: each ends with its VOP,
// whose data holds no start code.
func splitVOPs(es []byte) [][]byte {
	var out [][]byte
	start := 0
	for i, c := nextStartCode(es, 0); i >= 0; i, c = nextStartCode(es, i+3) {
		if c != m4vVOP {
			continue
		}
		end, _ := nextStartCode(es, i+3)
		if end < 0 {
			end = len(es)
		}
		out = append(out, es[start:end])
		start = end
	}
	return out
}

func TestMPEG4Units(t *testing.T) {
	es, err := os.ReadFile("testdata/176x144-15fps.m4v")
	if err != nil {
		t.Fatal(err)
	}
	units := splitVOPs(es)
	if len(units) != 3 {
		t.Fatalf("%d VOPs in the sample, want 3", len(units))
	}
	tr := Track{Codec: MPEG4}
	if tr.Ready() {
		t.Fatal("ready without headers")
	}
	u := &Unit{NALUs: [][]byte{units[0]}}
	if !u.RandomAccess(MPEG4) {
		t.Fatal("the first VOP is an I-VOP")
	}
	if (&Unit{NALUs: [][]byte{units[1]}}).RandomAccess(MPEG4) {
		t.Fatal("the second VOP is predicted")
	}
	if _, inband := tr.UpdateParams(u); !inband || !tr.Ready() {
		t.Fatal("the headers before the first VOP were not taken")
	}
	if !bytes.HasPrefix(units[0], tr.Config) || len(tr.Config) >= len(units[0]) {
		t.Fatalf("config is %d bytes of a %d-byte unit", len(tr.Config), len(units[0]))
	}
	w, h, ok := tr.Resolution()
	if !ok || w != 176 || h != 144 {
		t.Fatalf("resolution %dx%d %v", w, h, ok)
	}
	// ffmpeg declares no fixed rate: the default stands
	if l, err := ParseMPEG4Layer(tr.Config); err != nil || l.FPS != 0 || tr.FPS() != 25 {
		t.Fatalf("fps %+v %v %v", l, err, tr.FPS())
	}
	// a keyframe without headers gets them first in the elementary stream
	es2 := MPEG4.AppendES(nil, tr.ParamNALUs(), [][]byte{units[1]})
	if !bytes.HasPrefix(es2, tr.Config) || !bytes.HasSuffix(es2, units[1]) {
		t.Fatal("elementary stream framing")
	}
}

func TestMJPEGUnits(t *testing.T) {
	pic, err := os.ReadFile("testdata/96x64.jpg")
	if err != nil {
		t.Fatal(err)
	}
	tr := Track{Codec: MJPEG}
	u := &Unit{NALUs: [][]byte{pic}}
	if !u.RandomAccess(MJPEG) {
		t.Fatal("every picture is a keyframe")
	}
	changed, _ := tr.UpdateParams(u)
	if !changed || !tr.Ready() || tr.Width != 96 || tr.Height != 64 {
		t.Fatalf("%+v changed=%v", tr, changed)
	}
	if changed, _ := tr.UpdateParams(u); changed {
		t.Fatal("the same size is no change")
	}
	if got := MJPEG.AppendES(nil, tr.ParamNALUs(), u.NALUs); !bytes.Equal(got, pic) {
		t.Fatal("a picture is its own elementary stream")
	}
	if c := tr.Clone(); c.Width != 96 || c.Height != 64 {
		t.Fatal("clone lost the size")
	}
	for _, bad := range [][]byte{nil, {0xff, 0xd8}, {0xff, 0xd8, 0xff, 0xc0, 0, 3, 1}, pic[:20], {0xff, 0xd8, 0xff, 0xda, 0, 2}} {
		if _, _, err := JPEGSize(bad); err == nil {
			t.Errorf("% x: no error", bad)
		}
	}
}

func TestCodecNames(t *testing.T) {
	for c, want := range map[Codec][2]string{H264: {"h264", "H.264"}, H265: {"hevc", "H.265"}, MJPEG: {"mjpeg", "M-JPEG"}, MPEG4: {"m4v", "MPEG-4 Part 2"}} {
		if c.FFmpeg() != want[0] || c.Name() != want[1] || !c.Known() {
			t.Errorf("%s: %s %s", c, c.FFmpeg(), c.Name())
		}
	}
	if Codec("vp8").Known() {
		t.Error("vp8 is not recorded")
	}
	if got := H264.AppendES(nil, [][]byte{{7}}, [][]byte{{5}}); !bytes.Equal(got, []byte{0, 0, 0, 1, 7, 0, 0, 0, 1, 5}) {
		t.Errorf("annex-b % x", got)
	}
}

func FuzzJPEGSize(f *testing.F) {
	pic, _ := os.ReadFile("testdata/96x64.jpg")
	f.Add(pic)
	f.Add([]byte{0xff, 0xd8, 0xff, 0xff, 0xc0, 0, 8, 8, 0, 1, 0, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		w, h, err := JPEGSize(b)
		if err == nil && (w <= 0 || h <= 0) {
			t.Fatalf("%dx%d without error", w, h)
		}
	})
}

func FuzzMPEG4(f *testing.F) {
	es, _ := os.ReadFile("testdata/176x144-15fps.m4v")
	f.Add(es)
	f.Add([]byte{0, 0, 1, 0x20, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		MPEG4Intra(b)
		if hdr := MPEG4Headers(b); hdr != nil && !bytes.HasPrefix(b, hdr) {
			t.Fatal("headers not a prefix")
		}
		l, err := ParseMPEG4Layer(b)
		if err == nil && (l.Width <= 0 || l.Height <= 0) {
			t.Fatalf("%+v without error", l)
		}
	})
}
