package anpr

import (
	"fmt"
	"image"
	"math"

	ort "github.com/yalue/onnxruntime_go"
)

// DB post-processing parameters (PP-OCR defaults, box threshold lowered a
// little because plates are small in a wide frame).
const (
	detBinThresh = 0.3
	detBoxThresh = 0.5
	detUnclip    = 1.5
	detMinSide   = 3 // pixels in the detector's input
)

// ImageNet normalisation PP-OCR's detector was trained with, in its BGR
// channel order.
var detMean = [3]float32{0.485, 0.456, 0.406}
var detStd = [3]float32{0.229, 0.224, 0.225}

// textBox is a detected text line.
type textBox struct {
	quad  Quad
	score float64
	root  int // in readBoxes: 1 + the index of the scan's box it came from (0: none)
}

// detect runs the DB text detector on img (already cut to the region of
// interest), scaled so its longer side is at most maxSide, and returns the
// text boxes in img's coordinates.
func detect(sess *ort.DynamicAdvancedSession, img *image.RGBA, maxSide int) ([]textBox, error) {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	return detectAt(sess, img, math.Min(1, float64(maxSide)/float64(max(w, h))))
}

// detectAt runs the detector on img scaled by s (rounded so both sides are
// multiples of 32, as the network needs) and returns the text boxes in img's
// coordinates. s may exceed 1 to enlarge small text.
func detectAt(sess *ort.DynamicAdvancedSession, img *image.RGBA, s float64) ([]textBox, error) {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	if w < 8 || h < 8 {
		return nil, nil
	}
	g := gridOf(img.Rect, s)
	return detectCells(sess, img, g, image.Rect(0, 0, g.dw, g.dh))
}

// detGrid is how a detector run samples a region: its input is dw x dh
// pixels, pixel (i, j) covering the region's pixels from (x0 + i*sx,
// y0 + j*sy).
type detGrid struct {
	x0, y0, dw, dh int
	sx, sy         float64
}

// gridOf is the grid of a detector run on r scaled by s, rounded so both
// sides are multiples of 32.
func gridOf(r image.Rectangle, s float64) detGrid {
	w, h := r.Dx(), r.Dy()
	dw := max(32, int(math.Round(float64(w)*s/32))*32)
	dh := max(32, int(math.Round(float64(h)*s/32))*32)
	return detGrid{r.Min.X, r.Min.Y, dw, dh, float64(w) / float64(dw), float64(h) / float64(dh)}
}

// pixels is the rectangle of the region that the grid's input pixels c
// cover.
func (g detGrid) pixels(c image.Rectangle) image.Rectangle {
	return image.Rect(g.x0+int(math.Floor(float64(c.Min.X)*g.sx)), g.y0+int(math.Floor(float64(c.Min.Y)*g.sy)),
		g.x0+int(math.Ceil(float64(c.Max.X)*g.sx)), g.y0+int(math.Ceil(float64(c.Max.Y)*g.sy)))
}

// detectCells runs the detector on the input pixels c of grid g over img
// (c's sides and corner multiples of 32: the part of the whole run's input
// it stands for, sampled alike) and returns the text boxes in img's
// coordinates.
func detectCells(sess *ort.DynamicAdvancedSession, img *image.RGBA, g detGrid, c image.Rectangle) ([]textBox, error) {
	dw, dh := c.Dx(), c.Dy()
	sx, sy := g.sx, g.sy
	data := make([]float32, 3*dw*dh)
	plane := dw * dh
	ox, oy := g.x0, g.y0
	for y := 0; y < dh; y++ {
		gy := c.Min.Y + y
		y0 := oy + int(float64(gy)*sy)
		y1 := oy + int(float64(gy+1)*sy)
		for x := 0; x < dw; x++ {
			gx := c.Min.X + x
			var r, g, b float32
			if sx > 1.5 || sy > 1.5 {
				r, g, b = boxSample(img, ox+int(float64(gx)*sx), y0, ox+int(float64(gx+1)*sx), y1)
			} else {
				r, g, b = bilinear(img, float64(ox)+(float64(gx)+0.5)*sx, float64(oy)+(float64(gy)+0.5)*sy)
			}
			i := y*dw + x
			data[i] = (b/255 - detMean[0]) / detStd[0]
			data[plane+i] = (g/255 - detMean[1]) / detStd[1]
			data[2*plane+i] = (r/255 - detMean[2]) / detStd[2]
		}
	}
	in, err := ort.NewTensor(ort.NewShape(1, 3, int64(dh), int64(dw)), data)
	if err != nil {
		return nil, fmt.Errorf("detector input tensor: %w", err)
	}
	defer in.Destroy()
	out, err := ort.NewEmptyTensor[float32](ort.NewShape(1, 1, int64(dh), int64(dw)))
	if err != nil {
		return nil, fmt.Errorf("detector output tensor: %w", err)
	}
	defer out.Destroy()
	if err := sess.Run([]ort.Value{in}, []ort.Value{out}); err != nil {
		return nil, fmt.Errorf("run text detector: %w", err)
	}
	boxes := dbBoxes(out.GetData(), dw, dh)
	for i := range boxes {
		for k := range boxes[i].quad {
			p := &boxes[i].quad[k]
			p.X = float64(ox) + (float64(c.Min.X)+p.X)*sx
			p.Y = float64(oy) + (float64(c.Min.Y)+p.Y)*sy
		}
	}
	return boxes, nil
}

// dbBoxes turns a DB probability map into text boxes: connected regions above
// detBinThresh, scored by their mean probability, fitted with a rotated
// rectangle and grown by the unclip ratio (DB shrinks text regions in
// training, so the raw region is smaller than the text).
func dbBoxes(prob []float32, w, h int) []textBox {
	label := make([]int32, w*h)
	var boxes []textBox
	var stack []int
	next := int32(0)
	for start := range prob {
		if prob[start] <= detBinThresh || label[start] != 0 {
			continue
		}
		next++
		label[start] = next
		stack = append(stack[:0], start)
		// Per row extremes suffice for the convex hull.
		minX := map[int]int{}
		maxX := map[int]int{}
		sum, n := 0.0, 0
		for len(stack) > 0 {
			i := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			x, y := i%w, i/w
			sum += float64(prob[i])
			n++
			if v, ok := minX[y]; !ok || x < v {
				minX[y] = x
			}
			if v, ok := maxX[y]; !ok || x > v {
				maxX[y] = x
			}
			for _, d := range [4][2]int{{1, 0}, {-1, 0}, {0, 1}, {0, -1}} {
				nx, ny := x+d[0], y+d[1]
				if nx < 0 || ny < 0 || nx >= w || ny >= h {
					continue
				}
				j := ny*w + nx
				if label[j] == 0 && prob[j] > detBinThresh {
					label[j] = next
					stack = append(stack, j)
				}
			}
		}
		score := sum / float64(n)
		if n < 4 || score < detBoxThresh {
			continue
		}
		pts := make([]point, 0, 4*len(minX))
		for y, x0 := range minX {
			x1 := maxX[y]
			fy := float64(y)
			pts = append(pts, point{float64(x0), fy}, point{float64(x0), fy + 1},
				point{float64(x1 + 1), fy}, point{float64(x1 + 1), fy + 1})
		}
		c, u, hw, hh := minAreaRect(convexHull(pts))
		if 2*math.Min(hw, hh) < detMinSide {
			continue
		}
		// Unclip: offset distance = area * ratio / perimeter.
		d := (4 * hw * hh) * detUnclip / (4 * (hw + hh))
		boxes = append(boxes, textBox{quad: rectQuad(c, u, hw+d, hh+d), score: score})
	}
	return boxes
}
