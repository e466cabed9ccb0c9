package anpr

import "testing"

// ring paints an outlined glyph (an O, a 0 or another figure) over columns
// [x0, x1) and rows 8–40.
func (l *testLine) ring(x0, x1 int) {
	l.fill(x0, 8, x0+4, 40, 20, 20, 20)
	l.fill(x1-4, 8, x1, 40, 20, 20, 20)
	l.fill(x0, 8, x1, 12, 20, 20, 20)
	l.fill(x0, 36, x1, 40, 20, 20, 20)
}

// TestShapeSettlesOAndZero: where the recogniser reads 0, a glyph as wide
// as a letter O becomes an O (or the Q it rated next), whatever the
// recogniser's habit; one as narrow as the line's figures (a 0, or the O of
// a monospaced font), a glyph read as Q, and a line with no figure to
// measure against, are left as read.
func TestShapeSettlesOAndZero(t *testing.T) {
	l := newTestLine(200)
	for _, x := range []int{10, 40, 70, 140} {
		l.ring(x, x+16) // figures, 0.5 as wide as high
	}
	l.ring(100, 124) // a letter O, 0.75
	c := lineCleanup{x0: 0, x1: 200, bg: [3]float32{235, 235, 235}}
	frames := make([]frame, 25)
	for i := range frames {
		frames[i] = frame{'_', 0.95, 0}
	}
	frames[2] = frame{'2', 0.95, 0}
	frames[6] = frame{'5', 0.95, 0}
	frames[9] = frame{'7', 0.95, 0}
	frames[14] = frame{'0', 0.99, 'O'}
	frames[18] = frame{'0', 0.99, 'O'}
	lp := steps(frames...)
	narrow := lp[18]
	shapeEvidence(lp, l.px, l.w, recHeight, c, 200, 25)
	o, zero := symOf('O'), symOf('0')
	if lp[14][o] <= lp[14][zero] {
		t.Errorf("wide glyph: p(O) %.2f, p(0) %.2f; want O", exp32(lp[14][o]), exp32(lp[14][zero]))
	}
	if lp[18] != narrow {
		t.Errorf("narrow glyph: p(O) %.2f, p(0) %.2f; want it left as read", exp32(lp[18][o]), exp32(lp[18][zero]))
	}
	// The width tells a round letter from the digit, not O from Q: a wide
	// glyph read as 0 with Q second becomes the Q, and a glyph read as Q
	// keeps its reading.
	frames[14] = frame{'0', 0.6, 'Q'}
	frames[18] = frame{'Q', 0.9, '0'}
	lp = steps(frames...)
	q18 := lp[18]
	shapeEvidence(lp, l.px, l.w, recHeight, c, 200, 25)
	if k, _ := top(lp[14]); k != symOf('Q') {
		t.Errorf("wide glyph read as 0 or Q: %c", symbols[k])
	}
	if lp[18] != q18 {
		t.Error("a glyph read as Q was moved towards 0")
	}
	// Without a figure read surely, there is nothing to measure against.
	frames[14], frames[18] = frame{'0', 0.99, 'O'}, frame{'0', 0.99, 'O'}
	frames[2], frames[6], frames[9] = frame{'2', 0.5, 'Z'}, frame{'_', 0.95, 0}, frame{'_', 0.95, 0}
	lp = steps(frames...)
	before := lp[14]
	shapeEvidence(lp, l.px, l.w, recHeight, c, 200, 25)
	if lp[14] != before {
		t.Error("the O/0 split changed with no figure to measure against")
	}
}

// TestShapeMeasuresALetterAsWideAsHigh: Belarus's and Russia's letter O is
// as wide as high, wider than the parts kept as glyphs elsewhere (two
// figures run together); read as 0, it still becomes the letter.
func TestShapeMeasuresALetterAsWideAsHigh(t *testing.T) {
	l := newTestLine(200)
	for _, x := range []int{60, 90, 120, 150} {
		l.ring(x, x+18) // figures
	}
	l.ring(10, 46) // a letter O, 36 wide and 32 high
	c := lineCleanup{x0: 0, x1: 200, bg: [3]float32{235, 235, 235}}
	frames := make([]frame, 25)
	for i := range frames {
		frames[i] = frame{'_', 0.95, 0}
	}
	frames[3] = frame{'0', 0.99, 'O'}
	frames[8] = frame{'7', 0.95, 0}
	frames[11] = frame{'5', 0.95, 0}
	frames[15] = frame{'0', 0.99, 'O'}
	frames[19] = frame{'8', 0.95, 0}
	lp := steps(frames...)
	figure := lp[15]
	shapeEvidence(lp, l.px, l.w, recHeight, c, 200, 25)
	if o, zero := symOf('O'), symOf('0'); lp[3][o] <= lp[3][zero] {
		t.Errorf("a glyph as wide as high: p(O) %.2f, p(0) %.2f; want O", exp32(lp[3][o]), exp32(lp[3][zero]))
	}
	if lp[15] != figure {
		t.Error("a figure's 0 was moved")
	}
}

// TestSplitRuns: two glyphs that blur ran together are cut at the gap
// between them; one wide glyph, or a ring, is not.
func TestSplitRuns(t *testing.T) {
	l := newTestLine(140)
	l.ring(10, 26)
	l.ring(27, 43)
	l.fill(26, 20, 27, 24, 20, 20, 20) // a bridge of blur
	l.ring(60, 80)                     // an M-wide glyph, 0.63
	parts := splitRuns(inkParts(l.px, l.w, recHeight, 0, 120, 100), l.px, l.w, recHeight, 100)
	if len(parts) != 3 {
		t.Fatalf("parts %v, want three glyphs", parts)
	}
}
