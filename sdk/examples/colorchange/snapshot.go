package main

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"

	"github.com/kuzet/kuzet/sdk/plugin"
)

const (
	snapshotWidth   = 320      // a snapshot only has to show what changed
	snapshotMax     = 64 << 10 // bytes
	snapshotQuality = 70
)

// snapshot encodes the frame as a JPEG at most 320 pixels wide and at most
// limit bytes, halving the picture until it fits.
func snapshot(f plugin.Frame, limit int) ([]byte, error) {
	bpp := 0
	switch f.Format {
	case plugin.FormatGray:
		bpp = 1
	case plugin.FormatRGB24:
		bpp = 3
	}
	w, h, pix := f.Width, f.Height, f.Pix
	if bpp == 0 || w <= 0 || h <= 0 || len(pix) != w*h*bpp {
		return nil, fmt.Errorf("snapshot: bad frame %dx%d %q with %d bytes", w, h, f.Format, len(pix))
	}
	for w > snapshotWidth && h >= 2 {
		pix, w, h = halve(pix, w, h, bpp)
	}
	for {
		var buf bytes.Buffer
		small := plugin.Frame{Width: w, Height: h, Format: f.Format, Pix: pix}
		var img image.Image = small.RGBA()
		if bpp == 1 {
			img = small.Gray() // one channel: a smaller JPEG
		}
		if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: snapshotQuality}); err != nil {
			return nil, fmt.Errorf("snapshot: %w", err)
		}
		if buf.Len() <= limit {
			return buf.Bytes(), nil
		}
		if w < 2 || h < 2 {
			return nil, fmt.Errorf("snapshot: %d bytes even at %dx%d, over %d", buf.Len(), w, h, limit)
		}
		pix, w, h = halve(pix, w, h, bpp)
	}
}

// halve averages blocks of 2×2 pixels of bpp bytes each; an odd last row
// or column is left out.
func halve(pix []byte, w, h, bpp int) ([]byte, int, int) {
	nw, nh := w/2, h/2
	out := make([]byte, nw*nh*bpp)
	for y := range nh {
		r0, r1 := pix[2*y*w*bpp:], pix[(2*y+1)*w*bpp:]
		for x := range nw {
			for c := range bpp {
				i := 2*x*bpp + c
				s := int(r0[i]) + int(r0[i+bpp]) + int(r1[i]) + int(r1[i+bpp])
				out[(y*nw+x)*bpp+c] = byte((s + 2) / 4)
			}
		}
	}
	return out, nw, nh
}
