package anpr

import "testing"

// TestStemSettlesOneAndI: where the recogniser reads I, a glyph with a
// flag at the top of its stem and a base both ways (a 1) becomes a 1; a
// bare bar moves towards I beside it and is left as read on a line with no
// flagged 1; a serifed I moves towards I (see TestStemSerifsMakeAnI).
func TestStemSettlesOneAndI(t *testing.T) {
	l := newTestLine(200)
	l.fill(30, 8, 34, 40, 20, 20, 20) // a 1: stem, flag to the left, base
	l.fill(22, 8, 30, 13, 20, 20, 20)
	l.fill(24, 36, 40, 40, 20, 20, 20)
	l.fill(78, 8, 82, 40, 20, 20, 20)   // a bare I
	l.fill(118, 8, 122, 40, 20, 20, 20) // a serifed I
	l.fill(112, 8, 128, 12, 20, 20, 20)
	l.fill(112, 36, 128, 40, 20, 20, 20)
	l.ring(150, 166) // a figure beside them
	c := lineCleanup{x0: 0, x1: 200, bg: [3]float32{235, 235, 235}}
	frames := blanks(25)
	frames[3] = frame{'I', 0.9, '1'}  // columns 24–32
	frames[10] = frame{'I', 0.9, '1'} // 80–88
	frames[15] = frame{'I', 0.9, '1'} // 120–128
	frames[19] = frame{'0', 0.95, 0}
	lp := steps(frames...)
	bare, serifed := lp[10], lp[15]
	shapeEvidence(lp, l.px, l.w, recHeight, c, 200, 25)
	if k, _ := top(lp[3]); k != symOf('1') {
		t.Errorf("a glyph with a flag read as %c, want 1", symbols[k])
	}
	// beside a 1 that shows its flag, a bar is an I
	ell := symOf('I')
	if lp[10][ell] <= bare[ell] {
		t.Error("a bare bar beside a flagged 1 was not moved towards I")
	}
	if lp[15][ell] <= serifed[ell] {
		t.Error("a serifed I beside a flagged 1 was not moved towards I")
	}
	// with no flagged 1 on the line, a bar tells nothing: it may be a 1
	// whose flag blur took
	nf := newTestLine(200)
	nf.fill(78, 8, 82, 40, 20, 20, 20)
	nf.ring(150, 166)
	lp = steps(frames...)
	bare = lp[10]
	shapeEvidence(lp, nf.px, nf.w, recHeight, c, 200, 25)
	if lp[10] != bare {
		t.Error("a bare bar with no flagged 1 beside it was moved")
	}
	// The same 1 as a faint, grey glyph on a plate of little contrast is
	// still measured: ink is told from the plate by the line's own range.
	g := newTestLine(200)
	g.fill(30, 8, 34, 40, 150, 150, 150)
	g.fill(22, 8, 30, 13, 150, 150, 150)
	for _, x := range []int{60, 100, 140} { // grey figures beside it
		g.fill(x, 8, x+16, 40, 150, 150, 150)
		g.fill(x+4, 12, x+12, 36, 235, 235, 235)
	}
	frames[10], frames[15] = frame{'_', 0.95, 0}, frame{'_', 0.95, 0}
	lp = steps(frames...)
	shapeEvidence(lp, g.px, g.w, recHeight, lineCleanup{x0: 0, x1: 200, bg: [3]float32{235, 235, 235}}, 200, 25)
	if k, _ := top(lp[3]); k != symOf('1') {
		t.Errorf("a grey glyph with a flag read as %c, want 1", symbols[k])
	}
}

// TestStemSerifsMakeAnI: a glyph read as 1 whose top and foot both reach
// out both ways (a serifed I, as BY, KZ and TR plates print it) becomes an
// I with no flagged 1 beside it; a 1 with a flag and a base both ways, and
// a bar whose stem blur widened by a pixel all round, do not.
func TestStemSerifsMakeAnI(t *testing.T) {
	l := newTestLine(200)
	l.fill(38, 8, 42, 40, 20, 20, 20) // a serifed I under step 5
	l.fill(33, 8, 47, 12, 20, 20, 20)
	l.fill(33, 36, 47, 40, 20, 20, 20)
	l.ring(170, 186) // a figure beside it
	c := lineCleanup{x0: 0, x1: 200, bg: [3]float32{235, 235, 235}}
	frames := blanks(25)
	frames[5] = frame{'1', 0.9, 'I'} // columns 40–48
	frames[22] = frame{'0', 0.95, 0}
	lp := steps(frames...)
	shapeEvidence(lp, l.px, l.w, recHeight, c, 200, 25)
	if k, _ := top(lp[5]); k != symOf('I') {
		t.Errorf("a serifed I read as %c, want I", symbols[k])
	}
	one := newTestLine(200)
	one.fill(86, 8, 90, 40, 20, 20, 20) // a 1 under step 11: flag, base both ways
	one.fill(78, 8, 86, 13, 20, 20, 20)
	one.fill(80, 36, 96, 40, 20, 20, 20)
	one.ring(170, 186)
	frames[5] = frame{'_', 0.95, 0}
	frames[11] = frame{'I', 0.9, '1'} // 88–96
	lp = steps(frames...)
	shapeEvidence(lp, one.px, one.w, recHeight, c, 200, 25)
	if k, _ := top(lp[11]); k != symOf('1') {
		t.Errorf("a 1 with a flag and a base read as %c, want 1", symbols[k])
	}
	// (a bar beside a flagged 1 is an I: see TestStemSettlesOneAndI)
	b := newTestLine(200)
	b.fill(134, 8, 138, 40, 20, 20, 20) // a bar under step 17, blurred
	b.fill(133, 8, 134, 40, 140, 140, 140)
	b.fill(138, 8, 139, 40, 140, 140, 140)
	b.fill(133, 7, 139, 8, 140, 140, 140)
	b.fill(133, 40, 139, 41, 140, 140, 140)
	b.ring(170, 186)
	frames[11] = frame{'_', 0.95, 0}
	frames[17] = frame{'1', 0.9, 'I'} // 136–144
	lp = steps(frames...)
	bar := lp[17]
	shapeEvidence(lp, b.px, b.w, recHeight, c, 200, 25)
	if lp[17] != bar {
		t.Error("a blurred bar was moved")
	}
}
