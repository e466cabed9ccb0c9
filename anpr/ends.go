package anpr

import (
	"slices"
	"sort"
)

// The ends of a plate line, seen by its glyphs before recognition.
//
// A detector box sometimes ends inside the first or last glyph: DB outlines
// a small line tightly, and outlining it again on a crop may find only part
// of it. The padding of padQuad does not always reach the glyph's far side,
// and a glyph cut by the crop is read as another character (a 4 as L, a 6
// as C) or dropped. When one of the line's glyphs touches an end of the
// rectified crop, the crop is widened there by about a glyph and rectified
// again, as long as a glyph still touches that end (maxWiden times at
// most); what the wider crop shows beyond the plate (its rim, a band) is
// dealt with as for any line.

// reachGlyph is how far a cut end is widened, in glyph heights of the
// rectified line (a glyph is about 0.7 of its height wide there, with
// recStretch, plus the gap to its neighbour).
const reachGlyph = 0.9

// maxWiden is how many times a line is widened while a glyph still
// touches an end: a box that ends inside a line may have left more than
// one glyph out (the last I of 627WWI).
const maxWiden = 3

// edgeRoom is how close to an end of the rectified line, in glyph heights,
// a glyph counts as touching it. A box that hugs the text that tightly may
// still have cut a glyph beyond it (the M of ML0C2S, outlined from the L),
// and the recogniser, trained on text with room around it, often drops a
// glyph that begins within a stroke or two of its input's first column;
// widening gives the line its surroundings back. A glyph farther in than
// this has its margin.
const edgeRoom = 0.2

// glyphLine is what the ink of a rectified line tells: its glyphs (the
// characters' parts), their height, top line and baseline, the ink
// threshold they were found with, and every part of ink found with it.
type glyphLine struct {
	glyphs              []inkPart
	height, top, bottom int
	dark                float32
	parts               []inkPart
}

// glyphsOf analyses the kept columns of a rectified line (interleaved RGB,
// w×h); false when the line is too dark or short to tell, or shows fewer
// than three glyphs.
func glyphsOf(px []float32, w, h int, c lineCleanup) (glyphLine, bool) {
	bgLum := c.bgLum()
	if bgLum < 60 || c.x1-c.x0 < h {
		return glyphLine{}, false
	}
	g := glyphLine{dark: glyphDark * bgLum}
	g.parts = inkParts(px, w, h, c.x0, c.x1, g.dark)
	g.glyphs, g.height = mainGlyphs(g.parts, h, oneGlyph)
	if len(g.glyphs) < 3 && c.still {
		// A dim plate (at night) keeps its ink's contrast but not its
		// level: blurred strokes stay above glyphDark of the background.
		// In a still the threshold is then taken halfway between the ink
		// and the plate (TBW473 read TBW47: no glyphs were found, so the
		// 3 past the box was not looked for). A stream's frames keep
		// glyphDark: there one held-out pass of 110 was lost and none
		// gained (tuning seed 3: none changed).
		if dark := (inkLevel(px, w, h, c) + bgLum) / 2; dark > g.dark {
			g.dark = dark
			g.parts = inkParts(px, w, h, c.x0, c.x1, g.dark)
			g.glyphs, g.height = mainGlyphs(g.parts, h, oneGlyph)
		}
	}
	if len(g.glyphs) < 3 {
		return glyphLine{}, false
	}
	tops, bottoms := make([]int, len(g.glyphs)), make([]int, len(g.glyphs))
	for i, p := range g.glyphs {
		tops[i], bottoms[i] = p.y0, p.y1
	}
	sort.Ints(tops)
	sort.Ints(bottoms)
	g.top, g.bottom = tops[len(tops)/2], bottoms[len(bottoms)/2]
	return g, true
}

// inked reports whether p's ink is a glyph's: black or grey, or the
// colour of the line's own glyphs where the plate prints them coloured
// (Arizona's teal), not the colour of a band's, flag's or rim's edge.
func (g glyphLine) inked(px []float32, w int, p inkPart) bool {
	c, ok := inkColour(px, w, p, g.dark)
	if !ok || chroma(c) <= glyphChroma {
		return true
	}
	// a coloured part: measured against the line's glyphs' ink, channel
	// by channel their median (left until a part asks: most lines have
	// none)
	var inks [3][]float32
	for _, q := range g.glyphs {
		if qc, ok := inkColour(px, w, q, g.dark); ok {
			for k := range inks {
				inks[k] = append(inks[k], qc[k])
			}
		}
	}
	if len(inks[0]) == 0 {
		return false
	}
	var ink [3]float32
	for k := range inks {
		slices.Sort(inks[k])
		ink[k] = inks[k][len(inks[k])/2]
	}
	return chroma(ink) > glyphChroma && colourDist(c, ink) < inkSame
}

// inkColour is the mean colour of the pixels darker than dark in p's box;
// false when it has none.
func inkColour(px []float32, w int, p inkPart, dark float32) (c [3]float32, ok bool) {
	n := 0
	for y := p.y0; y < p.y1; y++ {
		for x := p.x0; x < p.x1; x++ {
			i := 3 * (y*w + x)
			if lumAt(px, i) >= dark {
				continue
			}
			c[0], c[1], c[2] = c[0]+px[i], c[1]+px[i+1], c[2]+px[i+2]
			n++
		}
	}
	if n == 0 {
		return c, false
	}
	return [3]float32{c[0] / float32(n), c[1] / float32(n), c[2] / float32(n)}, true
}

// inkLevel is the luminance of a line's ink: the darkest inkShare of the
// pixels of its kept columns' middle rows.
func inkLevel(px []float32, w, h int, c lineCleanup) float32 {
	lums := make([]float32, 0, (c.x1-c.x0)*h/2)
	for y := h / 4; y < h-h/4; y++ {
		for x := c.x0; x < c.x1; x++ {
			lums = append(lums, lumAt(px, 3*(y*w+x)))
		}
	}
	slices.Sort(lums)
	return lums[int(inkShare*float64(len(lums)))]
}

// inkShare is the share of a line's middle rows that is surely ink: glyph
// strokes cover a fifth or more of them.
const inkShare = 0.05

// within reports whether p stands between the line's top line and
// baseline: a cut glyph does (lower at the top where its apex was cut off,
// as an A's leg), the edge of a band or a rim need not.
func (g glyphLine) within(p inkPart) bool {
	return 6*(g.top-p.y0) <= g.height && 6*(p.y1-g.bottom) <= g.height
}

// cutEnds tells by how many columns each end of a rectified line should
// be widened: reachGlyph of the glyphs' height where one of the line's
// glyphs touches that end of its kept columns (comes within edgeRoom of
// it), none elsewhere. An end cut off as a band is no glyph's.
func cutEnds(l rectLine) (left, right float64) {
	if !l.glyphs {
		return 0, 0
	}
	px, w, c, g := l.px, l.w, l.c, l.g
	reach := reachGlyph * float64(g.height)
	room := int(edgeRoom * float64(g.height))
	for _, p := range g.glyphs {
		if p.x0 > c.x0+room && p.x1 < c.x1-room || !g.within(p) || !g.inked(px, w, p) {
			continue // inside the crop, or the edge of a band, flag or rim
		}
		if c.x0 == 0 && p.x0 <= room {
			left = reach
		}
		if c.x1 == w && p.x1 >= w-room {
			right = reach
		}
	}
	return left, right
}

// glyphChroma is the most colour (max − min channel, 0–255) a glyph's ink
// has on average: plate characters are black or grey, while a band's or
// flag's edge, which is dark as well, is blue, red or green.
const glyphChroma = 60

// inkMeans is the mean colour (max − min channel) and luminance of the
// pixels darker than dark in p's box; zero where there are none.
func inkMeans(px []float32, w int, p inkPart, dark float32) (spread, lum float32) {
	n := 0
	for y := p.y0; y < p.y1; y++ {
		for x := p.x0; x < p.x1; x++ {
			i := 3 * (y*w + x)
			l := lumAt(px, i)
			if l >= dark {
				continue
			}
			spread += chroma([3]float32{px[i], px[i+1], px[i+2]})
			lum += l
			n++
		}
	}
	if n == 0 {
		return 0, 0
	}
	return spread / float32(n), lum / float32(n)
}

// inkChroma is the mean colour of the pixels darker than dark in p's box.
func inkChroma(px []float32, w int, p inkPart, dark float32) float32 {
	chroma, _ := inkMeans(px, w, p, dark)
	return chroma
}

// widen moves q's left and right sides outwards along its rows by the
// fractions l and r of its width.
func widen(q Quad, l, r float64) Quad {
	lerp := func(a, b point, t float64) point { return point{a.X + (b.X-a.X)*t, a.Y + (b.Y-a.Y)*t} }
	return Quad{lerp(q[0], q[1], -l), lerp(q[0], q[1], 1+r), lerp(q[3], q[2], 1+r), lerp(q[3], q[2], -l)}
}

// edgeOdds discounts a stray end that stands on a band's or flag's edge
// (see edgeOnly): it is no glyph, however sure the recogniser is of a 1
// there (a sliver's discount left the 1 before PT23647).
const edgeOdds = float32(-3)

// strayEnds discounts (as a sliver's, see sliverOdds) the first and last
// characters of a line's free reading where no glyph of the line's height
// stands under them, or only the glyph of the character beside them: a
// flag's stripes read as E, the country code of a band the cleanup left in
// read as a leading N, a plate frame's edge a step past the last glyph read
// as a 1 (YBW231). A character the recogniser is sure of survives it,
// unless what stands there is only a band's or flag's edge (edgeOdds).
// Readings shorter than four characters are left.
func strayEnds(lp logProbs, px []float32, w, h int, c lineCleanup, tw, steps int) {
	d := greedy(lp)
	if len(d.spans) < 4 {
		return
	}
	g, ok := glyphsOf(px, w, h, c)
	if !ok {
		return
	}
	under := glyphUnder(g.glyphs, c, tw, steps, tw/steps)
	n := len(d.spans)
	for _, e := range [][2]int{{0, 1}, {n - 1, n - 2}} {
		// The glyph under the neighbour's middle step is the neighbour's:
		// an end within a step of it stands on no glyph of its own.
		sp, nb := d.spans[e[0]], d.spans[e[1]]
		other, taken := under((nb[0] + nb[1]) / 2)
		stray := true
		for t := sp[0]; t <= sp[1] && stray; t++ {
			p, found := under(t)
			stray = !found || taken && p == other
		}
		if !stray {
			continue
		}
		odds := sliverOdds
		if g.edgeOnly(px, w, c.x0+sp[0]*tw/steps, c.x0+(sp[1]+1)*tw/steps) {
			odds = edgeOdds
		}
		for t := sp[0]; t <= sp[1]; t++ {
			lp[t] = discountChars(lp[t], odds)
		}
	}
}

// edgeOnly reports whether what stands in columns [a, b) of three
// quarters of the glyphs' height or more is only ink of another colour
// than theirs: a band's or flag's edge the cleanup left in. Parts wider
// than two glyph heights are the plate's rim or shadow, which runs under
// every glyph.
func (g glyphLine) edgeOnly(px []float32, w, a, b int) bool {
	edge := false
	for _, p := range g.parts {
		if p.x0 >= b || p.x1 <= a || 4*p.height() < 3*g.height || p.x1-p.x0 > 2*g.height {
			continue
		}
		if g.inked(px, w, p) {
			return false
		}
		edge = true
	}
	return edge
}
