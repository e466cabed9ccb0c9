package anpr

import "math"

// A detector box may hold much more than a plate's characters: the whole
// plate with its frame and the dealer's lettering above and below (US), or
// a band and a rim around small glyphs. Rectified to the recogniser's
// height, such a line gives the characters few rows, and the recogniser
// then drops a glyph or misses a detail (the 6 of 6MWF778 beside a frame's
// lettering, the tail of a Q). Where the glyphs fill less than looseLine of
// the line's height, the line is rectified again between rowMargin of a
// glyph height above and below them, and the reading of the two that the
// recogniser is surer of is kept (a tight line can also lose what the
// loose one showed, such as a band's edge cut by the first look). Only in
// stills: see recognizeQuad.
const (
	looseLine = 0.6  // share of the line's height the glyphs fill, below which a tight line is read too
	rowMargin = 0.38 // of the glyph height, kept above and below them
)

// tightLine is the part of l's quad between rowMargin above and below its
// glyphs, when they fill less than looseLine of its height.
func tightLine(l rectLine) (Quad, bool) {
	q, g := l.q, l.g
	if !l.glyphs {
		return q, false
	}
	gh := float64(g.bottom - g.top)
	if gh >= looseLine*recHeight {
		return q, false
	}
	t0 := max(0, float64(g.top)-rowMargin*gh) / recHeight
	t1 := min(recHeight, float64(g.bottom)+rowMargin*gh) / recHeight
	if t1-t0 > 0.9 {
		return q, false // nearly the line itself
	}
	return q.part(0, t0, 1, t1), true
}

// keepCuts carries what the cleanup c of a line found (its band cuts,
// emblems, marks and slivers) over to the cleanup tc of the same columns
// rectified f times as wide: a band found on the loose line, where its
// full height shows, stays cut on the tight one, where the country code
// printed in it may fill the rows kept.
func keepCuts(tc, c lineCleanup, f float64) lineCleanup {
	at := func(x int) int { return int(math.Round(float64(x) * f)) }
	tc.x0 = max(tc.x0, at(c.x0))
	tc.x1 = min(tc.x1, at(c.x1))
	for _, e := range c.emblems {
		tc.emblems = append(tc.emblems, [2]int{at(e[0]), at(e[1])})
	}
	for _, s := range c.slivers {
		tc.slivers = append(tc.slivers, [2]int{at(s[0]), at(s[1])})
	}
	// the tight rows are the glyphs' band: a mark's columns painted whole
	// there cover little more than the mark
	for _, m := range c.marks {
		tc.emblems = append(tc.emblems, [2]int{at(m.x0), at(m.x1)})
	}
	return tc
}
