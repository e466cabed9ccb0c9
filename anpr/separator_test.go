package anpr

import (
	"image"
	"math"
	"testing"
)

// TestSeparatorIsPaintedOver: a small mark floating between two groups of
// characters (a dot, a dash, a state's emblem, dark or tan) is found and
// painted over in its box with the plate's colour; a smudge barely darker
// than the plate, a glyph broken in two, a piece of ink on the baseline, a
// dot in the glyphs' usual spacing and a mark past the last glyph are not.
func TestSeparatorIsPaintedOver(t *testing.T) {
	line := func(marks ...[5]int) rectLine { // x0, y0, x1, y1, grey level
		img := image.NewRGBA(image.Rect(0, 0, 320, 100))
		paintGrey(img, 0, 0, 320, 100, 235)
		for _, x := range []int{20, 48, 110, 138, 200, 228} { // a C, 22 wide, 34–66
			paintGrey(img, x, 34, x+8, 66, 20)
			paintGrey(img, x+8, 34, x+22, 39, 20)
			paintGrey(img, x+8, 61, x+22, 66, 20)
		}
		for _, m := range marks {
			paintGrey(img, m[0], m[1], m[2], m[3], uint8(m[4]))
		}
		return rectifyLine(img, Quad{{10, 26}, {260, 26}, {260, 74}, {10, 74}}, true)
	}
	// the gap 70–110 after the second glyph, 40 columns wide
	for _, c := range []struct {
		name  string
		marks [][5]int
		want  int
	}{
		{"an emblem", [][5]int{{84, 42, 96, 58, 20}}, 1},
		{"a tan emblem, lighter than the ink", [][5]int{{84, 42, 96, 58, 160}}, 1},
		{"a dash", [][5]int{{82, 48, 98, 52, 20}}, 1},
		{"no mark", nil, 0},
		{"a smudge barely darker than the plate", [][5]int{{84, 42, 96, 58, 200}}, 0},
		{"a glyph broken in two", [][5]int{{84, 38, 96, 49, 20}, {84, 51, 96, 62, 20}}, 0},
		{"ink on the baseline", [][5]int{{84, 54, 96, 66, 20}}, 0},
		{"a dot in the usual spacing", [][5]int{{43, 48, 47, 52, 20}}, 0},
		{"a mark past the last glyph", [][5]int{{254, 44, 258, 56, 20}}, 0},
	} {
		l := line(c.marks...)
		got := separators(l)
		if len(got) != c.want {
			t.Errorf("%s: painted %v, want %d span(s)", c.name, got, c.want)
			continue
		}
		if c.want == 1 {
			scale := float64(l.w) / 250 // line columns per image column
			m := c.marks[0]
			if a, b := float64(got[0].x0)/scale+10, float64(got[0].x1)/scale+10; a > float64(m[0])+1 || b < float64(m[2])-1 || a < 70 || b > 110 {
				t.Errorf("%s at %d–%d: painted image columns %.0f–%.0f", c.name, m[0], m[2], a, b)
			}
			// rows: the line is the image's rows 26–74, one to one
			if y0, y1 := got[0].y0+26, got[0].y1+26; y0 > m[1] || y1 < m[3] || y0 < 34 || y1 > 66 {
				t.Errorf("%s at rows %d–%d: painted image rows %d–%d, want within the glyphs' 34–66", c.name, m[1], m[3], y0, y1)
			}
			// the plate's colour around it, not the mark's
			if lum := luminance(got[0].rgb); lum < 200 {
				t.Errorf("%s: painted with luminance %.0f, want the plate's 235", c.name, lum)
			}
		}
	}
}

// TestRecInputPaintsAMarksBoxOnly: a mark is painted in its box with its
// colour; the rows above and below it in the same columns keep theirs.
func TestRecInputPaintsAMarksBoxOnly(t *testing.T) {
	const w = 40
	px := make([]float32, 3*w*recHeight)
	for i := range px {
		px[i] = 50
	}
	c := lineCleanup{x0: 0, x1: w, bg: [3]float32{10, 10, 10}, marks: []markBox{{x0: 10, x1: 20, y0: 15, y1: 30, rgb: [3]float32{255, 0, 127.5}}}}
	data := recInput(px, w, c, w)
	plane := w * recHeight
	at := func(x, y int) [3]float32 { // r, g, b back from the normalised BGR planes, rounded
		o := y*w + x
		v := func(d float32) float32 { return float32(math.Round(float64((d+1)*127.5*2))) / 2 }
		return [3]float32{v(data[2*plane+o]), v(data[plane+o]), v(data[o])}
	}
	if got := at(15, 20); got != [3]float32{255, 0, 127.5} {
		t.Errorf("inside the mark: %v, want its colour", got)
	}
	for _, p := range [][2]int{{15, 10}, {15, 35}, {5, 20}, {25, 20}} {
		if got := at(p[0], p[1]); got != [3]float32{50, 50, 50} {
			t.Errorf("at %v, outside the mark: %v, want the line's own 50", p, got)
		}
	}
}

// TestKeepsSureRefusesToPaintAGlyphAway: a reading after painting may
// lose or change what the recogniser doubted (the L a heart was read as, an
// O read at 0.6 that is a 1), and name a sure O as 0; it may not lose a
// sure character or read it as another.
func TestKeepsSureRefusesToPaintAGlyphAway(t *testing.T) {
	read := func(s string, ps ...float64) decoded {
		frames := blanks(2 * len(s))
		for i := range s {
			if s[i] != ' ' {
				frames[2*i] = frame{s[i], ps[i], 0}
			}
		}
		return greedy(steps(frames...))
	}
	before := read("SHOLR7X", 0.99, 0.99, 0.95, 0.44, 0.98, 0.87, 0.96)
	for _, c := range []struct {
		after decoded
		want  bool
	}{
		{read("SH0 R7X", 0.99, 0.99, 0.97, 0, 0.99, 0.9, 0.97), true},    // the L painted away, the O named 0
		{read("SH01R7X", 0.99, 0.99, 0.97, 0.9, 0.99, 0.9, 0.97), true},  // the L now a 1
		{read("SHO R X", 0.99, 0.99, 0.97, 0, 0.99, 0, 0.97), false},     // the 7 (0.87) gone
		{read("SHOLR1X", 0.99, 0.99, 0.97, 0.5, 0.99, 0.9, 0.97), false}, // the 7 read as 1
		{read("SHO RX", 0.99, 0.99, 0.97, 0, 0.99, 0.97), false},         // the 7 gone, an X where it was
	} {
		if got := keepsSure(before, c.after); got != c.want {
			t.Errorf("SHOLR7X → %s: keepsSure %v, want %v", c.after.text, got, c.want)
		}
	}
}
