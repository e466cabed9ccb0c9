package anpr

import (
	"fmt"
	"image"
	"math"
	"slices"

	ort "github.com/yalue/onnxruntime_go"
)

// Recogniser input geometry: PP-OCRv4 rec takes 48 px high lines. Its cost
// grows with the line's width, and padding short plate lines to the 320 px
// of its training batches costs time without helping the plate decoder, so
// lines are only rounded up to whole steps (8 px).
const (
	recHeight   = 48
	recMinWidth = 32
	recMaxWidth = 640
	recStretch  = 1.25
)

// rectify warps the quad q of img onto a w×recHeight line of interleaved
// RGB values (0–255).
func rectify(img *image.RGBA, q Quad, w int) []float32 {
	return rectifyTo(img, q, w, recHeight)
}

// rectifyTo warps the quad q of img onto a w×h line of interleaved RGB
// values (0–255).
func rectifyTo(img *image.RGBA, q Quad, w, h int) []float32 {
	m := squareToQuad(q)
	px := make([]float32, 3*w*h)
	for y := 0; y < h; y++ {
		v := (float64(y) + 0.5) / float64(h)
		for x := 0; x < w; x++ {
			u := (float64(x) + 0.5) / float64(w)
			sx, sy := m.apply(u, v)
			r, g, b := bilinear(img, sx, sy)
			i := 3 * (y*w + x)
			px[i], px[i+1], px[i+2] = r, g, b
		}
	}
	return px
}

// recInput writes columns [c.x0, c.x1) of the line px (w wide), emblems
// and marks painted over, as the recogniser's normalised BGR planes of
// stride tw.
func recInput(px []float32, w int, c lineCleanup, tw int) []float32 {
	data := make([]float32, 3*recHeight*tw)
	plane := tw * recHeight
	for y := 0; y < recHeight; y++ {
		for x := c.x0; x < c.x1; x++ {
			i := 3 * (y*w + x)
			r, g, b := px[i], px[i+1], px[i+2]
			for _, e := range c.emblems {
				if x >= e[0] && x < e[1] {
					r, g, b = c.bg[0], c.bg[1], c.bg[2]
				}
			}
			for _, m := range c.marks {
				if x >= m.x0 && x < m.x1 && y >= m.y0 && y < m.y1 {
					r, g, b = m.rgb[0], m.rgb[1], m.rgb[2]
				}
			}
			o := y*tw + x - c.x0
			data[o] = b/127.5 - 1
			data[plane+o] = g/127.5 - 1
			data[2*plane+o] = r/127.5 - 1
		}
	}
	return data
}

// widenCut widens l's quad while a glyph touches an end of its line: a
// glyph cut by an end of the box, widened by about a glyph, and again while
// a glyph still touches that end.
func widenCut(img *image.RGBA, l rectLine) rectLine {
	for range maxWiden {
		left, right := cutEnds(l)
		if left == 0 && right == 0 {
			break
		}
		l = rectifyLine(img, widen(l.q, left/float64(l.w), right/float64(l.w)), l.c.still)
	}
	return l
}

// recognizeQuad rectifies q and runs the recogniser on it, returning the
// per-step plate symbol log probabilities and what the plate's look tells
// about its country. In a still (a photo, not a stream's frame) a line
// whose glyphs fill little of it is read tight as well (see tightLine);
// a stream's frames vote, and the second reading only cost time there
// (held-out video passes 213 → 212 of 220, 10–17 % more time per frame).
// So is a line with a grey block or a small mark between its glyphs: read
// with them painted over as well, the surer reading kept unless it lost a
// character the first was sure of (see greyemblem.go and separator.go; in
// frames, held-out video passes at or above 0.95 fell 84 → 82 of 110 with
// grey blocks, none gained).
func (r *Recognizer) recognizeQuad(img *image.RGBA, q Quad, still bool) (logProbs, plateLook, lineShape, error) {
	l := widenCut(img, rectifyLine(img, q, still))
	if still {
		if wq, ok := glyphBeyond(img, l); ok {
			l = widenCut(img, rectifyLine(img, wq, still))
		}
	}
	q, w, px, c := l.q, l.w, l.px, l.c
	look := lookAround(img, q)
	// A region cell's small digits are read apart, at full height, and
	// joined after the number (see cell.go).
	cell, hasCell := findCell(px, w, recHeight, c)
	if !hasCell {
		lp, shape, err := r.runLine(px, w, c)
		if err != nil {
			return nil, look, shape, err
		}
		if !still {
			return lp, look, shape, nil
		}
		if grey, marks := greyEmblems(l), separators(l); len(grey) > 0 || len(marks) > 0 {
			gc := c
			gc.emblems = append(slices.Clone(c.emblems), grey...)
			gc.marks = append(slices.Clone(c.marks), marks...)
			glp, gshape, err := r.runLine(px, w, gc)
			if err != nil {
				return nil, look, shape, err
			}
			if before, after := greedy(lp), greedy(glp); after.confidence() > before.confidence() && keepsSure(before, after) {
				lp, shape, c = glp, gshape, gc
			}
		}
		if tq, ok := tightLine(l); ok {
			tw, tpx, tc := lineOf(img, tq, still)
			tlp, tshape, err := r.runLine(tpx, tw, keepCuts(tc, c, float64(tw)/float64(w)))
			if err != nil {
				return nil, look, shape, err
			}
			if greedy(tlp).confidence() >= greedy(lp).confidence() {
				lp, shape = tlp, tshape
			}
		}
		return lp, look, shape, nil
	}
	main := c
	main.x1 = cell.x0
	lp, shape, err := r.runLine(px, w, main)
	if err != nil {
		return nil, look, shape, err
	}
	cl, err := r.readCell(img, q, w, cell)
	if err != nil {
		return nil, look, shape, err
	}
	return joinRows(lp, cl), look, shape, nil
}

// rectLine is a quad rectified to the recogniser's height: its width,
// pixels, cleanup and, when they tell (see glyphsOf), its glyphs. The
// steps that widen, tighten and paint a still's line all read its glyphs,
// found once here.
type rectLine struct {
	q      Quad
	w      int
	px     []float32
	c      lineCleanup
	g      glyphLine
	glyphs bool // g holds the line's glyphs
}

// rectifyLine rectifies q (see lineOf) and finds the line's glyphs.
func rectifyLine(img *image.RGBA, q Quad, still bool) rectLine {
	w, px, c := lineOf(img, q, still)
	return lineWith(q, w, px, c)
}

// lineWith is the line px (w wide, cleaned as c, rectified from q) with
// its glyphs.
func lineWith(q Quad, w int, px []float32, c lineCleanup) rectLine {
	g, ok := glyphsOf(px, w, recHeight, c)
	return rectLine{q: q, w: w, px: px, c: c, g: g, glyphs: ok}
}

// lineOf rectifies q into a line of the recogniser's height and analyses
// it: its width, pixels and cleanup (of a still's line or a frame's).
func lineOf(img *image.RGBA, q Quad, still bool) (int, []float32, lineCleanup) {
	// Lines are stretched a little: more time steps per glyph give the CTC
	// decoder room for the separator between doubled characters (77, KK).
	w := int(math.Round(recStretch * recHeight * q.width() / math.Max(q.height(), 1)))
	w = clampInt(w, 16, recMaxWidth)
	px := rectify(img, q, w)
	c := cleanLine(px, w, recHeight)
	c.still = still
	return w, px, c
}

// readCell reads the digits of a region cell found in the line rectified
// from q (w columns wide) at the recogniser's full height.
func (r *Recognizer) readCell(img *image.RGBA, q Quad, w int, cell regionCell) (logProbs, error) {
	fw := float64(w)
	sq := q.part(float64(cell.x0)/fw, float64(cell.y0)/recHeight, float64(cell.x1)/fw, float64(cell.y1)/recHeight)
	cw := int(math.Round(recStretch * recHeight * sq.width() / math.Max(sq.height(), 1)))
	cw = clampInt(cw, 16, recMaxWidth)
	px := rectify(img, sq, cw)
	lp, _, err := r.runLine(px, cw, lineCleanup{x0: 0, x1: cw})
	return lp, err
}

// runLine runs the recogniser on columns [c.x0, c.x1) of the rectified
// line px (w wide), emblems painted over.
func (r *Recognizer) runLine(px []float32, w int, c lineCleanup) (logProbs, lineShape, error) {
	n := c.x1 - c.x0
	tw := max(recMinWidth, (n+7)/8*8)
	data := recInput(px, w, c, tw)
	in, err := ort.NewTensor(ort.NewShape(1, 3, recHeight, int64(tw)), data)
	if err != nil {
		return nil, lineShape{}, fmt.Errorf("recogniser input tensor: %w", err)
	}
	defer in.Destroy()
	outs := []ort.Value{nil}
	if err := r.rec.Run([]ort.Value{in}, outs); err != nil {
		return nil, lineShape{}, fmt.Errorf("run recogniser: %w", err)
	}
	defer outs[0].Destroy()
	out, ok := outs[0].(*ort.Tensor[float32])
	if !ok {
		return nil, lineShape{}, fmt.Errorf("recogniser output is %T, want float32 tensor", outs[0])
	}
	shape := out.GetShape()
	if len(shape) != 3 || int(shape[2]) != r.classes {
		return nil, lineShape{}, fmt.Errorf("recogniser output shape %v, want [1 T %d]", shape, r.classes)
	}
	steps := int(shape[1])
	// Steps that only see padding carry nothing; dropping them keeps a
	// junk-free tail for the decoder.
	used := min(steps, (n*steps+tw-1)/tw+1)
	lp := reduceProbs(out.GetData(), used, r.classes, r.symbols)
	for t := range lp {
		a, b := c.x0+t*tw/steps, c.x0+(t+1)*tw/steps // the step's columns
		for _, s := range c.slivers {
			if a < s[1] && b > s[0] {
				lp[t] = discountChars(lp[t], sliverOdds)
			}
		}
	}
	ls := shapeEvidence(lp, px, w, recHeight, c, tw, steps)
	strayEnds(lp, px, w, recHeight, c, tw, steps)
	return lp, ls, nil
}
