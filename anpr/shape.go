package anpr

import (
	"math"
	"slices"
	"sort"
	"strings"
	"sync"
)

// To the recogniser the letter O and the digit 0 are nearly one glyph, and a
// format that allows either at a place (KZ 004OCG40 beside 0040CG40, TJ
// 0624XC01 beside RU O624XC01) cannot settle it. Plate fonts can: the digit
// is as narrow as the other digits (DIN and FE-Schrift figures, Russia's
// GOST digits, which are also taller than its letters), the letter is
// round. So where a step reads O or 0, a glyph under it clearly wider (for
// its height) than the line's other figures moves the step's belief from
// the digit to the round letters; a narrow one tells nothing, since in a
// monospaced font the O is as narrow as the figures.
const (
	roundMass  = 0.3  // p(0) + p(O, Q, D) at a step for its glyph to be measured
	digitSure  = 0.7  // a step read as a digit 2–9 at least this surely measures the figures' width
	roundSplit = 1.2  // aspect over the figures': a wider glyph is a round letter's
	roundScale = 0.1  // aspect ratio difference that makes full evidence
	roundOdds  = 3.0  // nats of full evidence
	glyphDark  = 0.45 // of the background luminance: a stricter ink threshold keeps glyphs apart
	glyphWide  = 0.85 // of its height: a wider part is two glyphs run together
	// A round letter is as wide as high in some plate fonts (Belarus's O),
	// wider than the parts kept elsewhere (oneGlyph); splitRuns has already
	// cut what blur ran together, so only this wide a part is two glyphs.
	roundWide = 1.3
	// oneGlyph is the widest a main glyph is elsewhere, in glyph heights.
	oneGlyph = 1.0
	// The recogniser, not trained on plate fonts, splits O and 0 by habit
	// more than by shape: where the shape is measured, its log odds between
	// the two count at most this much.
	modelOdds = 2.0
)

// shapeEvidence moves, at the steps of lp (a line's recogniser output over
// steps steps for columns [c.x0, c.x0+tw) of the rectified line px, w×h)
// that read O or 0, probability from the digit to the round letters where
// the glyph under the step is clearly wider than the figures. It changes
// nothing when the line has no figure to measure or its ink cannot be told
// from the plate; it returns the line's figure width and, when it has
// none, its round glyphs, for the other row of a two-row plate to settle
// (see settleRows). Steps that read I or 1 are settled by stemEvidence.
func shapeEvidence(lp logProbs, px []float32, w, h int, c lineCleanup, tw, steps int) lineShape {
	bgLum := c.bgLum()
	if bgLum < 60 || len(lp) == 0 {
		return lineShape{}
	}
	stemEvidence(lp, px, w, h, c, tw, steps, bgLum)
	measure := func() ([]inkPart, func(int) (inkPart, bool)) {
		dark := glyphDark * bgLum
		glyphs, _ := mainGlyphs(splitRuns(inkParts(px, w, h, c.x0, c.x1, dark), px, w, h, dark), h, roundWide)
		return glyphs, glyphUnder(glyphs, c, tw, steps, 0)
	}
	if !slices.ContainsFunc(lp, readRound) {
		// Most lines have no O or 0 to settle; finding their glyphs is
		// left until the other row of a two-row plate asks for the figures.
		sure := sureFigures(lp)
		if len(sure) == 0 {
			return lineShape{}
		}
		var figure float64
		var once sync.Once
		return lineShape{measure: func() float64 {
			once.Do(func() {
				if glyphs, under := measure(); len(glyphs) > 0 {
					figure = figureOf(sure, under)
				}
			})
			return figure
		}}
	}
	glyphs, under := measure()
	if len(glyphs) == 0 {
		return lineShape{}
	}
	var rounds []roundGlyph
	for t := range lp {
		if !readRound(lp[t]) {
			continue
		}
		if g, ok := under(t); ok {
			rounds = append(rounds, roundGlyph{t, g.aspect()})
		}
	}
	figure := figureOf(sureFigures(lp), under)
	if figure == 0 {
		// a row of round glyphs alone (the OO under a Ukrainian two-row
		// number) is measured against the other row's figures; the 0 of a
		// row that holds other glyphs as well (the region's 10 beside the
		// letters of a square plate's second row) is not: fonts and sizes
		// differ between rows, and the formats settle it there
		if !roundOnly(greedy(lp).text) {
			return lineShape{}
		}
		return lineShape{rounds: rounds}
	}
	if len(glyphs) >= 3 {
		settleRounds(lp, rounds, figure)
	}
	return lineShape{figure: figure}
}

// sureFigures are the steps of lp read surely as 2–9: the glyphs under
// them give the line's figure width.
func sureFigures(lp logProbs) []int {
	var ts []int
	for t := range lp {
		if k, p := top(lp[t]); k >= symOf('2') && k <= symOf('9') && p >= digitSure {
			ts = append(ts, t)
		}
	}
	return ts
}

// figureOf is the figures' width of a line: the median aspect of the
// glyphs under its sure figures' steps (0: none found).
func figureOf(sure []int, under func(int) (inkPart, bool)) float64 {
	var ref []float64
	for _, t := range sure {
		if g, ok := under(t); ok {
			ref = append(ref, g.aspect())
		}
	}
	if len(ref) == 0 {
		return 0
	}
	sort.Float64s(ref)
	return ref[len(ref)/2]
}

// lineShape is what a line's glyph widths leave for the other row of its
// plate: the width of its figures (0: none read surely), or the round
// glyphs it had no figure to measure against. A line with no O or 0 of its
// own measures its figures only when asked (measure).
type lineShape struct {
	figure  float64
	rounds  []roundGlyph
	measure func() float64
}

// figures is the line's figure width, measured now if it was left.
func (s lineShape) figures() float64 {
	if s.figure == 0 && s.measure != nil {
		return s.measure()
	}
	return s.figure
}

// roundGlyph is a step of a line read as O or 0 and the aspect of the
// glyph under it.
type roundGlyph struct {
	t      int
	aspect float64
}

// roundOnly reports whether a reading is round glyphs only (O, 0).
func roundOnly(text string) bool {
	return text != "" && strings.Trim(text, "O0") == ""
}

// readRound reports whether a step reads O or 0 (a Q or a D read as such
// shows its tail or stem).
func readRound(row [nSym]float32) bool {
	letters := 0.0
	for _, k := range roundLetters {
		letters += float64(exp32(row[k]))
	}
	k, _ := top(row)
	return letters+float64(exp32(row[symOf('0')])) >= roundMass && (k == symOf('0') || k == roundLetters[0])
}

// settleRounds moves the round steps of lp whose glyph is clearly wider
// than the figures (of aspect figure) towards the round letters. A glyph
// as narrow as they are tells nothing: it is a 0 in most plate fonts, but
// in a monospaced one (Brazil's) the O is as narrow.
func settleRounds(lp logProbs, rounds []roundGlyph, figure float64) {
	for _, g := range rounds {
		r := g.aspect / figure
		if r <= roundSplit {
			continue
		}
		e := clampF((r-roundSplit)/roundScale, 0, 1) * roundOdds
		lp[g.t] = shiftRound(lp[g.t], e)
	}
}

// settleRows measures the round glyphs of a row that has no figures of its
// own against the other row's, in the rows' reading joined (see
// joinRows): the OO of a Ukrainian two-row PB7193OO, read 00 alone.
// Both rows are rectified to the recogniser's height, so their glyphs'
// aspects compare. The rows' own outputs are left as they are.
func settleRows(top, bottom logProbs, ts, bs lineShape) (logProbs, logProbs) {
	switch {
	case len(bs.rounds) > 0 && ts.figures() > 0:
		bottom = slices.Clone(bottom)
		settleRounds(bottom, bs.rounds, ts.figures())
	case len(ts.rounds) > 0 && bs.figures() > 0:
		top = slices.Clone(top)
		settleRounds(top, ts.rounds, bs.figures())
	}
	return top, bottom
}

// splitRuns cuts parts that blur ran together (wider than glyphWide of
// their height) at the gap between two glyphs: their thinnest column
// crossed by one run of ink at most.
func splitRuns(parts []inkPart, px []float32, w, h int, dark float32) []inkPart {
	var out []inkPart
	for len(parts) > 0 {
		p := parts[0]
		parts = parts[1:]
		pw, ph := p.x1-p.x0, p.height()
		if float64(pw) <= glyphWide*float64(ph) || pw < 6 {
			out = append(out, p)
			continue
		}
		// The column with the least ink in the middle three fifths, of
		// those crossed by one run of ink at most: a gap, or a bridge of
		// blur across it. The middle of a ring (an O, a Q) is crossed by
		// two.
		cut, least := -1, ph+1
		for x := p.x0 + pw/5; x < p.x1-pw/5; x++ {
			n, runs, in := 0, 0, false
			for y := p.y0; y < p.y1; y++ {
				i := 3 * (y*w + x)
				ink := lumAt(px, i) < dark
				if ink {
					n++
					if !in {
						runs++
					}
				}
				in = ink
			}
			if runs <= 1 && n < least {
				cut, least = x, n
			}
		}
		if cut < 0 || 8*least > ph {
			out = append(out, p) // one glyph
			continue
		}
		a, b := p, p
		a.x1, b.x0 = cut, cut+1
		a.n, b.n = p.n/2, p.n-p.n/2
		parts = append(parts, a, b)
	}
	return out
}

// mainGlyphs are the parts of a line's ink that are its characters, and
// their typical height: the line's tallest parts (the box may be loose
// around them), within a fifth of that height, and no wider than wide
// times it (a wider part is two glyphs run together by blur; +Inf keeps
// every width).
func mainGlyphs(parts []inkPart, h int, wide float64) ([]inkPart, int) {
	var hs []int
	for _, p := range parts {
		if float64(p.height()) >= cellGlyphMin*float64(h) && p.x1-p.x0 < h {
			hs = append(hs, p.height())
		}
	}
	if len(hs) == 0 {
		return nil, 0
	}
	sort.Ints(hs)
	mainH := hs[len(hs)*3/4]
	var out []inkPart
	for _, p := range parts {
		if p.height() >= mainH*4/5 && p.height() <= mainH*6/5 && float64(p.x1-p.x0) <= wide*float64(mainH) {
			out = append(out, p)
		}
	}
	return out, mainH
}

func (p inkPart) aspect() float64 { return float64(p.x1-p.x0) / float64(max(1, p.height())) }

// top is a step's most likely plate character and its probability.
func top(row [nSym]float32) (int, float64) {
	k := 1
	for j := 2; j < nSym; j++ {
		if row[j] > row[k] {
			k = j
		}
	}
	return k, float64(exp32(row[k]))
}

// roundLetters are the round letters a 0 may stand for.
var roundLetters = [...]int{symOf('O'), symOf('Q'), symOf('D')}

// shiftRound sets the split of a step's probability between the digit 0
// and the round letters to the recogniser's log odds, capped at modelOdds
// either way, plus e (towards the letters for e > 0), keeping their sum;
// the letters share theirs as the recogniser shares it (the width tells a
// letter from the digit, not O from Q).
func shiftRound(row [nSym]float32, e float64) [nSym]float32 {
	zero := symOf('0')
	var ps [len(roundLetters)]float64
	l := 0.0
	for i, k := range roundLetters {
		ps[i] = float64(exp32(row[k]))
		l += ps[i]
	}
	d := float64(exp32(row[zero]))
	m := l + d
	if m <= 0 || l <= 0 {
		return row
	}
	odds := math.Exp(clampF(math.Log(l/max(d, 1e-12)), -modelOdds, modelOdds) + e)
	nl := m * odds / (1 + odds)
	row[zero] = float32(math.Log(max(m-nl, 1e-12)))
	for i, k := range roundLetters {
		row[k] = float32(math.Log(max(nl*ps[i]/l, 1e-12)))
	}
	return row
}

func exp32(v float32) float32 { return float32(math.Exp(float64(v))) }

// glyphUnder finds the glyph under a step of a line read over steps steps
// for columns [c.x0, c.x0+tw): the one holding the step's middle column,
// or else the nearest within slack columns of it.
func glyphUnder(glyphs []inkPart, c lineCleanup, tw, steps, slack int) func(t int) (inkPart, bool) {
	return func(t int) (inkPart, bool) {
		mid := c.x0 + (2*t+1)*tw/(2*steps)
		best, bd := inkPart{}, slack+1
		for _, g := range glyphs {
			d := 0
			if mid < g.x0 {
				d = g.x0 - mid
			} else if mid >= g.x1 {
				d = mid - g.x1 + 1
			}
			if d < bd {
				best, bd = g, d
			}
		}
		return best, bd <= slack
	}
}

// lumAt is the luminance of the pixel at px[i:i+3] (interleaved RGB).
func lumAt(px []float32, i int) float32 { return 0.299*px[i] + 0.587*px[i+1] + 0.114*px[i+2] }
