package anpr

import (
	"bytes"
	"testing"
)

// A synthetic pass is a vehicle coming towards the camera: the same plate
// in every frame, growing and moving down, half out at the bottom in the
// last frame; the same seed draws the same pass.
func TestSynthPassDrivesTowardTheCamera(t *testing.T) {
	draw := func() SynthPass {
		s, err := NewSynthesizer(11)
		if err != nil {
			t.Fatal(err)
		}
		p, err := s.Pass("pl", 640, 360, 6)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	p := draw()
	if len(p.Frames) != 6 || len(p.Boxes) != 6 || p.Text == "" || p.Country != "pl" {
		t.Fatalf("pass %q (%s): %d frames, %d boxes", p.Text, p.Country, len(p.Frames), len(p.Boxes))
	}
	for k := 1; k < len(p.Boxes); k++ {
		a, b := p.Boxes[k-1], p.Boxes[k]
		if b.Min.Y <= a.Min.Y {
			t.Errorf("frame %d: plate at y %d, was %d: not coming down", k, b.Min.Y, a.Min.Y)
		}
		if k < len(p.Boxes)-1 && b.Dx() <= a.Dx() {
			t.Errorf("frame %d: plate %d px wide, was %d: not growing", k, b.Dx(), a.Dx())
		}
	}
	if last := p.Boxes[len(p.Boxes)-1]; last.Max.Y != 360 {
		t.Errorf("last frame: plate box %v does not reach the bottom edge", last)
	}
	q := draw()
	if q.Text != p.Text || !bytes.Equal(q.Frames[3].Pix, p.Frames[3].Pix) {
		t.Fatal("the same seed drew another pass")
	}
}

// EvalPass reads a pass through the stream and the tracker as a camera's
// analyzer does: one vehicle, one pass, its text.
func TestEvalPassReadsAVehicle(t *testing.T) {
	rec := newTestRecognizer(t, Options{Countries: []string{"KZ"}})
	s, err := NewSynthesizer(3)
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.Pass("kz", 1280, 720, 6)
	if err != nil {
		t.Fatal(err)
	}
	o, extra, err := EvalPass(rec, p, 5)
	if err != nil {
		t.Fatal(err)
	}
	if !o.Found || o.Edits > 1 || extra > 1 || o.Confidence <= 0 || o.Confidence > 1 {
		t.Fatalf("pass %q read as %+v, %d extra passes", p.Text, o, extra)
	}
	t.Logf("%q read %q at %.2f (%d extra passes)", p.Text, o.Read, o.Confidence, extra)
}
