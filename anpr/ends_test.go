package anpr

import (
	"image"
	"image/color"
	"image/draw"
	"math"
	"sort"
	"testing"
)

// TestCutEndsWidensWhereAGlyphIsCut: a line whose first glyph the box cut
// (its ink reaches column 0) is widened on the left by about a glyph, and
// only there; a line with margins on both sides, one whose left end was cut
// off as a band, and one too dark to tell ink are left as they are.
func TestCutEndsWidensWhereAGlyphIsCut(t *testing.T) {
	bg := [3]float32{235, 235, 235}
	cut := newTestLine(200)
	cut.fill(0, 8, 10, 40, 20, 20, 20) // the right half of a glyph
	for x := 20; x < 170; x += 30 {
		cut.glyph(x)
	}
	l, r := cutEnds(lineWith(Quad{}, cut.w, cut.px, lineCleanup{x0: 0, x1: 200, bg: bg}))
	if want := reachGlyph * 32; math.Abs(l-want) > 1e-9 || r != 0 {
		t.Errorf("cut first glyph: widen left %.1f right %.1f, want %.1f and 0", l, r, want)
	}
	if l, r := cutEnds(lineWith(Quad{}, cut.w, cut.px, lineCleanup{x0: 4, x1: 200, bg: bg})); l != 0 || r != 0 {
		t.Errorf("left end cut off as a band: widen %.1f %.1f, want none", l, r)
	}
	if l, r := cutEnds(lineWith(Quad{}, cut.w, cut.px, lineCleanup{x0: 0, x1: 200, bg: [3]float32{40, 40, 40}})); l != 0 || r != 0 {
		t.Errorf("dark line: widen %.1f %.1f, want none", l, r)
	}

	whole := newTestLine(200)
	for x := 10; x < 170; x += 30 {
		whole.glyph(x)
	}
	if l, r := cutEnds(lineWith(Quad{}, whole.w, whole.px, lineCleanup{x0: 0, x1: 200, bg: bg})); l != 0 || r != 0 {
		t.Errorf("glyphs inside their margins: widen %.1f %.1f, want none", l, r)
	}

	last := newTestLine(200)
	for x := 10; x < 170; x += 30 {
		last.glyph(x)
	}
	last.fill(186, 8, 200, 40, 20, 20, 20)
	if l, r := cutEnds(lineWith(Quad{}, last.w, last.px, lineCleanup{x0: 0, x1: 200, bg: bg})); l != 0 || r == 0 {
		t.Errorf("cut last glyph: widen %.1f %.1f, want the right only", l, r)
	}
}

// TestCutEndsWidensWhereAGlyphNearlyTouches: a glyph whose ink begins a
// few columns from an end of the line (within edgeRoom of the glyph
// height: the box hugged it, and may have cut a glyph beyond it) widens
// that end as a cut glyph does; one a third of its height in does not.
func TestCutEndsWidensWhereAGlyphNearlyTouches(t *testing.T) {
	bg := [3]float32{235, 235, 235}
	near := newTestLine(200)
	for x := 3; x < 140; x += 30 {
		near.glyph(x)
	}
	near.glyph(200 - 22 - 4) // its right side ends 4 columns before the end
	l, r := cutEnds(lineWith(Quad{}, near.w, near.px, lineCleanup{x0: 0, x1: 200, bg: bg}))
	if want := reachGlyph * 32; math.Abs(l-want) > 1e-9 || math.Abs(r-want) > 1e-9 {
		t.Errorf("glyphs 3 and 4 columns from the ends: widen %.1f %.1f, want %.1f both", l, r, want)
	}
	apart := newTestLine(200)
	for x := 11; x < 140; x += 30 {
		apart.glyph(x)
	}
	apart.glyph(200 - 22 - 11)
	if l, r := cutEnds(lineWith(Quad{}, apart.w, apart.px, lineCleanup{x0: 0, x1: 200, bg: bg})); l != 0 || r != 0 {
		t.Errorf("glyphs 11 columns from the ends: widen %.1f %.1f, want none", l, r)
	}
}

// TestWidenMovesTheSidesAlongTheRows: widening a slanted quad moves its
// left and right sides along its top and bottom edges, by the fractions
// given of its width.
func TestWidenMovesTheSidesAlongTheRows(t *testing.T) {
	q := Quad{{100, 50}, {200, 60}, {200, 90}, {100, 80}}
	w := widen(q, 0.1, 0.2)
	want := Quad{{90, 49}, {220, 62}, {220, 92}, {90, 79}}
	for i := range w {
		if math.Abs(w[i].X-want[i].X) > 1e-9 || math.Abs(w[i].Y-want[i].Y) > 1e-9 {
			t.Fatalf("widen = %v, want %v", w, want)
		}
	}
}

// TestCutEndsLeavesWhatIsNoGlyph: a dark stroke at the left end that is
// blue (the edge of an EU band the box reached into), or that stands lower
// than the line's glyphs (a rim), is no cut glyph.
func TestCutEndsLeavesWhatIsNoGlyph(t *testing.T) {
	for _, tc := range []struct {
		name       string
		y0, x1, y1 int
		r, g, b    float32
	}{
		{"band's edge", 8, 10, 40, 10, 40, 150},
		{"stroke off the line", 16, 3, 46, 20, 20, 20},
	} {
		l := newTestLine(200)
		l.fill(0, tc.y0, tc.x1, tc.y1, tc.r, tc.g, tc.b)
		for x := 20; x < 170; x += 30 {
			l.glyph(x)
		}
		if l, r := cutEnds(lineWith(Quad{}, l.w, l.px, lineCleanup{x0: 0, x1: 200, bg: [3]float32{235, 235, 235}})); l != 0 || r != 0 {
			t.Errorf("%s: widen %.1f %.1f, want none", tc.name, l, r)
		}
	}
}

// TestCutEndsTakesAColouredGlyph: on a plate that prints its characters
// in colour (Arizona's teal), a stroke at the end of that colour is a cut
// glyph; a blue one beside black glyphs is still a band's edge (above).
func TestCutEndsTakesAColouredGlyph(t *testing.T) {
	l := newTestLine(200)
	l.fill(0, 0, 200, recHeight, 200, 215, 222)
	l.fill(0, 8, 10, 40, 20, 70, 120) // the cut glyph's stroke
	for x := 20; x < 170; x += 30 {
		l.fill(x, 8, x+8, 40, 20, 70, 120)
		l.fill(x+8, 8, x+20, 12, 20, 70, 120)
		l.fill(x+8, 36, x+20, 40, 20, 70, 120)
		l.fill(x+18, 8, x+22, 40, 20, 70, 120)
	}
	if left, _ := cutEnds(lineWith(Quad{}, l.w, l.px, lineCleanup{x0: 0, x1: 200, bg: [3]float32{200, 215, 222}})); left == 0 {
		t.Error("a teal stroke at the end of a line of teal glyphs: not widened")
	}
}

// TestRecognizeQuadWidensPastTwoCutGlyphs: a box that begins in the middle
// of a plate's third glyph is widened glyph by glyph until no glyph
// touches its end, and the plate is read whole.
func TestRecognizeQuadWidensPastTwoCutGlyphs(t *testing.T) {
	r := newTestRecognizer(t, Options{Countries: []string{"RU"}})
	s, err := NewSynthesizer(5)
	if err != nil {
		t.Fatal(err)
	}
	const text = "A123BC77"
	plate := testPlate(t, s, "ru", text)
	img := image.NewRGBA(image.Rect(0, 0, plate.Rect.Dx()+200, plate.Rect.Dy()+200))
	draw.Draw(img, img.Rect, image.NewUniform(color.RGBA{90, 90, 90, 255}), image.Point{}, draw.Src)
	at := plate.Rect.Add(image.Pt(100, 100))
	draw.Draw(img, at, plate, plate.Rect.Min, draw.Src)
	whole := quadOf(at)
	if rd := readQuad(t, r, img, whole); rd.Text != text {
		t.Fatalf("the whole plate reads %q", rd.Text)
	}
	// the glyphs of the whole line, to cut the box in the third (the 2):
	// its left half, the 1 and the A are outside it
	w, px, c := lineOf(img, whole, true)
	var glyphs []inkPart
	for _, p := range inkParts(px, w, recHeight, c.x0, c.x1, glyphDark*lumAt(c.bg[:], 0)) {
		if p.height() >= recHeight/2 {
			glyphs = append(glyphs, p)
		}
	}
	sort.Slice(glyphs, func(i, j int) bool { return glyphs[i].x0 < glyphs[j].x0 })
	if len(glyphs) < 6 {
		t.Fatalf("glyphs of the plate: %v", glyphs)
	}
	// a box as the detector draws it: around the text, not the plate
	sy := float64(at.Dy()) / recHeight
	cut := image.Rect(at.Min.X, at.Min.Y+int(float64(glyphs[2].y0)*sy)-2, at.Max.X, at.Min.Y+int(float64(glyphs[2].y1)*sy)+2)
	cut.Min.X += int(float64(glyphs[2].x0+glyphs[2].x1) / 2 * float64(at.Dx()) / float64(w))
	if rd := readQuad(t, r, img, padQuad(quadOf(cut))); rd.Text != text {
		t.Fatalf("the box from the middle of the 2 reads %q, want %q", rd.Text, text)
	}
}

func quadOf(r image.Rectangle) Quad {
	x0, y0, x1, y1 := float64(r.Min.X), float64(r.Min.Y), float64(r.Max.X), float64(r.Max.Y)
	return Quad{{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}}
}

func readQuad(t *testing.T, r *Recognizer, img *image.RGBA, q Quad) Read {
	t.Helper()
	lp, look, _, err := r.recognizeQuad(img, q, true)
	if err != nil {
		t.Fatal(err)
	}
	rd, _ := r.decodeRead(lp, q, 1, look)
	return rd
}

// TestGlyphsOfADimPlate: on a plate lit dimly (at night) the glyphs' ink
// stays above glyphDark of the background, and they are found with a
// threshold halfway between the ink and the plate (in a still; a frame
// keeps glyphDark); a plate of ordinary
// contrast keeps the usual threshold, and a blank dim plate shows no
// glyphs.
func TestGlyphsOfADimPlate(t *testing.T) {
	plate := func(bg, ink float32, n int) *testLine {
		l := newTestLine(200)
		l.fill(0, 0, 200, recHeight, bg, bg, bg)
		for i := range n {
			x := 12 + 30*i
			l.fill(x, 8, x+6, 40, ink, ink, ink)
			l.fill(x+6, 8, x+20, 12, ink, ink, ink)
			l.fill(x+6, 36, x+20, 40, ink, ink, ink)
		}
		return l
	}
	c := func(bg float32) lineCleanup {
		return lineCleanup{x0: 0, x1: 200, bg: [3]float32{bg, bg, bg}, still: true}
	}
	l := plate(80, 42, 6)
	g, ok := glyphsOf(l.px, l.w, recHeight, c(80))
	if !ok || len(g.glyphs) != 6 || g.dark <= 42 || g.dark >= 80 {
		t.Errorf("dim plate (80, ink 42): %v, %d glyphs, threshold %.0f; want 6 between ink and plate", ok, len(g.glyphs), g.dark)
	}
	l = plate(235, 20, 6)
	if g, ok := glyphsOf(l.px, l.w, recHeight, c(235)); !ok || len(g.glyphs) != 6 || g.dark != glyphDark*235 {
		t.Errorf("plate of ordinary contrast: %v, %d glyphs, threshold %.1f; want 6 at %.1f", ok, len(g.glyphs), g.dark, glyphDark*235)
	}
	l = plate(80, 42, 6)
	frame := c(80)
	frame.still = false
	if g, ok := glyphsOf(l.px, l.w, recHeight, frame); ok {
		t.Errorf("dim plate in a stream's frame: %d glyphs at %.0f; frames keep glyphDark", len(g.glyphs), g.dark)
	}
	l = plate(80, 42, 0)
	if g, ok := glyphsOf(l.px, l.w, recHeight, c(80)); ok {
		t.Errorf("blank dim plate: %d glyphs", len(g.glyphs))
	}
}
