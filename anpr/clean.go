package anpr

import "slices"

// Geometry of a plate line before recognition. A country band or flag at
// either end of the line and an emblem between its characters (a coat of
// arms, inspection seals, a region's arms) are found by colour and position
// in the rectified crop and removed there, so the decoder never has to
// explain them away: the ends are cut off, and an emblem between characters
// is painted over with the plate's background, which the recogniser reads as
// a gap. A sliver at the crop's very end (a band's edge, or a glyph a tight
// box cut) is neither cut nor painted: what is read there is discounted.
//
// The crop is analysed in blocks of cleanBlock² pixels (averaging removes
// sensor noise). A block is foreign when it is saturated and far from the
// plate's background colour (a blue band on a white plate, red arms; not a
// yellow plate's own background, not black characters), dark when it is far
// darker than the background. A column of blocks is band-like when most of
// it is foreign, or nearly all of it foreign or dark (a band in an infrared
// picture, where colour is gone): character strokes are dark too, but only a
// stroke wide, while a band is at least half a character wide.
const (
	cleanBlock      = 4
	bandMinWidth    = 0.38 // of the line height: narrower dark runs are strokes
	bandColourWidth = 0.25 // of the line height, for a run of foreign colour
	bandSearch      = 0.35 // share of the width at either end searched for a band
	sliverWidth     = 0.35 // of the line height: a wider run at the crop's end may be a glyph
)

// lineCleanup says what to do with a rectified line: keep columns [x0, x1),
// paint the emblem spans with the background colour and discount what the
// recogniser reads in the sliver spans.
type lineCleanup struct {
	x0, x1  int
	emblems [][2]int
	marks   []markBox // small marks between glyphs, painted over in their box (see separator.go)
	slivers [][2]int
	bg      [3]float32
	still   bool // a still's line: a dim plate's glyphs are looked for halfway between ink and plate (see glyphsOf)
}

// markBox is a box of a line to paint with the plate's colour around it.
type markBox struct {
	x0, x1, y0, y1 int
	rgb            [3]float32
}

// bgLum is the plate background's luminance.
func (c lineCleanup) bgLum() float32 { return luminance(c.bg) }

// luminance is a colour's luminance (as lumAt's of a pixel).
func luminance(c [3]float32) float32 { return 0.299*c[0] + 0.587*c[1] + 0.114*c[2] }

// colourDist is the distance between two colours, summed over the channels.
func colourDist(a, b [3]float32) float32 {
	return abs32(a[0]-b[0]) + abs32(a[1]-b[1]) + abs32(a[2]-b[2])
}

// chroma is how coloured a colour is: its largest channel less its smallest.
func chroma(c [3]float32) float32 { return max(c[0], c[1], c[2]) - min(c[0], c[1], c[2]) }

// cleanLine analyses a rectified line (interleaved RGB, w×h) and returns the
// columns to keep and the emblem spans to paint over.
func cleanLine(px []float32, w, h int) lineCleanup {
	c := lineCleanup{x0: 0, x1: w}
	bw, bh := w/cleanBlock, h/cleanBlock
	if bw < 8 || bh < 4 {
		return c
	}
	blocks := lineBlocks(px, w, bw, bh)
	bg, bgLum := plateBackground(blocks)
	if bgLum < 30 {
		return c // too dark to tell a band from the plate
	}
	c.bg = [3]float32{bg.r, bg.g, bg.b}
	bgChroma := chroma(c.bg)
	// Columns are judged on their middle rows: the padded crop's top and
	// bottom rows may show the vehicle around the plate.
	isForeign := func(b block) bool {
		return b.chroma > max(30, 0.35*bgLum, 2.5*bgChroma) && colourDist(b.rgb(), c.bg) > 0.6*bgLum
	}
	foreign := make([]int, bw)
	dark := make([]int, bw)
	r0, r1 := bh/6, bh-bh/6
	bh = r1 - r0
	for by := r0; by < r1; by++ {
		for bx := 0; bx < bw; bx++ {
			b := blocks[by*bw+bx]
			switch {
			case isForeign(b):
				foreign[bx]++
			case b.lum < 0.45*bgLum:
				dark[bx]++
			}
		}
	}
	// A column of colour: a third of the middle rows, as for an emblem
	// below. A band's flag may fill only its upper part, with the country
	// code printed under it too thin to count as dark (MD): at 40 % such a
	// flag was left in and its stripes read as a leading 1.
	colour := func(x int) bool { return 3*foreign[x] >= bh }
	bandish := func(x int) bool { return colour(x) || 4*(foreign[x]+dark[x]) >= 3*bh }
	count := 0
	for x := 0; x < bw; x++ {
		if bandish(x) {
			count++
		}
	}
	if 2*count > bw {
		return c // a dark or coloured plate: nothing stands out
	}
	if colouredPlate(blocks[r0*bw : r1*bw]) {
		return c // white on blue, judged against the cab around it
	}
	// runWide reports whether the band-like run [a, b) is wide enough: a
	// band of colour at least bandColourWidth of the height, a dark one
	// bandMinWidth.
	runWide := func(a, b int) bool {
		cols := 0
		for x := a; x < b; x++ {
			if colour(x) {
				cols++
			}
		}
		wpx := float32((b - a) * cleanBlock)
		if 2*cols >= b-a {
			return wpx >= bandColourWidth*float32(h)
		}
		return wpx >= bandMinWidth*float32(h)
	}
	search := int(bandSearch * float32(bw))
	// A band lies at the end of the line: a coloured run after a
	// character's worth of ink (the district letters before a coat of
	// arms) is an emblem, not a band, and is painted over below.
	inky := func(x int) bool { return 4*dark[x] >= bh } // a stroke or two bars cross it
	glyph := int(0.3*float32(h)/cleanBlock) + 1
	inkIn := func(a, b int) int {
		n := 0
		for x := a; x < b; x++ {
			if inky(x) {
				n++
			}
		}
		return n
	}
	// A sliver at the very end of the crop, narrower than a glyph and
	// apart from the rest, is mostly the edge of a band or flag the box
	// reached into, read as a stray I, 1 or 9; but it may also be a glyph
	// a tight box cut. It is not cut: the recogniser's belief in a
	// character there is discounted (see sliverOdds), which a sure glyph
	// survives and a faint stroke does not.
	edge := func(x, step int) int {
		n := 0
		for ; x >= 0 && x < bw && (dark[x] > 0 || foreign[x] > 0); x += step {
			n++
		}
		if n == 0 || n == bw || float32(n*cleanBlock) > sliverWidth*float32(h) {
			return 0
		}
		return n
	}
	// A character's ink may count for less than a glyph in blocks (an F:
	// its stem is a block wide, its arms too thin to darken one), so a
	// coloured run after it would pass for a band, and be cut with it (the
	// F of an Austrian F·016PY, its arms taken for the band's). A run with
	// a glyph of the line's own shape before it is an emblem.
	var glyphs []inkPart
	measured := false // glyphs are found once, on the first run that asks
	glyphBefore := func(x int) bool {
		if !measured {
			measured = true
			dark := glyphDark * bgLum
			glyphs, _ = mainGlyphs(inkParts(px, w, h, 0, w, dark), h, oneGlyph)
			glyphs = slices.DeleteFunc(glyphs, func(p inkPart) bool { return inkChroma(px, w, p, dark) > glyphChroma })
		}
		for _, p := range glyphs {
			if p.x0 > c.x0 && p.x1 <= x {
				return true
			}
		}
		return false
	}
	// Left end: cut after the last wide band-like run that starts in the
	// searched part before any character. Once a band is cut, a run more
	// than a glyph past it after any ink at all is an emblem: the single
	// district letter of an AT or SK plate before its arms is a stroke or
	// two, less than a glyph. (Nearer, it is the band's own stars or
	// lettering that broke the run.)
	more := func(ink int, cut bool, gap int) bool {
		if !cut {
			return ink < glyph
		}
		return ink == 0 || gap < glyph
	}
	for x, ink := 0, 0; x < search && more(ink, c.x0 > 0, x-c.x0/cleanBlock); {
		if !bandish(x) {
			if inky(x) {
				ink++
			}
			x++
			continue
		}
		e := x
		for e < bw && bandish(e) {
			e++
		}
		if runWide(x, e) && e < bw*2/3 && (ink == 0 || !glyphBefore(x*cleanBlock)) && !ownInk(px, w, r0*cleanBlock, r1*cleanBlock, 0, w, x*cleanBlock, e*cleanBlock, glyphDark*bgLum) {
			c.x0 = e * cleanBlock
			ink = 0
		} else {
			ink += inkIn(x, e) // a character's stem
		}
		x = e
	}
	// Right end, mirrored.
	for x, ink := bw-1, 0; x >= bw-search && more(ink, c.x1 < w, c.x1/cleanBlock-1-x); {
		if !bandish(x) {
			if inky(x) {
				ink++
			}
			x--
			continue
		}
		s := x
		for s >= 0 && bandish(s) {
			s--
		}
		if runWide(s+1, x+1) && (s+1)*cleanBlock > c.x0+w/3 && !ownInk(px, w, r0*cleanBlock, r1*cleanBlock, c.x0, w, (s+1)*cleanBlock, (x+1)*cleanBlock, glyphDark*bgLum) {
			c.x1 = (s + 1) * cleanBlock
			ink = 0
		} else {
			ink += inkIn(s+1, x+1)
		}
		x = s
	}
	// A cut lies on a block boundary; the band may reach a few pixels
	// further, and its edge would be read as a stroke (a leading 1).
	foreignCol := func(x int) bool {
		n := 0
		for y := r0 * cleanBlock; y < r1*cleanBlock; y++ {
			i := 3 * (y*w + x)
			p := blockOf(px[i], px[i+1], px[i+2])
			if isForeign(p) {
				n++
			}
		}
		return 5*n >= (r1-r0)*cleanBlock
	}
	if c.x0 > 0 {
		for lim := c.x0 + cleanBlock; c.x0 < lim && foreignCol(c.x0); c.x0++ {
		}
	}
	if c.x1 < w {
		for lim := c.x1 - cleanBlock; c.x1 > lim && foreignCol(c.x1-1); c.x1-- {
		}
	}
	if left := edge(0, 1); left > 0 && c.x0 == 0 {
		c.slivers = append(c.slivers, [2]int{0, left * cleanBlock})
	}
	if right := edge(bw-1, -1); right > 0 && c.x1 == w {
		c.slivers = append(c.slivers, [2]int{(bw - right) * cleanBlock, w})
	}
	// Emblems between the ends: runs of foreign colour.
	for x := c.x0/cleanBlock + 1; x < c.x1/cleanBlock-1; {
		if 3*foreign[x] < bh {
			x++
			continue
		}
		e := x
		for e < bw && 3*foreign[e] >= bh {
			e++
		}
		if e-x >= 2 && !ownInk(px, w, r0*cleanBlock, r1*cleanBlock, c.x0, c.x1, x*cleanBlock, e*cleanBlock, glyphDark*bgLum) {
			a, b := max(c.x0, (x-1)*cleanBlock), min(c.x1, (e+1)*cleanBlock)
			for lim := max(c.x0, a-2*cleanBlock); a > lim && foreignCol(a-1); a-- {
			}
			for lim := min(c.x1, b+2*cleanBlock); b < lim && foreignCol(b); b++ {
			}
			c.emblems = append(c.emblems, [2]int{a, b})
		}
		x = e
	}
	return c
}

// ownInk reports whether the ink (pixels darker than dark) of columns
// [a, b) is of the coloured ink of the rest of the line [x0, x1), rows
// [y0, y1): the dark teal glyphs of an Arizona plate, on a sky light
// enough to set them apart as colour, are characters, not an emblem.
func ownInk(px []float32, w, y0, y1, x0, x1, a, b int, dark float32) bool {
	var sum [2][3]float32 // the run's ink, the rest's
	var n [2]int
	for y := y0; y < y1; y++ {
		for x := x0; x < x1; x++ {
			i := 3 * (y*w + x)
			if lumAt(px, i) >= dark {
				continue
			}
			k := 1
			if x >= a && x < b {
				k = 0
			}
			sum[k][0], sum[k][1], sum[k][2] = sum[k][0]+px[i], sum[k][1]+px[i+1], sum[k][2]+px[i+2]
			n[k]++
		}
	}
	if n[0] == 0 || n[1] == 0 {
		return false
	}
	var run, rest [3]float32
	for c := range 3 {
		run[c], rest[c] = sum[0][c]/float32(n[0]), sum[1][c]/float32(n[1])
	}
	if chroma(rest) < inkColoured {
		return false // black ink: a coloured run is something else
	}
	return colourDist(run, rest) < inkSame
}

const (
	inkColoured = 30 // max − min channel of a line's mean ink that is coloured
	inkSame     = 45 // summed channel difference of two inks of one colour
)

// colouredPlate reports whether the middle rows' blocks of a line show a
// plate of colour with light characters (a Chinese plate's blue): most of
// them saturated and far from the brightest fifth, which is then the
// characters. Judged apart from the background cleanLine takes from the
// whole crop, which on such a plate may be the vehicle's colour around it.
func colouredPlate(mid []block) bool {
	ref, top := plateBackground(mid)
	if chroma(ref.rgb()) > 40 {
		// The brightest blocks are coloured: a yellow plate's own
		// background, or a cab brighter than the plate around it.
		return lightOnColour(mid, top)
	}
	coloured := 0
	for _, b := range mid {
		if saturated(b, top) && colourDist(b.rgb(), ref.rgb()) > 0.6*top {
			coloured++
		}
	}
	return 2*coloured > len(mid)
}

// saturated reports whether a block of a line whose brightest fifth has
// luminance top shows a plate's colour rather than grey.
func saturated(b block, top float32) bool { return b.chroma > max(30, 0.35*top) }

// lightOnColour reports whether most of the middle rows' blocks are
// saturated and lightCharShare of them or more uncoloured and clearly
// brighter than the saturated ones: light characters on a coloured plate
// whose vehicle, brighter than the plate, took the brightest fifth (a
// Chinese plate on a green cab). A yellow plate's characters are darker
// than it.
func lightOnColour(mid []block, top float32) bool {
	n, lum := 0, float32(0)
	for _, b := range mid {
		if saturated(b, top) {
			n++
			lum += b.lum
		}
	}
	if 2*n <= len(mid) {
		return false
	}
	lum /= float32(n)
	light := 0
	for _, b := range mid {
		if b.chroma <= inkColoured && b.lum > lightChar*lum {
			light++
		}
	}
	return float32(light) >= lightCharShare*float32(len(mid))
}

const (
	lightChar      = 1.5  // of the saturated blocks' mean luminance: a light character's block
	lightCharShare = 0.05 // of the middle rows' blocks: enough light characters
)

func abs32(v float32) float32 {
	if v < 0 {
		return -v
	}
	return v
}

// lineBlocks averages a line (interleaved RGB, w wide) in bw×bh blocks of
// cleanBlock² pixels, returning them row by row.
func lineBlocks(px []float32, w, bw, bh int) []block {
	blocks := make([]block, bw*bh)
	for by := 0; by < bh; by++ {
		for bx := 0; bx < bw; bx++ {
			var s [3]float32
			for y := by * cleanBlock; y < (by+1)*cleanBlock; y++ {
				i := 3 * (y*w + bx*cleanBlock)
				for x := 0; x < cleanBlock; x++ {
					s[0] += px[i]
					s[1] += px[i+1]
					s[2] += px[i+2]
					i += 3
				}
			}
			n := float32(cleanBlock * cleanBlock)
			blocks[by*bw+bx] = blockOf(s[0]/n, s[1]/n, s[2]/n)
		}
	}
	return blocks
}

// block is the mean colour of a cleanBlock² square of a line.
type block struct{ r, g, b, lum, chroma float32 }

// blockOf is a block of colour r, g, b, its luminance and chroma measured.
func blockOf(r, g, b float32) block {
	c := [3]float32{r, g, b}
	return block{r: r, g: g, b: b, lum: luminance(c), chroma: chroma(c)}
}

// rgb is the block's colour, for chroma and colourDist.
func (b block) rgb() [3]float32 { return [3]float32{b.r, b.g, b.b} }

// hue is the block's hue in degrees (0 red, 120 green, 240 blue).
func (b block) hue() float32 {
	mx, mn := max(b.r, b.g, b.b), min(b.r, b.g, b.b)
	if mx == mn {
		return 0
	}
	var h float32
	switch mx {
	case b.r:
		h = 60 * (b.g - b.b) / (mx - mn)
	case b.g:
		h = 60*(b.b-b.r)/(mx-mn) + 120
	default:
		h = 60*(b.r-b.g)/(mx-mn) + 240
	}
	if h < 0 {
		h += 360
	}
	return h
}
