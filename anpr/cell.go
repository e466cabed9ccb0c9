package anpr

import (
	"math"
	"sort"
)

// A region cell (Russia's: the region's digits over "RUS" and a flag, at the
// plate's right end) holds digits little more than half as high as the
// number's. Read in the same 48-pixel line as the number they are a dozen
// pixels high, and blurred ones are lost (28 read as 2). The cell is found
// by the plate's geometry, the ink's connected parts: after the number's
// glyphs, smaller ones that stand high, with smaller print below them. Its
// digits are then read on their own, at the recogniser's full height.
const (
	cellDark     = 0.6  // of the background's luminance: darker pixels are ink
	cellGlyphMin = 0.25 // of the line height: a main glyph is at least this high
	cellSmallMin = 0.35 // of the main glyphs' height: a cell digit's height, from
	cellSmallMax = 0.8  // ... to
	cellHigh     = 0.15 // of the main glyphs' height: a cell digit ends at least this far above their bottom
	cellGap      = 0.4  // of the main glyphs' height: the cell's digits lie at least this far after the number (its bar between)
)

// regionCell is the box of a region cell's digits in a rectified line, in
// its pixels: columns [x0, x1), rows [y0, y1).
type regionCell struct{ x0, x1, y0, y1 int }

// inkPart is a connected part of a line's ink: its box and pixel count.
type inkPart struct{ x0, x1, y0, y1, n int }

func (p inkPart) height() int { return p.y1 - p.y0 }

// findCell looks for a region cell at the right end of the kept columns of a
// rectified line (interleaved RGB, w×h).
func findCell(px []float32, w, h int, c lineCleanup) (regionCell, bool) {
	bgLum := c.bgLum()
	if bgLum < 60 || c.x1-c.x0 < 2*h {
		return regionCell{}, false // too dark to tell ink, or too short a line
	}
	parts := inkParts(px, w, h, c.x0, c.x1, cellDark*bgLum)
	// The number's glyphs: their height and bottom, and where the last of
	// them ends (the cell's bar, taller, is none of them).
	glyphs, mainH := mainGlyphs(parts, h, math.Inf(1))
	if len(glyphs) < 3 {
		return regionCell{}, false
	}
	bottoms := make([]int, len(glyphs))
	last := 0
	for i, g := range glyphs {
		bottoms[i] = g.y1
		last = max(last, g.x1)
	}
	sort.Ints(bottoms)
	mainBottom := bottoms[len(bottoms)/2]
	cell := regionCell{x0: w, y0: h}
	digits := 0
	for _, p := range parts {
		ph := float64(p.height())
		switch {
		case float64(p.x0-last) < cellGap*float64(mainH):
			// a fragment of the last glyph, or no cell
		case ph < cellSmallMin*float64(mainH) || ph > cellSmallMax*float64(mainH):
		case float64(mainBottom-p.y1) < cellHigh*float64(mainH):
		default:
			digits++
			cell.x0, cell.x1 = min(cell.x0, p.x0), max(cell.x1, p.x1)
			cell.y0, cell.y1 = min(cell.y0, p.y0), max(cell.y1, p.y1)
		}
	}
	if digits == 0 {
		return regionCell{}, false
	}
	// Print below the digits (RUS, the flag) tells a cell from the end of
	// a line whose last characters merely stand high.
	below := false
	for _, p := range parts {
		if p.x1 > cell.x0 && p.x0 < cell.x1 && p.y0 >= cell.y1 {
			below = true
		}
	}
	if !below {
		return regionCell{}, false
	}
	// Blur breaks a thin digit into pieces too small to count (the 7 of a
	// cell's 70 kept only its top bar): pieces within the cell's rows, and
	// within a digit's width of its digits, are the cell's too.
	reach := int(cellSmallMax * float64(mainH))
	for _, p := range parts {
		if float64(p.x0-last) >= cellGap*float64(mainH) && p.y0 >= cell.y0 && p.y1 <= cell.y1 &&
			p.x1 >= cell.x0-reach && p.x0 <= cell.x1+reach {
			cell.x0, cell.x1 = min(cell.x0, p.x0), max(cell.x1, p.x1)
		}
	}
	m := max(2, (cell.y1-cell.y0)/5)
	cell.x0, cell.x1 = max(last, cell.x0-m), min(c.x1, cell.x1+m)
	cell.y0, cell.y1 = max(0, cell.y0-m), min(h, cell.y1+m)
	return cell, true
}

// inkParts labels the 8-connected parts of the pixels darker than dark in
// columns [x0, x1) of a line, leaving out parts that touch the top or
// bottom row (the vehicle, the plate's rim) and specks.
func inkParts(px []float32, w, h, x0, x1 int, dark float32) []inkPart {
	cw := x1 - x0
	seen := make([]bool, cw*h)
	isInk := func(x, y int) bool {
		i := 3 * (y*w + x0 + x)
		return lumAt(px, i) < dark
	}
	var parts []inkPart
	var stack []int
	for start := range seen {
		if seen[start] || !isInk(start%cw, start/cw) {
			continue
		}
		p := inkPart{x0: cw, y0: h}
		edge := false
		seen[start] = true
		stack = append(stack[:0], start)
		for len(stack) > 0 {
			k := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			x, y := k%cw, k/cw
			p.x0, p.x1 = min(p.x0, x), max(p.x1, x+1)
			p.y0, p.y1 = min(p.y0, y), max(p.y1, y+1)
			p.n++
			edge = edge || y == 0 || y == h-1
			for dy := -1; dy <= 1; dy++ {
				for dx := -1; dx <= 1; dx++ {
					nx, ny := x+dx, y+dy
					if nx < 0 || nx >= cw || ny < 0 || ny >= h {
						continue
					}
					if j := ny*cw + nx; !seen[j] && isInk(nx, ny) {
						seen[j] = true
						stack = append(stack, j)
					}
				}
			}
		}
		if !edge && p.n >= 6 {
			p.x0 += x0
			p.x1 += x0
			parts = append(parts, p)
		}
	}
	return parts
}
