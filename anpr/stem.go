package anpr

import "math"

// The recogniser has no reliable way to tell the letter I from the digit 1:
// both are a bar, and its split between them follows habit. Plate fonts
// tell them apart by the top of the glyph: the 1 carries a flag to the left
// of its stem (DIN 1451, FE-Schrift, GOST, the US states' fonts), which is
// not matched at its foot (bare, or a base reaching both ways), while an I
// is the same at top and foot (a bare bar, or serifs both ways at both
// ends). Where a step reads I or 1, the glyph under it is measured so, and
// a flag moves the step's belief to the digit, serifs to the letter; a
// bare bar, to the letter only beside a 1 that shows its flag.
const (
	stemMass  = 0.3  // p(I) + p(1) at a step for its glyph to be measured
	stemRows  = 0.7  // share of a glyph's rows a stem column has ink in
	flagSplit = 0.12 // of the glyph's height: a top leaning this much more to the left than the foot is a 1's flag
	flagScale = 0.08 // lean beyond flagSplit that makes full evidence
	flagOdds  = 3.0  // nats towards 1 for a full flag
	// of the glyph's height: serifs reaching this far out both ways at
	// top and foot make an I (a blurred stem's edge reaches a pixel)
	serifReach = 0.1
)

// stemLean is how much further a glyph's top than its foot reaches left of
// its stem, against the right (in units of its height), whether its top
// and foot both reach out both ways (serifs: an I's, never a 1's, whose
// top reaches left only), and whether the glyph has a stem (a column
// inked in most of its rows) to measure from. A 1's flag makes lean
// positive; an I, bare or with serifs both ways, leaves it near zero.
func stemLean(px []float32, w int, g inkPart, dark float32) (lean float64, serifs, ok bool) {
	gh := g.height()
	if gh < 8 || g.x1-g.x0 < 2 {
		return 0, false, false
	}
	ink := func(x, y int) bool {
		i := 3 * (y*w + x)
		return lumAt(px, i) < dark
	}
	sl, sr := -1, -1
	for x := g.x0; x < g.x1; x++ {
		n := 0
		for y := g.y0; y < g.y1; y++ {
			if ink(x, y) {
				n++
			}
		}
		if float64(n) >= stemRows*float64(gh) {
			if sl < 0 {
				sl = x
			}
			sr = x
		}
	}
	if sl < 0 {
		return 0, false, false
	}
	// reach is how far ink reaches beyond the stem on either side in rows
	// [y0, y1).
	reach := func(y0, y1 int) (l, r int) {
		for y := y0; y < y1; y++ {
			for x := g.x0; x < sl; x++ {
				if ink(x, y) {
					l = max(l, sl-x)
					break
				}
			}
			for x := g.x1 - 1; x > sr; x-- {
				if ink(x, y) {
					r = max(r, x-sr)
					break
				}
			}
		}
		return l, r
	}
	band := max(1, gh/3)
	tl, tr := reach(g.y0, g.y0+band)
	fl, fr := reach(g.y1-band, g.y1)
	serif := serifReach * float64(gh)
	serifs = float64(min(tl, tr, fl, fr)) >= serif
	return float64((tl-tr)-(fl-fr)) / float64(gh), serifs, true
}

// stemEvidence moves, at the steps of lp (as in shapeEvidence) read I or 1,
// the split between them towards the digit where the glyph under the step
// carries a flag, and towards the letter where it is a bar on a line whose
// 1s show their flags.
func stemEvidence(lp logProbs, px []float32, w, h int, c lineCleanup, tw, steps int, bgLum float32) {
	one, ell := symOf('1'), symOf('I')
	read := false
	for t := range lp {
		if exp32(lp[t][one])+exp32(lp[t][ell]) >= stemMass {
			read = true
			break
		}
	}
	if !read || c.x1-c.x0 < h {
		return
	}
	// Ink is told from the plate halfway between the background and the
	// line's darkest strokes: a faded or blurred plate's glyphs are grey.
	var lums []float32
	for y := h / 4; y < h-h/4; y++ {
		for x := c.x0; x < c.x1; x++ {
			lums = append(lums, lumAt(px, 3*(y*w+x)))
		}
	}
	sortFloat32s(lums)
	ink := lums[len(lums)/20]
	if bgLum-ink < 40 {
		return // too little contrast to see a flag
	}
	dark := ink + 0.5*(bgLum-ink)
	glyphs, _ := mainGlyphs(splitRuns(inkParts(px, w, h, c.x0, c.x1, dark), px, w, h, dark), h, oneGlyph)
	// a narrow bar may lie beside the step's middle column: the glyph
	// nearest it within a step's width counts
	under := glyphUnder(glyphs, c, tw, steps, tw/steps)
	var bars []int   // steps over a bar
	flagged := false // a glyph of the line shows a 1's full flag
	for t := range lp {
		if k, _ := top(lp[t]); exp32(lp[t][ell])+exp32(lp[t][one]) < stemMass || k != one && k != ell {
			continue
		}
		g, ok := under(t)
		if !ok {
			continue
		}
		lean, serifs, ok := stemLean(px, w, g, dark)
		if !ok {
			continue
		}
		switch {
		case serifs:
			lp[t] = shiftPair(lp[t], ell, one, flagOdds)
		case lean >= flagSplit:
			lp[t] = shiftPair(lp[t], one, ell, clampF((lean-flagSplit)/flagScale, 0, 1)*flagOdds)
			flagged = flagged || lean >= flagSplit+flagScale
		default:
			bars = append(bars, t)
		}
	}
	// A bar alone tells nothing: it may be a 1 whose flag blur took
	// (measured on the development sets, moving every bar towards I
	// gained nothing). Beside a 1 of the same line that shows its full
	// flag, in the same font and blur, a bar is an I, by as much as a
	// full flag makes a 1. (Dirt over a 1's flag makes it a bar too: a
	// format that wants a digit there still reads it, less surely.)
	if !flagged {
		return
	}
	for _, t := range bars {
		lp[t] = shiftPair(lp[t], ell, one, flagOdds)
	}
}

// shiftPair sets the split of a step's probability between symbols a and
// b to the recogniser's log odds, capped at modelOdds either way, plus e
// (towards a for e > 0), keeping their sum.
func shiftPair(row [nSym]float32, a, b int, e float64) [nSym]float32 {
	pa, pb := float64(exp32(row[a])), float64(exp32(row[b]))
	m := pa + pb
	if m <= 0 {
		return row
	}
	odds := math.Exp(clampF(math.Log(max(pa, 1e-12)/max(pb, 1e-12)), -modelOdds, modelOdds) + e)
	na := m * odds / (1 + odds)
	row[a] = float32(math.Log(max(na, 1e-12)))
	row[b] = float32(math.Log(max(m-na, 1e-12)))
	return row
}
