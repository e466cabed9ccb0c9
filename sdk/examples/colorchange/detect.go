package main

import (
	"math"
	"time"

	"github.com/kuzet/kuzet/sdk/plugin"
)

// rgb is a mean colour, each channel in 0..255.
type rgb [3]float64

func (c rgb) dist(o rgb) float64 {
	dr, dg, db := c[0]-o[0], c[1]-o[1], c[2]-o[2]
	return math.Sqrt(dr*dr + dg*dg + db*db)
}

// ints rounds the colour for messages and event data.
func (c rgb) ints() [3]int {
	return [3]int{int(math.Round(c[0])), int(math.Round(c[1])), int(math.Round(c[2]))}
}

// meanColor is the mean colour of a frame; false if its pixels do not
// match its size and format.
func meanColor(f plugin.Frame) (rgb, bool) {
	n := f.Width * f.Height
	if n <= 0 {
		return rgb{}, false
	}
	switch {
	case f.Format == plugin.FormatGray && len(f.Pix) == n:
		var s uint64
		for _, v := range f.Pix {
			s += uint64(v)
		}
		m := float64(s) / float64(n)
		return rgb{m, m, m}, true
	case f.Format == plugin.FormatRGB24 && len(f.Pix) == 3*n:
		var s [3]uint64
		for i := 0; i < len(f.Pix); i += 3 {
			s[0] += uint64(f.Pix[i])
			s[1] += uint64(f.Pix[i+1])
			s[2] += uint64(f.Pix[i+2])
		}
		return rgb{float64(s[0]) / float64(n), float64(s[1]) / float64(n), float64(s[2]) / float64(n)}, true
	}
	return rgb{}, false
}

// change is a move of a camera's picture from one settled colour to
// another.
type change struct{ from, to rgb }

// detector follows one camera's mean colour. It smooths over the last
// few frames and reports a change only once the picture has settled on
// its new colour, so that a flash, or the frames of a fade, raise nothing
// and one change raises one event.
type detector struct {
	threshold float64       // Euclidean distance in 0..255 RGB
	cooldown  time.Duration // between two changes reported
	size      int           // frames smoothed over

	window   []rgb // the last size means, oldest first
	baseline rgb
	settled  bool      // baseline holds a colour
	last     time.Time // when the last change was reported
}

func newDetector(threshold float64, cooldown time.Duration, size int) *detector {
	return &detector{threshold: threshold, cooldown: cooldown, size: max(size, 1)}
}

// observe takes the mean colour of a frame seen at now and tells whether
// the picture has changed colour; if so, the new colour becomes the
// baseline.
func (d *detector) observe(now time.Time, c rgb) (change, bool) {
	if len(d.window) == d.size {
		d.window = append(d.window[:0], d.window[1:]...)
	}
	d.window = append(d.window, c)
	if len(d.window) < d.size {
		return change{}, false
	}
	var mean rgb
	for _, w := range d.window {
		for i := range mean {
			mean[i] += w[i] / float64(len(d.window))
		}
	}
	// Frames far from their mean: the picture is still moving.
	for _, w := range d.window {
		if w.dist(mean) > d.threshold/2 {
			return change{}, false
		}
	}
	if !d.settled {
		d.baseline, d.settled = mean, true
		return change{}, false
	}
	if mean.dist(d.baseline) <= d.threshold {
		return change{}, false
	}
	// Within the cooldown the baseline stays, so a change that lasts is
	// reported once the cooldown is over.
	if !d.last.IsZero() && now.Sub(d.last) < d.cooldown {
		return change{}, false
	}
	ch := change{from: d.baseline, to: mean}
	d.baseline, d.last = mean, now
	return ch, true
}
