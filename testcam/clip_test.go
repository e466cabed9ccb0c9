package testcam

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
)

func TestParseAnnexBDemoClip(t *testing.T) {
	c, err := ParseAnnexB(DemoClip)
	if err != nil {
		t.Fatalf("parse demo clip: %v", err)
	}
	if c.Width != 1280 || c.Height != 720 {
		t.Errorf("size %dx%d, want 1280x720", c.Width, c.Height)
	}
	// 16–24 s at 25 fps.
	if n := len(c.Frames); n < 400 || n > 600 {
		t.Errorf("%d frames, want 400..600", n)
	}
	if !c.Frames[0].IDR {
		t.Fatal("frame 0 is not an IDR")
	}

	lastIDR := 0
	for i, f := range c.Frames {
		for _, n := range f.NALUs {
			if typ := h264.NALUType(n[0] & 0x1f); typ == h264.NALUTypeAccessUnitDelimiter {
				t.Fatalf("frame %d still holds an access unit delimiter", i)
			}
		}
		if !f.IDR {
			continue
		}
		if i-lastIDR > 50 {
			t.Errorf("IDR at frame %d follows the previous one (frame %d) by more than 50 frames", i, lastIDR)
		}
		lastIDR = i
		// repeat-headers: a reader joining at any IDR can decode it.
		if !hasParams(f.NALUs) {
			t.Errorf("IDR frame %d has no SPS/PPS before its slices", i)
		}
	}
	if len(c.Frames)-lastIDR > 50 {
		t.Errorf("last IDR at frame %d of %d: the loop would stretch the GOP past 50 frames", lastIDR, len(c.Frames))
	}
}

// TestPlateList checks that plates720p.txt matches the clip it describes.
func TestPlateList(t *testing.T) {
	f, err := os.Open("../testdata/plates720p.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c, err := ParseAnnexB(DemoClip)
	if err != nil {
		t.Fatal(err)
	}
	dur := float64(len(c.Frames)) / 25

	var prevEnd float64
	var lines int
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lines++
		fields := strings.Fields(sc.Text())
		if len(fields) != 3 {
			t.Fatalf("line %d: %q: want 'start_s end_s PLATE'", lines, sc.Text())
		}
		start, err1 := strconv.ParseFloat(fields[0], 64)
		end, err2 := strconv.ParseFloat(fields[1], 64)
		if err1 != nil || err2 != nil || start < prevEnd || end <= start || end > dur {
			t.Errorf("line %d: %q: bad times for a %.2f s clip", lines, sc.Text(), dur)
		}
		if len(fields[2]) != 8 {
			t.Errorf("line %d: plate %q is not 8 characters", lines, fields[2])
		}
		prevEnd = end
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if lines < 3 || lines > 4 {
		t.Errorf("%d vehicles listed, want 3 or 4", lines)
	}
}

// annexB joins NAL units with four-byte start codes.
func annexB(nalus ...[]byte) []byte {
	var b []byte
	for _, n := range nalus {
		b = append(b, 0, 0, 0, 1)
		b = append(b, n...)
	}
	return b
}

func TestParseAnnexBErrors(t *testing.T) {
	c, err := ParseAnnexB(DemoClip)
	if err != nil {
		t.Fatal(err)
	}
	first := c.Frames[0].NALUs
	var sps, pps, idr, nonIDR []byte
	for _, n := range first {
		switch h264.NALUType(n[0] & 0x1f) {
		case h264.NALUTypeSPS:
			sps = n
		case h264.NALUTypePPS:
			pps = n
		case h264.NALUTypeIDR:
			idr = n
		}
	}
	nonIDR = c.Frames[1].NALUs[len(c.Frames[1].NALUs)-1]
	aud := []byte{0x09, 0xf0}

	cases := map[string]struct {
		data []byte
		want string
	}{
		"empty":           {nil, "does not begin with a start code"},
		"garbage":         {[]byte("this is not a video at all, just text"), "does not begin with a start code"},
		"garbage then SC": {append([]byte{1, 2, 3}, annexB(aud, sps, pps, idr)...), "does not begin with a start code"},
		"MP4 header":      {[]byte("\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41"), "does not begin with a start code"},
		"H.265":           {annexB([]byte{0x40, 0x01, 0x0c, 0x01}, []byte{0x42, 0x01, 0x01}), "type 0"},
		"forbidden bit":   {annexB(aud, []byte{0x85, 0x00}), "forbidden_zero_bit"},
		"no AUD":          {annexB(sps, pps, idr), "precedes the first access unit delimiter"},
		"AUD only":        {annexB(aud, aud), "has no slice"},
		"starts with P":   {annexB(aud, sps, pps, nonIDR, aud, idr), "not an IDR"},
		"no SPS/PPS":      {annexB(aud, idr, aud, nonIDR), "no SPS and PPS"},
		"PPS late":        {annexB(aud, sps, idr, pps), "no SPS and PPS"},
		"broken SPS":      {annexB(aud, []byte{0x67, 0x64}, pps, idr), "parse SPS"},
		"only zeros":      {make([]byte, 64), "does not begin with a start code"},
		"start code only": {[]byte{0, 0, 1}, "no access units"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := ParseAnnexB(tc.data)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not mention %q", err, tc.want)
			}
		})
	}

	// The smallest valid clip, and trailing zeros / 3-byte start codes.
	ok := append(annexB(aud, sps, pps, idr, aud, nonIDR), 0, 0, 0)
	ok = append(ok, 0, 0, 1, 0x0c, 0xff, 0x80) // filler data is dropped
	got, err := ParseAnnexB(ok)
	if err != nil {
		t.Fatalf("minimal clip: %v", err)
	}
	if len(got.Frames) != 2 || !got.Frames[0].IDR || got.Frames[1].IDR || len(got.Frames[1].NALUs) != 1 {
		t.Errorf("minimal clip parsed as %+v", got.Frames)
	}
	if !bytes.Equal(got.SPS, sps) || !bytes.Equal(got.PPS, pps) {
		t.Error("SPS/PPS not taken from the first access unit")
	}
}

func FuzzParseAnnexB(f *testing.F) {
	// Seeds: the first two frames of the demo clip, cut at the third AUD.
	aud := []byte{0, 0, 0, 1, 0x09}
	demo := DemoClip
	second := bytes.Index(demo[len(aud):], aud) + len(aud)
	third := bytes.Index(demo[second+len(aud):], aud) + second + len(aud)
	f.Add(demo[:third])
	f.Add(demo[:second])
	f.Add([]byte{0, 0, 1, 0x09, 0xf0, 0, 0, 1, 0x65, 0x88})
	f.Add([]byte("garbage"))

	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseAnnexB(data)
		if err != nil {
			return
		}
		if len(c.Frames) == 0 || !c.Frames[0].IDR || c.SPS == nil || c.PPS == nil {
			t.Fatalf("accepted a clip that cannot be looped: %+v", c)
		}
		for i, fr := range c.Frames {
			if !hasSlice(fr.NALUs) {
				t.Fatalf("frame %d has no slice", i)
			}
			for _, n := range fr.NALUs {
				if len(n) == 0 {
					t.Fatalf("frame %d has an empty NAL unit", i)
				}
			}
		}
	})
}
