package anpr

import (
	"slices"
	"testing"
)

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
	frames := blanks(25)
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

// TestShapeSettlesTheOtherRow: a row of round glyphs alone (the OO under
// a Ukrainian two-row PB7193OO) has no figure to measure them against and
// is left as read; joined with the row above, the figures there tell the
// wide glyphs for the letter O, and a row of narrow ones (a real 00) is
// left as read.
func TestShapeSettlesTheOtherRow(t *testing.T) {
	c := lineCleanup{x0: 0, x1: 200, bg: [3]float32{235, 235, 235}}
	top := newTestLine(200)
	for _, x := range []int{10, 40, 70, 140} {
		top.ring(x, x+16) // figures, 0.5 as wide as high
	}
	tf := blanks(25)
	tf[2], tf[6], tf[9], tf[18] = frame{'2', 0.95, 0}, frame{'5', 0.95, 0}, frame{'7', 0.95, 0}, frame{'9', 0.95, 0}
	tlp := steps(tf...)
	ts := shapeEvidence(tlp, top.px, top.w, recHeight, c, 200, 25)
	if ts.figure != 0 || ts.measure == nil {
		t.Fatalf("the top row, with no O or 0 of its own, measured its figures before asked: %+v", ts)
	}
	if f := ts.figures(); f < 0.4 || f > 0.6 {
		t.Fatalf("the top row's figures: aspect %.2f, want 0.5", f)
	}
	o, zero := symOf('O'), symOf('0')
	for _, tc := range []struct {
		name  string
		width int
		wantO bool
	}{{"wide", 24, true}, {"narrow", 16, false}} {
		bottom := newTestLine(200)
		for _, mid := range []int{76, 124} { // under steps 9 and 15
			bottom.ring(mid-tc.width/2, mid+tc.width/2)
		}
		bf := blanks(25)
		bf[9], bf[15] = frame{'0', 0.99, 'O'}, frame{'0', 0.99, 'O'}
		blp := steps(bf...)
		alone := slices.Clone(blp)
		bs := shapeEvidence(blp, bottom.px, bottom.w, recHeight, c, 200, 25)
		if !slices.Equal(blp, alone) {
			t.Fatalf("%s: the row alone, with no figure, was changed", tc.name)
		}
		if bs.figure != 0 || len(bs.rounds) != 2 {
			t.Fatalf("%s: the row alone: %+v, want two round glyphs and no figure", tc.name, bs)
		}
		nt, nb := settleRows(tlp, blp, ts, bs)
		if !slices.Equal(blp, alone) || &nt[0] != &tlp[0] {
			t.Fatalf("%s: settleRows changed a row's own output", tc.name)
		}
		for _, k := range []int{9, 15} {
			if gotO := nb[k][o] > nb[k][zero]; gotO != tc.wantO {
				t.Errorf("%s glyph at step %d: p(O) %.2f, p(0) %.2f; want O %v", tc.name, k, exp32(nb[k][o]), exp32(nb[k][zero]), tc.wantO)
			}
		}
	}
	// a wide 0 beside a letter (a region's digits in a square plate's
	// second row, another size and font than the first's) is left to the
	// formats
	mixed := newTestLine(200)
	mixed.ring(64, 88)
	mixed.ring(112, 136)
	mf := blanks(25)
	mf[9], mf[15] = frame{'M', 0.99, 0}, frame{'0', 0.99, 'O'}
	mlp := steps(mf...)
	if ms := shapeEvidence(mlp, mixed.px, mixed.w, recHeight, c, 200, 25); ms.figures() != 0 || len(ms.rounds) != 0 {
		t.Errorf("a row of a letter and a 0: %+v, want nothing for the other row", ms)
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
	frames := blanks(25)
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
