package anpr

import (
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
// recognition separately (one intra-op thread).
func BenchmarkRecognize720p(b *testing.B) {
	r := newTestRecognizer(b, Options{})
	img := benchFrame(b)
	var det, rec float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_, tm, err := r.Recognize(img, image.Rectangle{})
		if err != nil {
			b.Fatal(err)
		}
		det += float64(tm.Detect.Microseconds()) / 1000
		rec += float64(tm.Recognize.Microseconds()) / 1000
	}
	b.ReportMetric(det/float64(b.N), "detect-ms/frame")
	b.ReportMetric(rec/float64(b.N), "recognize-ms/frame")
}
