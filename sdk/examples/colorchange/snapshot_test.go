package main

import (
	"bytes"
	"image"
	"image/jpeg"
	"math/rand/v2"
	"testing"

	"github.com/kuzet/kuzet/sdk/plugin"
)

// noise is the worst picture for JPEG: it does not compress.
func noise(w, h int, format string) plugin.Frame {
	bpp := 3
	if format == plugin.FormatGray {
		bpp = 1
	}
	rnd := rand.New(rand.NewPCG(5, 6))
	pix := make([]byte, w*h*bpp)
	for i := range pix {
		pix[i] = byte(rnd.Uint32())
	}
	return plugin.Frame{Width: w, Height: h, Format: format, Pix: pix}
}

func TestSnapshot(t *testing.T) {
	for _, tc := range []struct {
		name  string
		f     plugin.Frame
		limit int
		model string
	}{
		{"noisy full HD rgb", noise(1920, 1080, plugin.FormatRGB24), snapshotMax, "*image.YCbCr"},
		{"noisy gray", noise(640, 360, plugin.FormatGray), snapshotMax, "*image.Gray"},
		{"small limit", noise(320, 180, plugin.FormatRGB24), 8 << 10, "*image.YCbCr"},
		{"odd size", noise(333, 187, plugin.FormatRGB24), snapshotMax, "*image.YCbCr"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := snapshot(tc.f, tc.limit)
			if err != nil {
				t.Fatal(err)
			}
			if len(b) > tc.limit {
				t.Errorf("%d bytes, over %d", len(b), tc.limit)
			}
			img, err := jpeg.Decode(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			if w := img.Bounds().Dx(); w > snapshotWidth || w < 8 {
				t.Errorf("width %d", w)
			}
			if got := typeName(img); got != tc.model {
				t.Errorf("decoded as %s, want %s", got, tc.model)
			}
		})
	}
}

func typeName(img image.Image) string {
	switch img.(type) {
	case *image.Gray:
		return "*image.Gray"
	case *image.YCbCr:
		return "*image.YCbCr"
	}
	return "other"
}

func TestSnapshotKeepsColour(t *testing.T) {
	b, err := snapshot(solid(red, 0, nil), snapshotMax)
	if err != nil {
		t.Fatal(err)
	}
	img, _ := jpeg.Decode(bytes.NewReader(b))
	r, g, bl, _ := img.At(5, 5).RGBA()
	if r>>8 < 200 || g>>8 > 40 || bl>>8 > 40 {
		t.Errorf("red came back as %d, %d, %d", r>>8, g>>8, bl>>8)
	}
}

func TestSnapshotBadFrame(t *testing.T) {
	if _, err := snapshot(plugin.Frame{Width: 4, Height: 4, Format: plugin.FormatRGB24, Pix: make([]byte, 4)}, snapshotMax); err == nil {
		t.Fatal("snapshot of a frame with too few pixels")
	}
}

func TestHalve(t *testing.T) {
	pix := []byte{
		0, 4, 8,
		8, 12, 255,
		9, 9, 9,
	}
	out, w, h := halve(pix, 3, 3, 1)
	if w != 1 || h != 1 || out[0] != 6 {
		t.Fatalf("halve = %v %dx%d", out, w, h)
	}
}
