package anpr

import (
	"image"
	"image/color"
)

// A gate camera looks at an empty lane most of the day. While no plate is
// in view, a Stream compares each frame's coarse brightness with the frame
// it last scanned and skips the scan when nothing moved: a vehicle that
// enters changes many blocks by far more than sensor noise, which averages
// out over a block. A skipped scan only delays a read to the next changed
// frame, and a scan is forced every StillScanEvery frames anyway, so a
// vehicle that crept in below the threshold is still found.

// The thumbnail is thumbW x thumbH blocks of the region of interest; a
// block has changed when its mean moved by more than stillBlockDelta grey
// levels, and the frame when at least stillBlocks blocks changed (a car's
// plate alone spans several blocks of a 720p frame).
const (
	thumbW          = 32
	thumbH          = 18
	stillBlockDelta = 10
	stillBlocks     = 2
	thumbStep       = 4 // sample every 4th pixel in both directions
)

type thumbnail [thumbW * thumbH]uint8

// thumbOf averages the grey level of img's blocks inside roi, sampling a
// sixteenth of the pixels (under a millisecond for 720p).
func thumbOf(img image.Image, roi image.Rectangle) thumbnail {
	var sum [thumbW * thumbH]uint32
	var cnt [thumbW * thumbH]uint32
	w, h := roi.Dx(), roi.Dy()
	rgba, _ := img.(*image.RGBA)
	for y := roi.Min.Y; y < roi.Max.Y; y += thumbStep {
		by := (y - roi.Min.Y) * thumbH / h
		for x := roi.Min.X; x < roi.Max.X; x += thumbStep {
			bx := (x - roi.Min.X) * thumbW / w
			var g uint32
			if rgba != nil {
				i := rgba.PixOffset(x, y)
				p := rgba.Pix[i : i+3 : i+3]
				g = (299*uint32(p[0]) + 587*uint32(p[1]) + 114*uint32(p[2])) / 1000
			} else {
				g = uint32(color.GrayModel.Convert(img.At(x, y)).(color.Gray).Y)
			}
			k := by*thumbW + bx
			sum[k] += g
			cnt[k]++
		}
	}
	var t thumbnail
	for k := range t {
		if cnt[k] > 0 {
			t[k] = uint8(sum[k] / cnt[k])
		}
	}
	return t
}

// moved reports whether enough blocks changed between a and b.
func moved(a, b *thumbnail) bool {
	n := 0
	for k := range a {
		d := int(a[k]) - int(b[k])
		if d > stillBlockDelta || d < -stillBlockDelta {
			n++
			if n >= stillBlocks {
				return true
			}
		}
	}
	return false
}
