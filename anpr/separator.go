package anpr

import "slices"

// Many plates set a small mark between two groups of characters: a dash,
// a dot, a state's emblem (a Florida orange, the shape of Texas), seen at
// a distance as a blob half a character high. The recogniser reads it as
// a character (SH0R7X read SHOLR7X). Such a mark is ink between two
// glyphs, floating inside their band (a glyph broken by dirt or blur
// leaves pieces that reach its top line or baseline, or stack up to its
// height), in a gap wider than the glyphs' usual spacing. It is painted
// over in its own box with the plate's colour around it (painting whole
// columns with the line's background would draw a bar where the crop
// holds more than the plate), and the line read that way as well, that
// reading kept only when the recogniser is surer of it and still reads
// every character it was sure of (see recognizeQuad and keepsSure).
const (
	sepHeight = 0.7 // the mark's ink is at most this share of the glyph height
	sepWide   = 1.0 // and at most this many glyph heights wide
	sepFloat  = 0.1 // glyph heights it keeps clear of their top line and baseline
	sepGap    = 1.3 // the gap it sits in, beyond its width, of the glyphs' median spacing
	sepLight  = 0.8 // its ink is darker than this share of the background
	markKeep  = 0.8 // a character read this surely is not painted away
)

// separators returns the boxes of a rectified line to paint over as marks
// between groups of characters.
func separators(l rectLine) []markBox {
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
	// A mark may be lighter than the glyphs' ink (a tan emblem): it is
	// looked for at a lighter threshold first, which takes all of such a
	// mark and cannot hide a broken glyph's pieces, then at the glyphs'
	// own, where a dark mark the blur joins to a glyph at the lighter one
	// stands apart.
	light := max(g.dark, sepLight*l.c.bgLum())
	levels := [][]inkPart{g.parts}
	if light > g.dark { // a dim still's glyphs may have been found at a lighter level already
		levels = [][]inkPart{inkParts(l.px, l.w, recHeight, l.c.x0, l.c.x1, light), g.parts}
	}
	var out []markBox
	for _, parts := range levels {
		for _, p := range parts {
			box, gap, ok := markOf(p, parts, g, gs, spacing)
			if !ok || slices.ContainsFunc(out, func(o markBox) bool { return o.x0 < box.x1 && o.x1 > box.x0 }) {
				continue // none, or found at the lighter threshold
			}
			box.rgb = plateAround(l, gap[0], gap[1], light)
			out = append(out, box)
		}
	}
	return out
}

// markOf is the box of the mark that the part p of parts stands for, and
// the columns of the gap it lies in, between the glyphs gs (in reading
// order, their median spacing apart); false when p is no mark.
func markOf(p inkPart, parts []inkPart, g glyphLine, gs []inkPart, spacing int) (markBox, [2]int, bool) {
	gh := float64(g.height)
	if float64(p.height()) > sepHeight*gh || float64(p.x1-p.x0) > sepWide*gh {
		return markBox{}, [2]int{}, false
	}
	// the ink in the mark's columns and the glyphs' band, whatever part it
	// belongs to
	m := p
	for _, q := range parts {
		if q.x0 < p.x1 && q.x1 > p.x0 && q.y0 < g.bottom && q.y1 > g.top {
			m.x0, m.x1 = min(m.x0, q.x0), max(m.x1, q.x1)
			m.y0, m.y1 = min(m.y0, q.y0), max(m.y1, q.y1)
		}
	}
	clear := int(sepFloat * gh)
	if float64(m.height()) > sepHeight*gh || m.y0 < g.top+clear || m.y1 > g.bottom-clear {
		return markBox{}, [2]int{}, false
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
		return markBox{}, [2]int{}, false // at an end, or over a glyph
	}
	a, b := gs[left].x1, gs[right].x0
	if float64(b-a) < sepGap*float64(spacing)+float64(m.x1-m.x0) {
		return markBox{}, [2]int{}, false
	}
	return markBox{x0: max(a, m.x0-1), x1: min(b, m.x1+1), y0: max(0, m.y0-1), y1: min(recHeight, m.y1+1)}, [2]int{a, b}, true
}

// keepsSure reports whether a reading after marks were painted over
// still has every character the reading before had at markKeep or more,
// as that character or its twin (O and 0, I and 1), within a step of where
// it was: painting may take away or settle what the recogniser doubted
// (the L a heart was read as), never a glyph it was sure of (the B of
// 89B794UL, too faint for the glyphs' ink threshold; the 6 of MH6V4L,
// whose loop alone looked like a mark).
func keepsSure(before, after decoded) bool {
	for i, sp := range before.spans {
		if before.probs[i] < markKeep {
			continue
		}
		kept := false
		for j, sq := range after.spans {
			if sq[0] <= sp[1]+1 && sq[1] >= sp[0]-1 && twins(before.text[i], after.text[j]) {
				kept = true
				break
			}
		}
		if !kept {
			return false
		}
	}
	return true
}

// twins reports whether a and b are one glyph in plate fonts.
func twins(a, b byte) bool {
	return a == b || twinsAsDigits(string(a)) == twinsAsDigits(string(b))
}

// plateAround is the mean colour of the plate in columns [a, b) of the
// glyphs' band: the pixels there lighter than light (the line's background
// when none are).
func plateAround(l rectLine, a, b int, light float32) [3]float32 {
	var s [3]float32
	n := 0
	for y := l.g.top; y < l.g.bottom; y++ {
		for x := a; x < b; x++ {
			i := 3 * (y*l.w + x)
			if lumAt(l.px, i) < light {
				continue
			}
			s[0], s[1], s[2] = s[0]+l.px[i], s[1]+l.px[i+1], s[2]+l.px[i+2]
			n++
		}
	}
	if n == 0 {
		return l.c.bg
	}
	return [3]float32{s[0] / float32(n), s[1] / float32(n), s[2] / float32(n)}
}
