package anpr

import "slices"

// An emblem between a plate's characters (the arms of an AT or SK plate)
// is found by its colour (cleanLine), but in an infrared or night picture
// it is grey: a solid block lighter than the ink, which the recogniser
// reads as a B, 8 or 0 (N720FB read NB720FB). Such a block shows as a gap
// in the line's ink where, unlike the space between words, the columns
// are darkened all the way between the top line and the baseline, the
// darkest of them to half the plate's brightness. A block dark enough to
// count as ink is told from a glyph by its ink, far greyer than the
// glyphs', and its fill. A faint glyph may look the same: the line is read
// with the block painted over as well, and that reading kept only when
// the recogniser is surer of it (see recognizeQuad).
const (
	greyRun     = 0.55 // the darkened columns a block takes, in glyph heights
	greyColumn  = 0.8  // a darkened column's mean luminance, of the background
	greySolid   = 0.52 // the darkest column's, of the background
	greyInk     = 1.6  // an emblem's ink is this much lighter than the glyphs' median
	greyInkFill = 0.55 // and fills this share of its box
)

// greyEmblems returns the spans of a rectified line to paint over as grey
// emblems.
func greyEmblems(l rectLine) [][2]int {
	if !l.glyphs {
		return nil
	}
	px, w, c, g := l.px, l.w, l.c, l.g
	bgLum := c.bgLum()
	// every part of some height stands for a glyph or a piece of one,
	// unless it is a grey block
	var parts []inkPart
	for _, p := range g.parts {
		if 5*p.height() >= 2*g.height {
			parts = append(parts, p)
		}
	}
	// ink greyness: the mean luminance of a part's ink, of the background
	inkLum := func(p inkPart) float32 {
		_, lum := inkMeans(px, w, p, g.dark)
		return lum / bgLum
	}
	var med []float32
	for _, p := range g.glyphs {
		med = append(med, inkLum(p))
	}
	slices.Sort(med)
	m := med[len(med)/2]
	first, last := w, 0
	for _, p := range g.glyphs {
		first, last = min(first, p.x0), max(last, p.x1)
	}
	occupied := make([]bool, w)
	for _, p := range parts {
		fill := float32(p.n) / float32((p.x1-p.x0)*(p.y1-p.y0))
		if p.x0 > first && p.x1 < last && fill >= greyInkFill && inkLum(p) > greyInk*m {
			continue // a grey block, not a glyph
		}
		for x := p.x0; x < p.x1; x++ {
			occupied[x] = true
		}
	}
	var out [][2]int
	for a := first; a < last; {
		if occupied[a] {
			a++
			continue
		}
		b := a
		for b < last && !occupied[b] {
			b++
		}
		if greyBlock(px, w, a, b, g, bgLum) {
			out = append(out, [2]int{a, b})
		}
		a = b
	}
	return out
}

// greyBlock reports whether columns [a, b) of the line px (w wide) hold a
// solid grey block between the glyphs' top line and baseline: at least
// greyRun glyph heights of columns darkened there (the light figure in
// arms may break them), the darkest at most greySolid of the background.
func greyBlock(px []float32, w, a, b int, g glyphLine, bgLum float32) bool {
	n := 0
	darkest := bgLum
	for x := a; x < b; x++ {
		var s float32
		for y := g.top; y < g.bottom; y++ {
			s += lumAt(px, 3*(y*w+x))
		}
		s /= float32(g.bottom - g.top)
		darkest = min(darkest, s)
		if s < greyColumn*bgLum {
			n++
		}
	}
	return float64(n) >= greyRun*float64(g.height) && darkest <= greySolid*bgLum
}
