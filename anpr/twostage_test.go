package anpr

import (
	"image"
	"image/color"
	"image/draw"
	"math"
	"testing"

	xdraw "golang.org/x/image/draw"
)

// TestRecognizeSmallPlates finds plates that are only a few pixels high in
// the coarse scan of a 1920x1080 frame (scale 1/4), where the second look at
// their surroundings has to outline them, and reads most within one edit;
// the single pass at 960 does too.
func TestRecognizeSmallPlates(t *testing.T) {
	two := newTestRecognizer(t, Options{Countries: []string{"KZ"}})
	single := newTestRecognizer(t, Options{Countries: []string{"KZ"}, SinglePass: true})
	s, err := NewSynthesizer(21)
	if err != nil {
		t.Fatal(err)
	}
	const n = 5
	near := map[string]int{}
	for i := 0; i < n; i++ {
		text, err := s.PlateText("kz")
		if err != nil {
			t.Fatal(err)
		}
		plate, err := s.Plate("kz", text)
		if err != nil {
			t.Fatal(err)
		}
		img, box, err := s.Scene(plate, 1920, 1080, SynthConditions{Noise: 3})
		if err != nil {
			t.Fatal(err)
		}
		for name, r := range map[string]*Recognizer{"two-stage": two, "single pass": single} {
			reads, tm, err := r.Recognize(img, image.Rectangle{})
			if err != nil {
				t.Fatal(err)
			}
			if !tm.Scan {
				t.Errorf("%s: Timing.Scan false for a whole-frame read", name)
			}
			o := Score(Truth{Box: box, Plate: text}, reads, tm)
			if !o.Found {
				t.Errorf("%s: plate %s (%d px high) not found; read %q", name, text, box.Dy(), o.Read)
			}
			if o.Edits <= 1 {
				near[name]++
			} else {
				t.Logf("%s: plate %s (%d px high) read %q", name, text, box.Dy(), o.Read)
			}
		}
	}
	for _, name := range []string{"two-stage", "single pass"} {
		if k := near[name]; k < n-2 {
			t.Errorf("%s: %d of %d small plates within one edit", name, k, n)
		}
	}
}

func TestRegionHelpers(t *testing.T) {
	bounds := image.Rect(0, 0, 1280, 720)
	b := textBox{quad: Quad{{500, 300}, {700, 300}, {700, 340}, {500, 340}}, score: 0.9}
	g := growRegion(b, bounds)
	if !b.quad.Bounds().In(g) || g.Dy() < 3*40 || g.Dx() < 200+2*40 {
		t.Fatalf("region %v around %v leaves no room for a second row or a region cell", g, b.quad.Bounds())
	}
	if edge := growRegion(textBox{quad: Quad{{0, 0}, {100, 0}, {100, 30}, {0, 30}}}, bounds); !edge.In(bounds) {
		t.Fatalf("region %v leaves the frame", edge)
	}
	part := textBox{quad: Quad{{600, 305}, {700, 305}, {700, 335}, {600, 335}}}
	whole := textBox{quad: Quad{{495, 298}, {705, 298}, {705, 342}, {495, 342}}}
	if covered(b.quad, []textBox{part}) {
		t.Fatal("half a line counted as covering it")
	}
	if !covered(b.quad, []textBox{part, whole}) {
		t.Fatal("a box over the whole line does not cover it")
	}
	if !inside(b.quad.Bounds(), []image.Rectangle{g}) || inside(b.quad.Bounds(), []image.Rectangle{image.Rect(0, 0, 550, 720)}) {
		t.Fatal("inside")
	}
	if cutByEdge(b.quad.Bounds(), bounds) || !cutByEdge(image.Rect(-3, 100, 80, 130), bounds) || !cutByEdge(image.Rect(1200, 100, 1280, 130), bounds) {
		t.Fatal("cutByEdge")
	}
	lines := []line{{quad: b.quad}}
	if !nearLines(Quad{{710, 300}, {760, 300}, {760, 330}, {710, 330}}, lines, bounds) {
		t.Fatal("a region cell right of a read line is not near it")
	}
	if nearLines(Quad{{100, 600}, {200, 600}, {200, 630}, {100, 630}}, lines, bounds) {
		t.Fatal("text far from every read line counted as near")
	}
}

// TestRecognizeTinyPlateAtFullResolution: a plate 10 px high in a 720p
// photo, which neither the coarse scan nor the finer rescan outlines, is
// found and read by the last look at full resolution.
func TestRecognizeTinyPlateAtFullResolution(t *testing.T) {
	r := newTestRecognizer(t, Options{Countries: []string{"KZ"}})
	const text = "123ABC02"
	img, at := photoOfPlate(t, "kz", text, image.Pt(600, 400), 48)
	reads, _, err := r.Recognize(img, image.Rectangle{})
	if err != nil {
		t.Fatal(err)
	}
	if len(reads) != 1 || reads[0].Text != text || !overlaps(reads[0].Box, at) {
		t.Fatalf("a plate %d px high at %v: reads %+v", at.Dy(), at, reads)
	}
}

// TestLastLookScale: the last look at a photo no scan found a plate in is
// at full resolution up to 1080p; a 4K photo is looked at no larger than
// 1920 px, less than its rescan (2176 px), so not again.
func TestLastLookScale(t *testing.T) {
	r := newTestRecognizer(t, Options{})
	for _, tc := range []struct {
		w, h  int
		scale float64
		again bool
	}{
		{1280, 720, 1, true},
		{1920, 1080, 1, true},
		{3840, 2160, 0.5, false},
	} {
		roi := image.Rect(0, 0, tc.w, tc.h)
		last := lastLookScale(roi)
		fine := math.Min(1, rescanFactor*r.scanScale(roi))
		if math.Abs(last-tc.scale) > 1e-9 || (last > fine) != tc.again {
			t.Errorf("%dx%d: last look at %.3f (rescan at %.3f), want %.3f, looked at again %v", tc.w, tc.h, last, fine, tc.scale, tc.again)
		}
	}
}

// TestRefineWidensARegionThatCutsTheLine: the coarse scan outlined one glyph
// of a small plate; the region around that box, outlined again at a finer
// scale, cuts the plate line, so it is outlined once more, wider, and the
// whole plate is read (a California plate read `HS90` for `6WHS906`).
func TestRefineWidensARegionThatCutsTheLine(t *testing.T) {
	r := newTestRecognizer(t, Options{Countries: []string{"KZ"}})
	const text = "123ABC02"
	img, at := photoOfPlate(t, "kz", text, image.Pt(560, 400), 120)
	// One glyph's box near the middle of the plate, as a coarse scan at
	// 0.375 outlines a fragment of a line a few pixels high.
	h := at.Dy() * 3 / 4
	frag := textBox{quad: quadOf(image.Rect(615, at.Min.Y+at.Dy()/8, 615+h, at.Min.Y+at.Dy()/8+h)), score: 0.8}
	if g := growRegion(frag, img.Rect); at.In(g) {
		t.Fatalf("the fragment's region %v holds the whole plate %v: nothing to widen", g, at)
	}
	var tm Timing
	reads, err := r.readBoxes(img, []textBox{frag}, 0.375, &tm, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	reads = suppress(reads, r.opts.MinConfidence)
	if len(reads) == 0 || reads[0].Text != text {
		t.Fatalf("a plate whose coarse box was one glyph reads %+v, want %s", reads, text)
	}
}

// TestBeyondRegion: a region is grown only on a side a box ends at, only
// when it is too narrow for the box's line, and never past the frame.
func TestBeyondRegion(t *testing.T) {
	bounds := image.Rect(0, 0, 1280, 720)
	reg := image.Rect(500, 300, 560, 360) // three times a 20 px line's height
	box := func(x0, x1 int) []textBox { return []textBox{{quad: quadOf(image.Rect(x0, 320, x1, 340))}} }
	for _, tc := range []struct {
		name  string
		boxes []textBox
		reg   image.Rectangle
		want  image.Rectangle
	}{
		{"inside", box(510, 550), reg, reg},
		{"cut on the left", box(501, 550), reg, image.Rect(400, 300, 560, 360)},
		{"cut on both sides", box(502, 559), reg, image.Rect(400, 300, 660, 360)},
		{"wide enough for a line", box(501, 550), image.Rect(500, 300, 640, 360), image.Rect(500, 300, 640, 360)},
		{"at the frame's edge", box(0, 57), image.Rect(0, 300, 60, 360), image.Rect(0, 300, 160, 360)},
		{"no boxes", nil, reg, reg},
	} {
		if got := beyondRegion(tc.boxes, tc.reg, bounds); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

// photoOfPlate draws a plate of country with text, w pixels wide, at p on a
// plain grey 720p photo, and returns the photo and the plate's box.
func photoOfPlate(t *testing.T, country, text string, p image.Point, w int) (*image.RGBA, image.Rectangle) {
	t.Helper()
	plate := testPlate(t, testSynth(t), country, text)
	img := image.NewRGBA(image.Rect(0, 0, 1280, 720))
	draw.Draw(img, img.Rect, image.NewUniform(color.RGBA{110, 110, 110, 255}), image.Point{}, draw.Src)
	at := image.Rect(p.X, p.Y, p.X+w, p.Y+w*plate.Rect.Dy()/plate.Rect.Dx())
	xdraw.CatmullRom.Scale(img, at, plate, plate.Rect, draw.Src, nil)
	return img, at
}
