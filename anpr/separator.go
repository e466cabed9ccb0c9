package anpr

import "slices"

// Many plates set a small mark between two groups of characters: a dash,
// a dot, a state's emblem (a Florida orange, the shape of Texas), seen at
// a distance as a blob half a character high. The recogniser reads it as
// a character (SH0R7X read SHOLR7X). Such a mark is ink between two
// glyphs, floating inside their band (a glyph broken by dirt or blur
// leaves pieces that reach its top line or baseline, or stack up to its
// height), in a gap wider than the glyphs' usual spacing; the line is
// read with it painted over as well, and that reading kept only when the
// recogniser is surer of it (see recognizeQuad).
const (
	sepHeight = 0.7 // the mark's ink is at most this share of the glyph height
	sepWide   = 1.0 // and at most this many glyph heights wide
	sepFloat  = 0.1 // glyph heights it keeps clear of their top line and baseline
	sepGap    = 1.3 // the gap it sits in, beyond its width, of the glyphs' median spacing
)

// separators returns the spans of a rectified line to paint over as marks
// between groups of characters.
func separators(l rectLine) [][2]int {
	if !l.glyphs {
		return nil
	}
	g := l.g
	gs := slices.SortedFunc(slices.Values(g.glyphs), func(a, b inkPart) int { return a.x0 - b.x0 })
	var gaps []int
	for i := 1; i < len(gs); i++ {
		gaps = append(gaps, gs[i].x0-gs[i-1].x1)
	}
	slices.Sort(gaps)
	spacing := gaps[len(gaps)/2]
	gh := float64(g.height)
	clear := int(sepFloat * gh)
	var out [][2]int
	for _, p := range g.parts {
		if float64(p.height()) > sepHeight*gh || float64(p.x1-p.x0) > sepWide*gh {
			continue
		}
		// the ink in the mark's columns and the glyphs' band, whatever
		// part it belongs to
		m := p
		for _, q := range g.parts {
			if q.x0 < p.x1 && q.x1 > p.x0 && q.y0 < g.bottom && q.y1 > g.top {
				m.x0, m.x1 = min(m.x0, q.x0), max(m.x1, q.x1)
				m.y0, m.y1 = min(m.y0, q.y0), max(m.y1, q.y1)
			}
		}
		if float64(m.height()) > sepHeight*gh || m.y0 < g.top+clear || m.y1 > g.bottom-clear {
			continue
		}
		left, right := -1, -1
		for i, q := range gs {
			if q.x1 <= m.x0 {
				left = i
			} else if q.x0 >= m.x1 && right < 0 {
				right = i
			}
		}
		if left < 0 || right < 0 || right != left+1 {
			continue // at an end, or over a glyph
		}
		if gap := gs[right].x0 - gs[left].x1; float64(gap) < sepGap*float64(spacing)+float64(m.x1-m.x0) {
			continue
		}
		if len(out) == 0 || out[len(out)-1] != [2]int{m.x0, m.x1} {
			out = append(out, [2]int{m.x0, m.x1})
		}
	}
	return out
}
