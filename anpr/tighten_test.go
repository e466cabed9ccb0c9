package anpr

import (
	"math"
	"testing"
)

// TestTightLineKeepsTheGlyphRows: a line whose glyphs fill a quarter of its
// height (a plate in its frame, lettering above and below) is read again
// between a margin above and below them; one whose glyphs fill most of it
// is not.
func TestTightLineKeepsTheGlyphRows(t *testing.T) {
	l := newTestLine(200)
	for x := 20; x < 180; x += 30 {
		l.fill(x, 18, x+10, 30, 20, 20, 20) // glyphs 12 rows high
	}
	c := lineCleanup{x0: 0, x1: 200, bg: [3]float32{235, 235, 235}}
	q := Quad{{100, 200}, {300, 200}, {300, 248}, {100, 248}}
	tq, ok := tightLine(lineWith(q, l.w, l.px, c))
	if !ok {
		t.Fatal("glyphs filling a quarter of the line: no tight line")
	}
	top, bottom := 200+18-rowMargin*12, 200+30+rowMargin*12
	for i, want := range []float64{top, top, bottom, bottom} {
		if math.Abs(tq[i].Y-want) > 0.5 || math.Abs(tq[i].X-q[i].X) > 0.5 {
			t.Fatalf("tight line %v, want rows %.1f–%.1f of the same columns", tq, top, bottom)
		}
	}
	full := newTestLine(200)
	for x := 20; x < 180; x += 30 {
		full.glyph(x) // 32 of 48 rows
	}
	if tq, ok := tightLine(lineWith(q, full.w, full.px, c)); ok {
		t.Errorf("glyphs filling two thirds of the line: tight line %v", tq)
	}
}

// TestKeepCutsCarriesTheBand: what the loose line's cleanup found stays
// found on the tight line, at the same place in its wider columns.
func TestKeepCutsCarriesTheBand(t *testing.T) {
	loose := lineCleanup{x0: 16, x1: 180, emblems: [][2]int{{56, 76}}, slivers: [][2]int{{196, 200}}}
	tight := lineCleanup{x0: 0, x1: 300, bg: [3]float32{1, 2, 3}}
	got := keepCuts(tight, loose, 1.5)
	if got.x0 != 24 || got.x1 != 270 || len(got.emblems) != 1 || got.emblems[0] != [2]int{84, 114} ||
		len(got.slivers) != 1 || got.slivers[0] != [2]int{294, 300} || got.bg != tight.bg {
		t.Errorf("kept %+v", got)
	}
	// A mark painted in its box on the loose line is painted in its
	// columns on the tight one, whose rows are the glyphs' band.
	loose.marks = []markBox{{x0: 100, x1: 110, y0: 20, y1: 30}}
	if got := keepCuts(tight, loose, 1.5); len(got.emblems) != 2 || got.emblems[1] != [2]int{150, 165} || len(got.marks) != 0 {
		t.Errorf("mark at 100–110 carried as %+v, want the columns 150–165", got)
	}
	loose.marks = nil
	// A cut the tight line found further in stays.
	tight.x0 = 40
	if got := keepCuts(tight, loose, 1.5); got.x0 != 40 {
		t.Errorf("x0 %d, want the tight line's own cut 40", got.x0)
	}
}

// TestStrayEndsDropsAFlagsStripes: a flag's three stripes before the
// number, read as a leading E at 0.7, are no glyph of the line's height and
// the E goes; a sure E there, or an E over a glyph, stays.
func TestStrayEndsDropsAFlagsStripes(t *testing.T) {
	l := newTestLine(200)
	for _, y := range []int{10, 22, 34} {
		l.fill(20, y, 40, y+4, 20, 20, 20) // stripes
	}
	for x := 60; x < 180; x += 30 {
		l.glyph(x)
	}
	c := lineCleanup{x0: 0, x1: 200, bg: [3]float32{235, 235, 235}}
	read := func(first float64, line *testLine) string {
		frames := blanks(25)
		frames[3] = frame{'E', first, '_'} // column 28: the stripes; the rest is the separator's
		frames[9] = frame{'4', 0.95, 0}    // column 76
		frames[13] = frame{'5', 0.95, 0}   // 108
		frames[17] = frame{'6', 0.95, 0}   // 140
		frames[20] = frame{'7', 0.95, 0}   // 164
		lp := steps(frames...)
		strayEnds(lp, line.px, line.w, recHeight, c, 200, 25)
		return greedy(lp).text
	}
	if got := read(0.7, l); got != "4567" {
		t.Errorf("stripes read E at 0.7: %s, want 4567", got)
	}
	if got := read(0.99, l); got != "E4567" {
		t.Errorf("stripes read E at 0.99: %s, want the sure E kept", got)
	}
	g := newTestLine(200)
	g.glyph(20)
	for x := 60; x < 180; x += 30 {
		g.glyph(x)
	}
	if got := read(0.7, g); got != "E4567" {
		t.Errorf("a glyph read E at 0.7: %s, want it kept", got)
	}
}

// TestStrayEndsDropsTheFramesEdge: a plate frame's edge a step past the
// last glyph, read as a 1 at 0.7, stands on no glyph of its own (the one
// within reach is the 7's) and the 1 goes; a sure 1 there stays, and so
// does a 1 over a bar of its own.
func TestStrayEndsDropsTheFramesEdge(t *testing.T) {
	edge := fourGlyphs()
	edge.fill(177, 2, 180, 46, 20, 20, 20) // the frame's edge, taller than the glyphs
	c := lineCleanup{x0: 0, x1: 200, bg: [3]float32{235, 235, 235}}
	read := func(line *testLine, at int, p float64) string {
		frames := fourFigures()
		frames[at] = frame{'1', p, '_'}
		lp := steps(frames...)
		strayEnds(lp, line.px, line.w, recHeight, c, 200, 25)
		return greedy(lp).text
	}
	if got := read(edge, 21, 0.7); got != "4567" { // column 172
		t.Errorf("the frame's edge read 1 at 0.7: %s, want 4567", got)
	}
	if got := read(edge, 21, 0.99); got != "45671" {
		t.Errorf("the frame's edge read 1 at 0.99: %s, want the sure 1 kept", got)
	}
	one := fourGlyphs()
	one.fill(178, 8, 183, 40, 20, 20, 20)          // a 1's bar
	if got := read(one, 22, 0.7); got != "45671" { // column 180
		t.Errorf("a 1 over its own bar read at 0.7: %s, want it kept", got)
	}
}

// TestStrayEndsDropsABandsEdge: a band's blue edge at the start of the
// line, read as a 1 at 0.9, is ink of another colour than the glyphs' and
// the 1 goes; a dark bar there, of the glyphs' own ink, is discounted as
// any stray end and a 1 read at 0.9 over it stays.
func TestStrayEndsDropsABandsEdge(t *testing.T) {
	c := lineCleanup{x0: 0, x1: 200, bg: [3]float32{235, 235, 235}}
	read := func(r, g, b float32) string {
		l := fourGlyphs()
		l.fill(0, 4, 6, 44, r, g, b) // the edge, taller than the glyphs
		frames := fourFigures()
		frames[0] = frame{'1', 0.9, '_'} // columns 0–8
		lp := steps(frames...)
		strayEnds(lp, l.px, l.w, recHeight, c, 200, 25)
		return greedy(lp).text
	}
	if got := read(30, 60, 200); got != "4567" {
		t.Errorf("a band's blue edge read 1 at 0.9: %s, want 4567", got)
	}
	if got := read(20, 20, 20); got != "14567" {
		t.Errorf("a dark bar read 1 at 0.9: %s, want it kept", got)
	}
}

// fourGlyphs is a 200-column line with glyphs at columns 60–80, 90–110,
// 120–140 and 150–170.
func fourGlyphs() *testLine {
	l := newTestLine(200)
	for x := 60; x < 180; x += 30 {
		l.glyph(x)
	}
	return l
}

// fourFigures is 25 steps reading 4567 over fourGlyphs' glyphs.
func fourFigures() []frame {
	f := blanks(25)
	f[8] = frame{'4', 0.95, 0}  // column 68
	f[12] = frame{'5', 0.95, 0} // 100
	f[16] = frame{'6', 0.95, 0} // 132
	f[19] = frame{'7', 0.95, 0} // 156
	return f
}
