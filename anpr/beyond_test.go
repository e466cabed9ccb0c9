package anpr

import (
	"image"
	"testing"
)

// TestGlyphBeyondTakesTheGlyphPastTheBox: a box that stops in the gap
// before a line's first or last glyph is tried wider there and kept so; a
// box with plain plate beyond it, with smaller print beyond it (a dealer's
// name), or with a glyph further off than the line's glyphs stand apart is
// left as it is.
func TestGlyphBeyondTakesTheGlyphPastTheBox(t *testing.T) {
	plate := func(glyphs []int, small bool) *image.RGBA {
		img := image.NewRGBA(image.Rect(0, 0, 320, 100))
		paintGrey(img, 0, 0, 320, 100, 235)
		for _, x := range glyphs { // as testLine.glyph, 32 rows high
			paintGrey(img, x, 34, x+8, 66, 20)
			paintGrey(img, x+8, 34, x+20, 38, 20)
			paintGrey(img, x+8, 62, x+20, 66, 20)
			paintGrey(img, x+18, 34, x+22, 66, 20)
		}
		if small {
			paintGrey(img, 200, 42, 204, 58, 20)
			paintGrey(img, 210, 42, 214, 58, 20)
		}
		return img
	}
	box := Quad{{46, 26}, {192, 26}, {192, 74}, {46, 74}}
	inside := []int{56, 92, 128, 164} // 14 columns apart, 10 and 6 inside the box's ends
	try := func(img *image.RGBA) (Quad, bool) {
		line := rectifyLine(img, box, true)
		if l, r := cutEnds(line); l != 0 || r != 0 {
			t.Fatalf("a glyph touches the box's ends: widen %.1f %.1f", l, r)
		}
		return glyphBeyond(img, line)
	}
	q, ok := try(plate(append([]int{20}, append(inside, 200)...), false))
	if r := q.Bounds(); !ok || r.Min.X > 20 || r.Max.X < 222 {
		t.Errorf("glyphs one gap beyond both ends (20–42, 200–222): widened %v to %v, want both taken", ok, r)
	}
	if q, ok := try(plate(inside, false)); ok {
		t.Errorf("plain plate beyond the box: widened to %v", q.Bounds())
	}
	if q, ok := try(plate(inside, true)); ok {
		t.Errorf("small print beyond the box: widened to %v", q.Bounds())
	}
	if q, ok := try(plate(append(inside, 214), false)); ok {
		t.Errorf("a glyph 28 columns beyond the last (the line's stand 14 apart): widened to %v", q.Bounds())
	}
	// A glyph the box's end cuts through (an A whose right leg alone is
	// inside, standing apart from the end) stands beyond it too.
	img := plate(append([]int{28}, inside...), false) // 28–50 across the end at 46
	if q, ok := glyphBeyond(img, rectifyLine(img, box, true)); !ok || q.Bounds().Min.X > 28 {
		t.Errorf("a glyph across the box's end (28–50): widened %v to %v, want it taken", ok, q.Bounds())
	}
}
