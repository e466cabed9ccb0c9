package anpr

import (
	"image"
	"image/draw"
	"math"
)

// toRGBA returns the roi of img as RGBA pixels, without copying when img
// already is RGBA. Other image types go through draw.Draw, which has fast
// paths for the YCbCr frames a decoder produces.
func toRGBA(img image.Image, roi image.Rectangle) *image.RGBA {
	if rgba, ok := img.(*image.RGBA); ok {
		return rgba.SubImage(roi).(*image.RGBA)
	}
	out := image.NewRGBA(roi)
	draw.Draw(out, roi, img, roi.Min, draw.Src)
	return out
}

// bilinear samples img at the continuous pixel position (x, y) (pixel centres
// at integer+0.5), clamping at the border.
func bilinear(img *image.RGBA, x, y float64) (r, g, b float32) {
	bx, by := img.Rect.Min.X, img.Rect.Min.Y
	w, h := img.Rect.Dx(), img.Rect.Dy()
	x -= float64(bx) + 0.5
	y -= float64(by) + 0.5
	x0, y0 := int(math.Floor(x)), int(math.Floor(y))
	fx, fy := float32(x-float64(x0)), float32(y-float64(y0))
	x1, y1 := x0+1, y0+1
	x0, x1 = clampInt(x0, 0, w-1), clampInt(x1, 0, w-1)
	y0, y1 = clampInt(y0, 0, h-1), clampInt(y1, 0, h-1)
	p := img.Pix
	s := img.Stride
	i00, i01 := y0*s+x0*4, y0*s+x1*4
	i10, i11 := y1*s+x0*4, y1*s+x1*4
	lerp := func(c int) float32 {
		top := float32(p[i00+c])*(1-fx) + float32(p[i01+c])*fx
		bot := float32(p[i10+c])*(1-fx) + float32(p[i11+c])*fx
		return top*(1-fy) + bot*fy
	}
	return lerp(0), lerp(1), lerp(2)
}

// boxSample averages img over the source rectangle [x0,x1)×[y0,y1) (in
// image coordinates), which keeps small text legible when downscaling.
func boxSample(img *image.RGBA, x0, y0, x1, y1 int) (r, g, b float32) {
	x0, x1 = clampInt(x0, img.Rect.Min.X, img.Rect.Max.X-1), clampInt(x1, img.Rect.Min.X+1, img.Rect.Max.X)
	y0, y1 = clampInt(y0, img.Rect.Min.Y, img.Rect.Max.Y-1), clampInt(y1, img.Rect.Min.Y+1, img.Rect.Max.Y)
	if x1 <= x0 {
		x1 = x0 + 1
	}
	if y1 <= y0 {
		y1 = y0 + 1
	}
	var sr, sg, sb uint32
	for y := y0; y < y1; y++ {
		i := img.PixOffset(x0, y)
		for x := x0; x < x1; x++ {
			sr += uint32(img.Pix[i])
			sg += uint32(img.Pix[i+1])
			sb += uint32(img.Pix[i+2])
			i += 4
		}
	}
	n := float32((x1 - x0) * (y1 - y0))
	return float32(sr) / n, float32(sg) / n, float32(sb) / n
}

func clampInt(v, lo, hi int) int {
	if v < lo {
		return lo
	}
	if v > hi {
		return hi
	}
	return v
}
