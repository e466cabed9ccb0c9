package anpr

import (
	"image"
	"image/color"
	"testing"
)

// TestSeparatorIsPaintedOver: a small mark floating between two groups of
// characters (a dot, a dash, a state's emblem) is found and painted over;
// a glyph broken in two, a piece of ink on the baseline, a dot in the
// glyphs' usual spacing and a mark past the last glyph are not.
func TestSeparatorIsPaintedOver(t *testing.T) {
	line := func(marks ...[4]int) rectLine {
		img := image.NewRGBA(image.Rect(0, 0, 320, 100))
		paint := func(x0, y0, x1, y1 int, v uint8) {
			for y := y0; y < y1; y++ {
				for x := x0; x < x1; x++ {
					img.Set(x, y, color.RGBA{v, v, v, 255})
				}
			}
		}
		paint(0, 0, 320, 100, 235)
		for _, x := range []int{20, 48, 110, 138, 200, 228} { // a C, 22 wide, 34–66
			paint(x, 34, x+8, 66, 20)
			paint(x+8, 34, x+22, 39, 20)
			paint(x+8, 61, x+22, 66, 20)
		}
		for _, m := range marks {
			paint(m[0], m[1], m[2], m[3], 20)
		}
		return rectifyLine(img, Quad{{10, 26}, {260, 26}, {260, 74}, {10, 74}}, true)
	}
	// the gap 70–110 after the second glyph, 40 columns wide
	for _, c := range []struct {
		name  string
		marks [][4]int
		want  int
	}{
		{"an emblem", [][4]int{{84, 42, 96, 58}}, 1},
		{"a dash", [][4]int{{82, 48, 98, 52}}, 1},
		{"no mark", nil, 0},
		{"a glyph broken in two", [][4]int{{84, 38, 96, 49}, {84, 51, 96, 62}}, 0},
		{"ink on the baseline", [][4]int{{84, 54, 96, 66}}, 0},
		{"a dot in the usual spacing", [][4]int{{43, 48, 47, 52}}, 0},
		{"a mark past the last glyph", [][4]int{{254, 44, 258, 56}}, 0},
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
			if a, b := float64(got[0][0])/scale+10, float64(got[0][1])/scale+10; a > float64(m[0])+1 || b < float64(m[2])-1 || a < 70 || b > 110 {
				t.Errorf("%s at %d–%d: painted image columns %.0f–%.0f", c.name, m[0], m[2], a, b)
			}
		}
	}
}
