package anpr

import (
	"fmt"
	"image"
	"testing"
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

// BenchmarkStream720p reports the mean ms per 1280x720 frame of a Stream
// following a plate across 12 frames (a scan every 4th frame), against
// scanning every frame.
func BenchmarkStream720p(b *testing.B) {
	s, err := NewSynthesizer(9)
	if err != nil {
		b.Fatal(err)
	}
	plate, err := s.Plate("kz", "123ABC02")
	if err != nil {
		b.Fatal(err)
	}
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
