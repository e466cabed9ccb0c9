package anpr

import (
	"image"
	"testing"
)

// TestGreyEmblemIsPaintedOver: a solid grey block between two glyphs (the
// arms of an AT or SK plate in an infrared picture), lighter than the ink
// or dark enough to count as ink, is found and painted over; the space
// between words, a faint glyph, a grey glyph with a glyph's hole and a
// smudge lighter than any emblem are not.
func TestGreyEmblemIsPaintedOver(t *testing.T) {
	type block struct {
		x  int
		v  uint8
		as string // "arms", "glyph" (a C in grey), "ring" (an O in grey)
	}
	line := func(b *block) rectLine {
		img := image.NewRGBA(image.Rect(0, 0, 320, 100))
		glyph := func(x int, v uint8) { // a C, 22 wide and 32 high
			paintGrey(img, x, 34, x+8, 66, v)
			paintGrey(img, x+8, 34, x+22, 39, v)
			paintGrey(img, x+8, 61, x+22, 66, v)
		}
		paintGrey(img, 0, 0, 320, 100, 235)
		for _, x := range []int{20, 48, 110, 138, 200, 228} { // a word gap 200–160
			glyph(x, 20)
		}
		if b != nil {
			switch b.as {
			case "arms": // 22 wide, a light double cross in it (as synth draws)
				paintGrey(img, b.x, 34, b.x+22, 66, b.v)
				paintGrey(img, b.x+9, 37, b.x+12, 57, 220)
				paintGrey(img, b.x+5, 41, b.x+17, 44, 220)
				paintGrey(img, b.x+4, 47, b.x+18, 50, 220)
			case "glyph":
				glyph(b.x, b.v)
			case "ring": // an O of strokes 5 wide
				paintGrey(img, b.x, 34, b.x+22, 66, b.v)
				paintGrey(img, b.x+5, 39, b.x+17, 61, 235)
			}
		}
		box := Quad{{10, 26}, {260, 26}, {260, 74}, {10, 74}}
		return rectifyLine(img, box, true)
	}
	// 70–110: a gap 40 columns wide (1.25 glyph heights) after the second glyph
	arms := line(&block{x: 79, v: 120, as: "arms"})
	grey := greyEmblems(arms)
	scale := float64(arms.w) / 250 // line columns per image column
	if len(grey) != 1 || float64(grey[0][0]) > (79-10)*scale || float64(grey[0][1]) < (101-10)*scale ||
		float64(grey[0][0]) < (70-10)*scale-1 || float64(grey[0][1]) > (110-10)*scale+1 {
		t.Errorf("grey arms at 79–101 between glyphs ending at 70 and starting at 110: painted %v (line columns, %.2f per image column)", grey, scale)
	}
	if grey := greyEmblems(line(&block{x: 79, v: 90, as: "arms"})); len(grey) != 1 {
		t.Errorf("arms dark enough to count as ink, but far lighter than it: painted %v, want one span", grey)
	}
	for _, b := range []*block{nil, {x: 79, v: 140, as: "glyph"}, {x: 79, v: 165, as: "arms"}, {x: 79, v: 120, as: "ring"}} {
		if grey := greyEmblems(line(b)); len(grey) != 0 {
			t.Errorf("%+v: painted %v, want nothing", b, grey)
		}
	}
}
