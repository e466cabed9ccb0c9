package anpr

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestEvalDirBadInput: corrupt and truncated images, a 1x1 image, a
// grayscale one, a missing file and a malformed ground-truth line are each
// reported by name (or simply not read), nothing crashes, and the rest of
// the set is still evaluated.
func TestEvalDirBadInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A good plate scene.
	s, err := NewSynthesizer(3)
	if err != nil {
		t.Fatal(err)
	}
	plate, err := s.Plate("kz", "123ABC02")
	if err != nil {
		t.Fatal(err)
	}
	scene, box, err := s.Scene(plate, 1280, 720, SynthConditions{})
	if err != nil {
		t.Fatal(err)
	}
	var good bytes.Buffer
	if err := png.Encode(&good, scene); err != nil {
		t.Fatal(err)
	}
	write("good.png", good.Bytes())
	write("truncated.png", good.Bytes()[:good.Len()/3])
	write("corrupt.jpg", []byte("\xff\xd8\xff\xe0 this is not a JPEG"))
	var tiny bytes.Buffer
	_ = png.Encode(&tiny, image.NewRGBA(image.Rect(0, 0, 1, 1)))
	write("tiny.png", tiny.Bytes())
	gray := image.NewGray(image.Rect(0, 0, 320, 240))
	for i := range gray.Pix {
		gray.Pix[i] = uint8(i % 251)
	}
	gray.Set(5, 5, color.Gray{Y: 0})
	var gj bytes.Buffer
	_ = jpeg.Encode(&gj, gray, nil)
	write("gray.jpg", gj.Bytes())
	truth := func(file string, b image.Rectangle, plate string) string {
		return FormatTruth(Truth{File: file, Box: b, Plate: plate})
	}
	write("good.txt", []byte(truth("good.png", box, "123ABC02")))
	write("truncated.txt", []byte(truth("truncated.png", box, "123ABC02")))
	write("corrupt.txt", []byte(truth("corrupt.jpg", box, "123ABC02")))
	write("tiny.txt", []byte(truth("tiny.png", image.Rect(0, 0, 1, 1), "1AB234")))
	write("gray.txt", []byte(truth("gray.jpg", image.Rect(0, 0, 10, 10), "1AB234")))
	write("missing.txt", []byte(truth("missing.png", box, "123ABC02")))
	write("wrong.txt", []byte("wrong.png 12 x 4 5 PLATE\n"))

	r := newTestRecognizer(t, Options{Countries: []string{"KZ"}})
	var seen int
	outs, problems, err := EvalDir(context.Background(), r, dir, func(Outcome) { seen++ })
	if err != nil {
		t.Fatal(err)
	}
	if len(outs) != 6 || seen != 6 {
		t.Fatalf("%d outcomes (%d seen), want 6: %+v", len(outs), seen, outs)
	}
	all := ""
	for _, p := range problems {
		all += p.Error() + "\n"
	}
	for _, name := range []string{"truncated.png", "corrupt.jpg", "missing.png", "wrong.txt:1"} {
		if !strings.Contains(all, name) {
			t.Errorf("no problem names %s:\n%s", name, all)
		}
	}
	for _, name := range []string{"good.png", "tiny.png", "gray.jpg"} {
		if strings.Contains(all, name) {
			t.Errorf("%s reported as a problem:\n%s", name, all)
		}
	}
	byFile := map[string]Outcome{}
	for _, o := range outs {
		byFile[o.File] = o
	}
	if o := byFile["good.png"]; !o.Exact {
		t.Errorf("good image read %q", o.Read)
	}
	for _, f := range []string{"truncated.png", "corrupt.jpg", "missing.png"} {
		if o := byFile[f]; o.Error == "" || o.Exact {
			t.Errorf("%s: %+v", f, o)
		}
	}
	sum := Summarize(outs)
	if sum.Images != 6 || sum.Unreadable != 3 || sum.Exact < 1.0/6-1e-9 {
		t.Errorf("summary %+v", sum)
	}
	// A directory without ground truth is an error naming it.
	empty := t.TempDir()
	if _, _, err := EvalDir(context.Background(), r, empty, nil); err == nil || !strings.Contains(err.Error(), empty) {
		t.Errorf("empty dir: %v", err)
	}
}
