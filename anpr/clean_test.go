package anpr

import (
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// testLine is a rectified line (interleaved RGB, w×recHeight) on a white
// plate, painted with rectangles.
type testLine struct {
	w  int
	px []float32
}

func newTestLine(w int) *testLine {
	l := &testLine{w: w, px: make([]float32, 3*w*recHeight)}
	l.fill(0, 0, w, recHeight, 235, 235, 235)
	return l
}

func (l *testLine) fill(x0, y0, x1, y1 int, r, g, b float32) {
	for y := y0; y < y1; y++ {
		for x := x0; x < x1; x++ {
			i := 3 * (y*l.w + x)
			l.px[i], l.px[i+1], l.px[i+2] = r, g, b
		}
	}
}

// paintGrey fills the rectangle [x0, x1)×[y0, y1) of a test picture with
// grey level v.
func paintGrey(img *image.RGBA, x0, y0, x1, y1 int, v uint8) {
	for y := y0; y < y1; y++ {
		for x := x0; x < x1; x++ {
			img.Set(x, y, color.RGBA{v, v, v, 255})
		}
	}
}

// glyph paints a character-like shape at x: a full-height stem and thin
// strokes to its right (a D, an E), ink in every column it spans.
func (l *testLine) glyph(x int) {
	l.fill(x, 8, x+8, 40, 20, 20, 20)     // stem
	l.fill(x+8, 8, x+20, 12, 20, 20, 20)  // top bar
	l.fill(x+8, 36, x+20, 40, 20, 20, 20) // bottom bar
	l.fill(x+18, 8, x+22, 40, 20, 20, 20) // right side
}

// TestCleanLineKeepsTheLetterBeforeAnEmblem: a district letter between the
// band and the coat of arms (D ◆ 283 ZU) is text, so the emblem is painted
// over and the band cut, never everything up to the emblem. A letter's
// stem is dark enough to look like a narrow band; it still counts as ink.
func TestCleanLineKeepsTheLetterBeforeAnEmblem(t *testing.T) {
	l := newTestLine(300)
	l.fill(0, 0, 16, recHeight, 20, 50, 170) // blue band
	l.glyph(24)
	l.fill(56, 12, 76, 36, 200, 30, 30) // red arms
	for x := 88; x+22 < 300; x += 36 {
		l.glyph(x)
	}
	checkLetterBeforeArms(t, cleanLine(l.px, l.w, recHeight), 16, 24, 56, 76)
}

// checkLetterBeforeArms checks the cleanup of a line with a band ending at
// band, a letter from letter, and arms over columns [a0, a1): the band is
// cut (its last 4 columns may stay), the letter kept and the arms painted
// over (but for 4 columns at either side).
func checkLetterBeforeArms(t *testing.T, c lineCleanup, band, letter, a0, a1 int) {
	t.Helper()
	if c.x0 > letter {
		t.Fatalf("x0 = %d: the cut reaches the letter at %d (the band ends at %d)", c.x0, letter, band)
	}
	if c.x0 < band-4 {
		t.Errorf("x0 = %d: the band (0–%d) is left in", c.x0, band)
	}
	for _, e := range c.emblems {
		if e[0] <= a0+4 && e[1] >= a1-4 {
			return
		}
	}
	t.Errorf("emblems %v: the arms at %d–%d are not painted over", c.emblems, a0, a1)
}

// TestCleanLineMarksAnEdgeSliver: a narrow dark run touching the end of the
// crop, apart from the glyphs, is marked as a sliver to discount, not cut
// (it may be the part of a glyph a tight box left in).
func TestCleanLineMarksAnEdgeSliver(t *testing.T) {
	l := newTestLine(300)
	l.fill(0, 4, 10, 44, 40, 40, 40) // the edge of a band, dark in infrared
	for x := 24; x+22 < 290; x += 36 {
		l.glyph(x)
	}
	c := cleanLine(l.px, l.w, recHeight)
	if c.x0 != 0 {
		t.Errorf("x0 = %d, want 0: a sliver is discounted, not cut", c.x0)
	}
	if len(c.slivers) != 1 || c.slivers[0][0] != 0 || c.slivers[0][1] < 8 || c.slivers[0][1] > 16 {
		t.Errorf("slivers %v, want one covering 0–10", c.slivers)
	}

	// A glyph that fills the end of the crop is wider than a sliver.
	l = newTestLine(300)
	for x := 0; x+22 < 290; x += 36 {
		l.glyph(x)
	}
	if c := cleanLine(l.px, l.w, recHeight); len(c.slivers) != 0 {
		t.Errorf("slivers %v on a line whose first glyph touches the edge", c.slivers)
	}
}

func TestDiscountChars(t *testing.T) {
	row := func(sep, char float64) [nSym]float32 {
		var r [nSym]float32
		for k := range r {
			r[k] = float32(math.Log(1e-6))
		}
		r[0] = float32(math.Log(sep))
		r[symOf('9')] = float32(math.Log(char))
		return r
	}
	best := func(r [nSym]float32) (int, float64) {
		k := 0
		for j := range r {
			if r[j] > r[k] {
				k = j
			}
		}
		return k, math.Exp(float64(r[k]))
	}
	// A faint stroke read as 9 at 0.6 becomes a gap.
	if k, _ := best(discountChars(row(0.4, 0.6), sliverOdds)); k != 0 {
		t.Errorf("a 9 read at 0.6 in a sliver stays %q", symbols[k])
	}
	// A glyph read at 0.99 stays the glyph, still sure.
	k, p := best(discountChars(row(0.01, 0.99), sliverOdds))
	if k != symOf('9') || p < 0.9 {
		t.Errorf("a 9 read at 0.99 in a sliver becomes %q at %.2f", symbols[k], p)
	}
	// The row stays a distribution.
	var sum float64
	for _, v := range discountChars(row(0.3, 0.7), sliverOdds) {
		sum += math.Exp(float64(v))
	}
	if math.Abs(sum-1) > 1e-3 {
		t.Errorf("probabilities sum to %.4f", sum)
	}
}

// TestCleanLineCutsTheWholeFlag: a flag that ends between two of the
// analysis blocks is cut where it ends, not at the block boundary before
// it; the strip of its edge left in would be read as a leading 1.
func TestCleanLineCutsTheWholeFlag(t *testing.T) {
	for _, end := range []int{32, 33, 34, 35} {
		l := newTestLine(300)
		l.fill(4, 6, end, 26, 200, 30, 40)   // red stripe
		l.fill(4, 26, end, 36, 0, 130, 70)   // green stripe
		l.fill(6, 38, end-4, 44, 60, 60, 60) // the country code under it
		for x := end + 6; x+22 < 296; x += 36 {
			l.glyph(x)
		}
		c := cleanLine(l.px, l.w, recHeight)
		if c.x0 < end || c.x0 > end+6 {
			t.Errorf("flag 4–%d: x0 = %d, want the cut between the flag's end and the first glyph at %d", end, c.x0, end+6)
		}
	}
	// The right end, mirrored: a flag at the right (KG, UZ, TJ).
	for _, start := range []int{265, 266, 267, 268} {
		l := newTestLine(300)
		for x := 10; x+22 < start-6; x += 36 {
			l.glyph(x)
		}
		l.fill(start, 6, 296, 26, 200, 30, 40)
		l.fill(start, 26, 296, 36, 250, 210, 30)
		c := cleanLine(l.px, l.w, recHeight)
		if c.x1 > start {
			t.Errorf("flag %d–296: x1 = %d, want at most %d", start, c.x1, start)
		}
	}
}

// TestCleanLineCutsAFlagOverItsCode: a flag filling only the upper part of
// the band, over a country code too thin to count as dark (the MD band), is
// a band all the same: three of the eight middle block rows are coloured.
// It was left in and its stripes read as a leading 1 (md 1YRX298).
func TestCleanLineCutsAFlagOverItsCode(t *testing.T) {
	l := newTestLine(300)
	l.fill(20, 12, 36, 16, 20, 60, 170)  // blue stripe
	l.fill(20, 16, 36, 20, 240, 200, 30) // yellow stripe
	l.fill(20, 20, 36, 24, 200, 30, 40)  // red stripe
	l.fill(21, 30, 23, 37, 60, 60, 60)   // "MD" under it: thin strokes
	l.fill(27, 30, 29, 37, 60, 60, 60)   //
	for x := 44; x+22 < 296; x += 36 {
		l.glyph(x)
	}
	c := cleanLine(l.px, l.w, recHeight)
	if c.x0 < 36 || c.x0 > 44 {
		t.Errorf("flag 20–36 over its code: x0 = %d, want the cut between the flag's end and the first glyph at 44", c.x0)
	}
}

// TestCleanLinePaintsTheWholeEmblem: an emblem between characters whose
// tip is too thin to make its blocks foreign (a shield's point, a seal's
// rim) is painted over to its last coloured column, not left as a stroke.
func TestCleanLinePaintsTheWholeEmblem(t *testing.T) {
	for _, tip := range []int{80, 81, 82, 83} {
		l := newTestLine(300)
		l.glyph(12)
		l.fill(50, 10, 70, 38, 200, 30, 40)  // red arms
		l.fill(70, 20, tip, 28, 200, 30, 40) // their point
		for x := tip + 10; x+22 < 296; x += 36 {
			l.glyph(x)
		}
		c := cleanLine(l.px, l.w, recHeight)
		painted := false
		for _, e := range c.emblems {
			painted = painted || e[0] <= 50 && e[1] >= tip && e[1] <= tip+10
		}
		if !painted {
			t.Errorf("arms 50–%d: emblems %v, want them painted to their tip and not into the glyph at %d", tip, c.emblems, tip+10)
		}
	}
}

// TestCleanLineKeepsAOneStrokeLetterBeforeTheArms: an AT or SK district
// letter as thin as a T (one stem, and a bar above the rows a band is
// judged on) is less ink than a glyph, yet after a band has been cut any
// ink before the arms makes them an emblem: the letter is kept. A band its
// stars break into two runs is still cut whole.
func TestCleanLineKeepsAOneStrokeLetterBeforeTheArms(t *testing.T) {
	l := newTestLine(320)
	l.fill(0, 0, 28, recHeight, 20, 50, 170) // blue band, broken by its stars
	l.fill(12, 0, 16, recHeight/2, 90, 90, 70)
	l.fill(12, recHeight/2, 16, recHeight, 200, 200, 180)
	l.fill(34, 8, 52, 12, 20, 20, 20)   // T: bar
	l.fill(41, 8, 46, 40, 20, 20, 20)   // T: stem
	l.fill(60, 12, 80, 36, 200, 30, 30) // red arms
	for x := 94; x+22 < 320; x += 36 {
		l.glyph(x)
	}
	checkLetterBeforeArms(t, cleanLine(l.px, l.w, recHeight), 28, 34, 60, 80)
}

// TestCleanLineKeepsAnFAfterANarrowBand: where the box cut the band down
// to a sliver, no band is cut first, and an F's ink (a stem a block wide,
// arms too thin to darken a block) counts for less than a glyph: the arms
// after it passed for the band, and the F was cut with them. A letter of
// the line's glyph shape before a coloured run makes the run an emblem.
func TestCleanLineKeepsAnFAfterANarrowBand(t *testing.T) {
	l := newTestLine(320)
	l.fill(0, 0, 8, recHeight, 20, 50, 170) // what the box left of the band
	l.fill(24, 8, 29, 40, 20, 20, 20)       // F: stem
	l.fill(29, 8, 42, 11, 20, 20, 20)       // F: top arm
	l.fill(29, 22, 39, 25, 20, 20, 20)      // F: middle arm
	l.fill(52, 12, 72, 36, 200, 30, 30)     // red arms
	for x := 84; x+22 < 320; x += 36 {
		l.glyph(x)
	}
	c := cleanLine(l.px, l.w, recHeight)
	if c.x0 > 24 {
		t.Fatalf("x0 = %d: the F at 24 is cut", c.x0)
	}
	painted := false
	for _, e := range c.emblems {
		painted = painted || e[0] <= 56 && e[1] >= 68
	}
	if !painted {
		t.Errorf("emblems %v: the arms at 52–72 are not painted over", c.emblems)
	}
}

// TestCleanLineLeavesABluePlateOnALightCab: Chinese plates' lines, white
// characters on blue, as rectified from synthetic scenes. On the first
// the crop's top and bottom rows are a light teal cab: the background
// taken from the whole crop is the cab's and the characters' mixed, and
// the plate's blue between the characters was cut and painted over as
// bands and emblems (BQ65089 read B589). On the second a green cab,
// brighter than the blue, shows at the crop's edges and took the
// brightest fifth: the blue gap before the last group was cut as a band
// (X08M98 read X08M). Both lines are left as they are.
func TestCleanLineLeavesABluePlateOnALightCab(t *testing.T) {
	for _, name := range []string{"blue-plate-line.png", "blue-plate-green-cab-line.png"} {
		l := loadTestLine(t, name)
		c := cleanLine(l.px, l.w, recHeight)
		if c.x0 != 0 || c.x1 != l.w || len(c.emblems) > 0 {
			t.Errorf("%s: cut to [%d, %d), emblems %v: the plate's own blue taken for bands and emblems", name, c.x0, c.x1, c.emblems)
		}
	}
}

// loadTestLine reads a rectified line saved in testdata as a PNG of the
// recogniser's height.
func loadTestLine(t *testing.T, name string) *testLine {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	b := img.Bounds()
	if b.Dy() != recHeight {
		t.Fatalf("%s: line %v: want %d rows", name, b, recHeight)
	}
	px := make([]float32, 0, 3*b.Dx()*b.Dy())
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			px = append(px, float32(r>>8), float32(g>>8), float32(bl>>8))
		}
	}
	return &testLine{w: b.Dx(), px: px}
}

// TestCleanLineKeepsColouredGlyphs: an Arizona plate prints its
// characters in dark teal on a light sky, coloured enough to pass for a
// band at the line's start or an emblem between characters; runs of the
// line's own ink colour are neither. A red emblem among teal glyphs is
// still painted over.
func TestCleanLineKeepsColouredGlyphs(t *testing.T) {
	teal := func(l *testLine, x int) {
		l.fill(x, 8, x+8, 40, 20, 70, 120)
		l.fill(x+8, 8, x+20, 12, 20, 70, 120)
		l.fill(x+8, 36, x+20, 40, 20, 70, 120)
		l.fill(x+18, 8, x+22, 40, 20, 70, 120)
	}
	l := newTestLine(300)
	l.fill(0, 0, 300, recHeight, 200, 215, 222) // light blue
	for x := 4; x+22 < 296; x += 36 {
		teal(l, x)
	}
	if c := cleanLine(l.px, l.w, recHeight); c.x0 != 0 || c.x1 != l.w || len(c.emblems) != 0 {
		t.Errorf("teal glyphs: kept %d–%d, emblems %v; want all kept, none painted", c.x0, c.x1, c.emblems)
	}
	e := newTestLine(300)
	e.fill(0, 0, 300, recHeight, 200, 215, 222)
	for _, x := range []int{4, 40, 76, 184, 220, 256} {
		teal(e, x)
	}
	e.fill(122, 10, 162, 38, 200, 30, 40) // red arms
	c := cleanLine(e.px, e.w, recHeight)
	painted := false
	for _, m := range c.emblems {
		painted = painted || m[0] <= 122 && m[1] >= 162
	}
	if !painted {
		t.Errorf("red arms 122–162 among teal glyphs: emblems %v, want them painted", c.emblems)
	}
}
