package anpr

import (
	"image"
	"math"
)

// Most of a scan's cost is the detector, and most of a gate camera's view
// is the same from one scan to the next: the road, the verges, the body of
// a vehicle whose plate is not yet in view. Between scans of the whole
// region of interest (at least every FullScanEvery frames), a Stream's scan
// detects only the parts that changed since they were last scanned: the
// blocks of the motion thumbnail whose grey level moved by more than
// stillBlockDelta since the scan that last covered them, grown by
// partMargin blocks, and the surroundings of the plates in view. A plate
// that enters or moves changes its blocks; one that stopped was found in
// the scan that saw it arrive, and is followed where it stands. A text box
// that reaches a part's inner edge is detected again in a part grown
// around it, so a plate straddling the edge is outlined whole.
const (
	partMargin = 1 // blocks around a changed block that are detected with it
	// When the parts would cover more than this share of the region of
	// interest, it is scanned whole (one detector run costs less).
	partMaxShare = 0.6
	partEdge     = 3 // pixels: a box this close to a part's inner edge may be cut
)

// blockRect is the rectangle of r covered by the thumbnail block (bx, by)
// (see thumbOf).
func blockRect(bx, by int, r image.Rectangle) image.Rectangle {
	w, h := r.Dx(), r.Dy()
	x0 := r.Min.X + (bx*w+thumbW-1)/thumbW
	x1 := r.Min.X + ((bx+1)*w+thumbW-1)/thumbW
	y0 := r.Min.Y + (by*h+thumbH-1)/thumbH
	y1 := r.Min.Y + ((by+1)*h+thumbH-1)/thumbH
	return image.Rect(x0, y0, x1, y1)
}

// changedParts returns the parts of r a scan must detect: the blocks that
// changed between ref (each block as last scanned) and th, grown by
// partMargin, and the rectangles keep; full when they would cover so much
// of r that scanning it whole costs less. Parts are whole 32-pixel cells
// of g, the whole scan's detector grid, and do not overlap.
func changedParts(ref, th *thumbnail, r image.Rectangle, keep []image.Rectangle, g detGrid) (parts []image.Rectangle, full bool) {
	var mask [thumbW * thumbH]bool
	for by := 0; by < thumbH; by++ {
		for bx := 0; bx < thumbW; bx++ {
			k := by*thumbW + bx
			if d := int(ref[k]) - int(th[k]); d <= stillBlockDelta && d >= -stillBlockDelta {
				continue
			}
			for y := max(0, by-partMargin); y <= min(thumbH-1, by+partMargin); y++ {
				for x := max(0, bx-partMargin); x <= min(thumbW-1, bx+partMargin); x++ {
					mask[y*thumbW+x] = true
				}
			}
		}
	}
	// Connected blocks make one part.
	var cells []image.Rectangle
	var seen [thumbW * thumbH]bool
	var stack []int
	for start := range mask {
		if !mask[start] || seen[start] {
			continue
		}
		seen[start] = true
		stack = append(stack[:0], start)
		minX, minY, maxX, maxY := thumbW, thumbH, -1, -1
		for len(stack) > 0 {
			k := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			x, y := k%thumbW, k/thumbW
			minX, minY, maxX, maxY = min(minX, x), min(minY, y), max(maxX, x), max(maxY, y)
			for dy := -1; dy <= 1; dy++ {
				for dx := -1; dx <= 1; dx++ {
					nx, ny := x+dx, y+dy
					if nx < 0 || ny < 0 || nx >= thumbW || ny >= thumbH {
						continue
					}
					if j := ny*thumbW + nx; mask[j] && !seen[j] {
						seen[j] = true
						stack = append(stack, j)
					}
				}
			}
		}
		cells = append(cells, g.cellsOf(blockRect(minX, minY, r).Union(blockRect(maxX, maxY, r))))
	}
	for _, k := range keep {
		if k = k.Intersect(r); !k.Empty() {
			cells = append(cells, g.cellsOf(k))
		}
	}
	cells = mergeCells(cells)
	area := 0
	for _, c := range cells {
		area += c.Dx() * c.Dy()
		parts = append(parts, g.pixels(c).Intersect(r))
	}
	if float64(area) > partMaxShare*float64(g.dw*g.dh) {
		return nil, true
	}
	return parts, false
}

// cellsOf is the smallest rectangle of whole 32-pixel cells of g's input
// that covers the region's pixels p.
func (g detGrid) cellsOf(p image.Rectangle) image.Rectangle {
	cx, cy := 32*g.sx, 32*g.sy
	x0 := int(math.Floor(float64(p.Min.X-g.x0)/cx+1e-6)) * 32
	y0 := int(math.Floor(float64(p.Min.Y-g.y0)/cy+1e-6)) * 32
	x1 := int(math.Ceil(float64(p.Max.X-g.x0)/cx-1e-6)) * 32
	y1 := int(math.Ceil(float64(p.Max.Y-g.y0)/cy-1e-6)) * 32
	return image.Rect(x0, y0, x1, y1).Intersect(image.Rect(0, 0, g.dw, g.dh))
}

// cellsAt is the cells of a part made by changedParts (the inverse of
// pixels).
func (g detGrid) cellsAt(p image.Rectangle) image.Rectangle {
	cx, cy := 32*g.sx, 32*g.sy
	x0 := int(math.Round(float64(p.Min.X-g.x0)/cx)) * 32
	y0 := int(math.Round(float64(p.Min.Y-g.y0)/cy)) * 32
	x1 := int(math.Round(float64(p.Max.X-g.x0)/cx)) * 32
	y1 := int(math.Round(float64(p.Max.Y-g.y0)/cy)) * 32
	return image.Rect(x0, y0, x1, y1).Intersect(image.Rect(0, 0, g.dw, g.dh))
}

// mergeCells merges the rectangles that overlap, until none does.
func mergeCells(cells []image.Rectangle) []image.Rectangle {
	for merged := true; merged; {
		merged = false
		for i := 0; i < len(cells) && !merged; i++ {
			for j := i + 1; j < len(cells); j++ {
				if cells[i].Overlaps(cells[j]) {
					cells[i] = cells[i].Union(cells[j])
					cells = append(cells[:j], cells[j+1:]...)
					merged = true
					break
				}
			}
		}
	}
	return cells
}

// refreshRef records th as the look of the blocks the parts scanned (every
// block when parts is nil).
func refreshRef(ref, th *thumbnail, r image.Rectangle, parts []image.Rectangle) {
	if parts == nil {
		*ref = *th
		return
	}
	for by := 0; by < thumbH; by++ {
		for bx := 0; bx < thumbW; bx++ {
			b := blockRect(bx, by, r)
			for _, p := range parts {
				if b.In(p) {
					k := by*thumbW + bx
					ref[k] = th[k]
					break
				}
			}
		}
	}
}

// detectParts runs the detector on the parts of img (made by changedParts
// for grid g), each sampled as in a whole scan. A part in which a box
// reaches an inner edge is detected again grown around that box (parts is
// updated), and of boxes found twice where grown parts overlap the more
// confident is kept.
func detectParts(r *Recognizer, img *image.RGBA, parts []image.Rectangle, g detGrid) ([]textBox, error) {
	bounds := img.Rect
	var out []textBox
	for i, p := range parts {
		others := len(out) // boxes of the other parts
		c := g.cellsAt(p)
		if c.Empty() {
			continue
		}
		found, err := detectCells(r.det, img, g, c)
		if err != nil {
			return nil, err
		}
		grown := c
		for _, b := range found {
			if cutByPart(b.quad.Bounds(), p, bounds) {
				grown = grown.Union(g.cellsOf(growRegion(b, bounds)))
			}
		}
		if grown != c {
			if found, err = detectCells(r.det, img, g, grown); err != nil {
				return nil, err
			}
			parts[i] = g.pixels(grown).Intersect(bounds)
		}
		for _, b := range found {
			out = addBox(out, others, b)
		}
	}
	return out, nil
}

// cutByPart reports whether box reaches an edge of part that lies inside
// bounds.
func cutByPart(box, part, bounds image.Rectangle) bool {
	return (part.Min.X > bounds.Min.X && box.Min.X <= part.Min.X+partEdge) ||
		(part.Min.Y > bounds.Min.Y && box.Min.Y <= part.Min.Y+partEdge) ||
		(part.Max.X < bounds.Max.X && box.Max.X >= part.Max.X-partEdge) ||
		(part.Max.Y < bounds.Max.Y && box.Max.Y >= part.Max.Y-partEdge)
}

// addBox adds b unless one of the first n boxes (another part's) outlines
// the same text already; the more confident of the two stays.
func addBox(boxes []textBox, n int, b textBox) []textBox {
	for i, o := range boxes[:n] {
		if overlapping(o.quad.Bounds(), b.quad.Bounds()) {
			if b.score > o.score {
				boxes[i] = b
			}
			return boxes
		}
	}
	return append(boxes, b)
}
