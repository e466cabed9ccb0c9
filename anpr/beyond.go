package anpr

import "image"

// A detector box sometimes stops in the gap before a line's last (or
// first) glyph: no glyph touches the end, so cutEnds has nothing to widen,
// and the glyph is missing from the read (0659ZXS read 0659ZX, the S one
// gap beyond the box). A still's line is tried wider at each end by 1.3
// glyph heights (a glyph and the gap before it), and kept wider there
// when a glyph of the line's height, standing on its top line and
// baseline, appears in the added columns no further from the line's end
// glyph than glyphs stand apart (so not beyond a band, or the plate's
// edge).
const (
	beyondReach = 1.3 // glyph heights the crop is tried wider by
	beyondGap   = 0.6 // the widest gap between two glyphs of a line, in glyph heights
)

// glyphBeyond returns l's quad widened at the ends where a glyph stands
// beyond its line, and whether it found one.
func glyphBeyond(img *image.RGBA, l rectLine) (Quad, bool) {
	q, w, g := l.q, l.w, l.g
	if !l.glyphs {
		return q, false
	}
	first, last := w, 0
	for _, p := range g.glyphs {
		first, last = min(first, p.x0), max(last, p.x1)
	}
	reach := beyondReach * float64(g.height) / float64(w)
	gap := beyondGap * float64(g.height)
	var lf, rf float64
	for _, left := range []bool{true, false} {
		wq := widen(q, 0, reach)
		if left {
			wq = widen(q, reach, 0)
		}
		wl := rectifyLine(img, wq, true)
		if !wl.glyphs {
			continue
		}
		ww, wpx, ng := wl.w, wl.px, wl.g
		// the old line's columns in the wider one (lineOf caps the width)
		scale := float64(ww) / (float64(w) * (1 + reach))
		added := reach * float64(w) * scale
		for _, p := range ng.glyphs {
			if !ng.within(p) || !ng.inked(wpx, ww, p) {
				continue
			}
			var beyond bool
			if left {
				beyond = float64(p.x0) < added-2 && float64(first)*scale+added-float64(p.x1) <= gap*scale
			} else {
				start := float64(ww) - added
				beyond = float64(p.x1) > start+2 && float64(p.x0)-float64(last)*scale <= gap*scale
			}
			if beyond && left {
				lf = reach
			} else if beyond {
				rf = reach
			}
		}
	}
	if lf == 0 && rf == 0 {
		return q, false
	}
	return widen(q, lf, rf), true
}
