package anpr

import (
	"image"
	"math/rand/v2"
)

// framePlace puts the plate of one frame of a synthetic pass.
type framePlace struct {
	cx, cy, pw float64
	seed       uint64 // of the vehicle and the road, the same in every frame
}

func (f *framePlace) static() *rand.Rand {
	return rand.New(rand.NewPCG(f.seed, f.seed^0x51afd7ed558ccd))
}

// SynthPass is one vehicle driving through a camera's view: its frames in
// order, taken 1/fps apart, and the plate's text.
type SynthPass struct {
	Text    string
	Country string
	Frames  []*image.RGBA
	Boxes   []image.Rectangle // the plate's box in each frame (clipped to it)
}

// Pass draws a vehicle of country approaching a w×h camera: its plate
// appears small in the upper part of the view and grows as it comes down
// and leaves at the bottom edge, part of it already out of the frame in
// the last frame. The conditions (night, rain, dirt, turn, motion blur)
// hold for the whole pass; noise and glare change from frame to frame.
func (s *Synthesizer) Pass(country string, w, h, frames int) (SynthPass, error) {
	text, rows, err := s.RandomPlate(country)
	if err != nil {
		return SynthPass{}, err
	}
	plate, err := s.NationalPlate(country, text, rows)
	if err != nil {
		return SynthPass{}, err
	}
	cond := s.RandomConditions()
	r := s.rng
	fw, fh := float64(w), float64(h)
	// the plate's width grows by up to 2× on the way; it starts at 10-16 %
	// of the frame's width (a 720p camera sees it 130-200 px wide)
	pw0 := fw * (0.10 + 0.06*r.Float64())
	grow := 1.3 + 0.7*r.Float64()
	x0 := fw * (0.25 + 0.5*r.Float64())
	drift := fw * (r.Float64() - 0.5) * 0.15
	y0 := fh * (0.30 + 0.1*r.Float64())
	ph := float64(plate.Rect.Dy()) / float64(plate.Rect.Dx())
	// the last frame has the plate's centre near the bottom edge: half out
	y1 := fh - pw0*grow*ph*(0.1+0.4*r.Float64())
	seed := r.Uint64()
	p := SynthPass{Text: text, Country: country}
	for k := range frames {
		t := float64(k) / float64(max(frames-1, 1))
		at := &framePlace{cx: x0 + drift*t, cy: y0 + (y1-y0)*t*t, pw: pw0 * (1 + (grow-1)*t), seed: seed}
		img, box, err := s.scene(plate, w, h, cond, at)
		if err != nil {
			return SynthPass{}, err
		}
		p.Frames = append(p.Frames, img)
		p.Boxes = append(p.Boxes, box)
	}
	return p, nil
}
