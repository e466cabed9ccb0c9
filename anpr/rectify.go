package anpr

import (
	"fmt"
	"image"
	"math"

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

// rectify warps the quad q of img onto a w×recHeight line, writing the
// recogniser's normalised BGR planes into data (3 planes of stride tw).
func rectify(img *image.RGBA, q Quad, data []float32, w, tw int) {
	m := squareToQuad(q)
	plane := tw * recHeight
	for y := 0; y < recHeight; y++ {
		v := (float64(y) + 0.5) / recHeight
		for x := 0; x < w; x++ {
			u := (float64(x) + 0.5) / float64(w)
			sx, sy := m.apply(u, v)
			r, g, b := bilinear(img, sx, sy)
			i := y*tw + x
			data[i] = b/127.5 - 1
			data[plane+i] = g/127.5 - 1
			data[2*plane+i] = r/127.5 - 1
		}
	}
}

// recognizeQuad rectifies q and runs the recogniser on it, returning the
// per-step plate symbol log probabilities.
func (r *Recognizer) recognizeQuad(img *image.RGBA, q Quad) (logProbs, error) {
	qw, qh := q.width(), q.height()
	// Lines are stretched a little: more time steps per glyph give the CTC
	// decoder room for the separator between doubled characters (77, KK).
	w := int(math.Round(recStretch * recHeight * qw / math.Max(qh, 1)))
	w = clampInt(w, 16, recMaxWidth)
	tw := max(recMinWidth, (w+7)/8*8)
	data := make([]float32, 3*recHeight*tw)
	rectify(img, q, data, w, tw)
	in, err := ort.NewTensor(ort.NewShape(1, 3, recHeight, int64(tw)), data)
	if err != nil {
		return nil, fmt.Errorf("recogniser input tensor: %w", err)
	}
	defer in.Destroy()
	outs := []ort.Value{nil}
	if err := r.rec.Run([]ort.Value{in}, outs); err != nil {
		return nil, fmt.Errorf("run recogniser: %w", err)
	}
	defer outs[0].Destroy()
	out, ok := outs[0].(*ort.Tensor[float32])
	if !ok {
		return nil, fmt.Errorf("recogniser output is %T, want float32 tensor", outs[0])
	}
	shape := out.GetShape()
	if len(shape) != 3 || int(shape[2]) != r.classes {
		return nil, fmt.Errorf("recogniser output shape %v, want [1 T %d]", shape, r.classes)
	}
	steps := int(shape[1])
	// Steps that only see padding carry nothing; dropping them keeps a
	// junk-free tail for the decoder.
	used := min(steps, (w*steps+tw-1)/tw+1)
	return reduceProbs(out.GetData(), used, r.classes, r.symbols), nil
}
