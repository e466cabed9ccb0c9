package anpr

import (
	"fmt"
	"image"
	"testing"
	"time"
)

// benchFrame is a 1280x720 synthetic scene with one KZ plate.
func benchFrame(tb testing.TB) *image.RGBA {
	tb.Helper()
	s, err := NewSynthesizer(42)
	if err != nil {
		tb.Fatal(err)
	}
	plate, err := s.Plate("kz", "123ABC02")
	if err != nil {
		tb.Fatal(err)
	}
	img, _, err := s.Scene(plate, 1280, 720, SynthConditions{Noise: 4})
	if err != nil {
		tb.Fatal(err)
	}
	return img
}

// BenchmarkRecognize720p reports ms per 1280x720 frame for detection and
// recognition separately (one intra-op thread), for the default two-stage
// method and the single pass it replaced.
func BenchmarkRecognize720p(b *testing.B) {
	img := benchFrame(b)
	for _, c := range []struct {
		name string
		opts Options
	}{{"two-stage", Options{}}, {"single-pass", Options{SinglePass: true}}} {
		b.Run(c.name, func(b *testing.B) {
			r := newTestRecognizer(b, c.opts)
			var det, rec float64
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				_, tm, err := r.Recognize(img, image.Rectangle{})
				if err != nil {
					b.Fatal(err)
				}
				det += ms(tm.Detect)
				rec += ms(tm.Recognize)
			}
			b.ReportMetric(det/float64(b.N), "detect-ms/frame")
			b.ReportMetric(rec/float64(b.N), "recognize-ms/frame")
		})
	}
}

// BenchmarkRecognizeEmptyPhoto reports ms per photo with no plate (a
// textured wall) at 720p, 1080p and 4K: the scan, the rescan and, up to
// 1080p, the last look at full resolution all run and find nothing. The
// ratio is against a 720p photo with a plate read in the same run, which
// stops after the scan.
func BenchmarkRecognizeEmptyPhoto(b *testing.B) {
	r := newTestRecognizer(b, Options{})
	withPlate := benchFrame(b)
	for _, sz := range []image.Point{{1280, 720}, {1920, 1080}, {3840, 2160}} {
		img := image.NewRGBA(image.Rectangle{Max: sz})
		for i := 0; i < len(img.Pix); i += 4 {
			x, y := (i/4)%sz.X, (i/4)/sz.X
			v := uint8(80 + (x*7+y*13)%97)
			img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = v, v, v, 255
		}
		b.Run(fmt.Sprintf("%dx%d", sz.X, sz.Y), func(b *testing.B) {
			var empty, plate time.Duration
			for i := 0; i < b.N; i++ {
				t := time.Now()
				if _, _, err := r.Recognize(img, image.Rectangle{}); err != nil {
					b.Fatal(err)
				}
				empty += time.Since(t)
				t = time.Now()
				if _, _, err := r.Recognize(withPlate, image.Rectangle{}); err != nil {
					b.Fatal(err)
				}
				plate += time.Since(t)
			}
			b.ReportMetric(ms(empty)/float64(b.N), "ms/photo")
			b.ReportMetric(float64(empty)/float64(plate), "x-photo-with-plate")
		})
	}
}

// BenchmarkStream720p reports the mean ms per 1280x720 frame of a Stream
// following a plate across 12 frames (a scan every 4th frame), against
// scanning every frame.
func BenchmarkStream720p(b *testing.B) {
	plate := testPlate(b, testSynth(b), "kz", "123ABC02")
	var frames []*image.RGBA
	for k := 0; k < 12; k++ {
		img, _ := movingScene(plate, plate, k, 99)
		frames = append(frames, img)
	}
	for _, every := range []int{4, 1} {
		b.Run(fmt.Sprintf("scan-every-%d", every), func(b *testing.B) {
			r := newTestRecognizer(b, Options{})
			var total float64
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				st := NewStream(r, StreamOptions{ScanEvery: every})
				for _, f := range frames {
					_, tm, err := st.Read(f, image.Rectangle{})
					if err != nil {
						b.Fatal(err)
					}
					total += ms(tm.Detect + tm.Recognize)
				}
			}
			b.ReportMetric(total/float64(b.N*len(frames)), "ms/frame")
		})
	}
}
