package anpr

import (
	"image"
	"image/color"
	"image/draw"
	"testing"

	xdraw "golang.org/x/image/draw"
)

// TestOtherRowsFollowThePlate: a plate that runs on past its line by a
// row's height offers that row, below or above; a plate that ends with
// its line, a dark plate, and a line on a vehicle of the plate's own
// colour (no edge in sight) offer none.
func TestOtherRowsFollowThePlate(t *testing.T) {
	grey := color.RGBA{90, 90, 95, 255}
	white := color.RGBA{240, 240, 235, 255}
	scene := func(vehicle, plate color.RGBA, at image.Rectangle) *image.RGBA {
		img := image.NewRGBA(image.Rect(0, 0, 640, 400))
		draw.Draw(img, img.Rect, image.NewUniform(vehicle), image.Point{}, draw.Src)
		draw.Draw(img, at, image.NewUniform(plate), image.Point{}, draw.Src)
		for x := 115; x < 285; x += 30 { // glyphs of the line read
			draw.Draw(img, image.Rect(x, 110, x+16, 145), image.NewUniform(color.RGBA{20, 20, 20, 255}), image.Point{}, draw.Src)
		}
		return img
	}
	line := quadOf(image.Rect(110, 105, 290, 150)) // 45 px high
	for _, tc := range []struct {
		name    string
		vehicle color.RGBA
		plate   color.RGBA
		at      image.Rectangle
		want    []image.Rectangle // the rows offered, within 4 px
	}{
		{"below", grey, white, image.Rect(100, 100, 300, 205), []image.Rectangle{image.Rect(110, 143, 290, 205)}},
		{"above", grey, white, image.Rect(100, 45, 300, 155), []image.Rectangle{image.Rect(110, 53, 290, 112)}}, // a row at most 1.3 lines high
		{"one row", grey, white, image.Rect(100, 100, 300, 156), nil},
		{"dark plate", grey, color.RGBA{30, 40, 120, 255}, image.Rect(100, 100, 300, 205), nil},
		{"no edge", white, white, image.Rect(100, 100, 300, 205), nil},
	} {
		got := otherRows(scene(tc.vehicle, tc.plate, tc.at), line)
		if len(got) != len(tc.want) {
			t.Errorf("%s: rows %v, want %v", tc.name, got, tc.want)
			continue
		}
		for i, q := range got {
			b, w := q.Bounds(), tc.want[i]
			if abs(b.Min.X-w.Min.X) > 4 || abs(b.Max.X-w.Max.X) > 4 || abs(b.Min.Y-w.Min.Y) > 4 || abs(b.Max.Y-w.Max.Y) > 4 {
				t.Errorf("%s: row %v, want %v", tc.name, b, w)
			}
		}
	}
}

// TestProbedRowJoinsThePlate: the detector outlined only the top row of a
// square Russian plate (dirt broke up its region digits, 25): read alone,
// K486MC is a whole Kazakh format. In a still, the plate's colour running
// on below the row has the second row read from it and joined.
func TestProbedRowJoinsThePlate(t *testing.T) {
	r := newTestRecognizer(t, Options{Countries: []string{"KZ", "RU"}})
	const text = "K486MC25"
	plate, err := testSynth(t).NationalPlate("RU", text, 2)
	if err != nil {
		t.Fatal(err)
	}
	img := image.NewRGBA(image.Rect(0, 0, 1280, 720))
	draw.Draw(img, img.Rect, image.NewUniform(color.RGBA{150, 40, 140, 255}), image.Point{}, draw.Src)
	at := image.Rect(500, 300, 700, 300+200*plate.Rect.Dy()/plate.Rect.Dx())
	xdraw.CatmullRom.Scale(img, at, plate, plate.Rect, draw.Src, nil)
	// the top row's box, as the detector outlines it
	boxes, err := detectAt(r.det, img, 1)
	if err != nil {
		t.Fatal(err)
	}
	var top []textBox
	for _, b := range boxes {
		lp, _, _, err := r.recognizeQuad(img, padQuad(b.quad), true)
		if err != nil {
			t.Fatal(err)
		}
		if greedy(lp).text == "K486MC" {
			top = append(top, b)
			break
		}
	}
	if len(top) == 0 {
		t.Fatalf("no box of the scene reads the top row K486MC: %d boxes", len(boxes))
	}
	var tm Timing
	reads, err := r.readBoxes(img, top, 1, &tm, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(reads) == 0 || reads[0].Text == text {
		t.Fatalf("a frame's top row alone reads %+v: the case is not made", reads)
	}
	reads, err = r.readBoxes(img, top, 1, &tm, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(reads) == 0 || reads[0].Text != text || reads[0].Rows != 2 {
		t.Fatalf("a still's top row with the plate below it reads %+v, want %s in two rows", reads, text)
	}
}

// TestLetteringAboveIsNoTopRow reads an Estonian plate under a phone
// number painted on the truck, its last group (34) right above the plate's
// left end: taken for the plate's top row, the two once read as
// Kyrgyzstan's 34234LSH at 0.999. A plate's narrower row lies within the
// other's ends; the 34 hangs past the plate's left end.
func TestLetteringAboveIsNoTopRow(t *testing.T) {
	r := newTestRecognizer(t, Options{Countries: []string{"KZ", "RU"}})
	s, err := NewSynthesizer(1)
	if err != nil {
		t.Fatal(err)
	}
	plate, err := s.NationalPlate("EE", "234LSH", 1)
	if err != nil {
		t.Fatal(err)
	}
	img := image.NewRGBA(image.Rect(0, 0, 1280, 720))
	draw.Draw(img, img.Rect, &image.Uniform{color.RGBA{92, 36, 104, 255}}, image.Point{}, draw.Src)
	label, err := s.face(s.normal, "regular", 27)
	if err != nil {
		t.Fatal(err)
	}
	paint := color.RGBA{240, 240, 240, 255}
	drawText(img, label, "+7 701 555 12", 80, 244, paint)
	drawText(img, label, "34", 302, 244, paint)
	pw := 290.0
	ph := pw * float64(plate.Rect.Dy()) / float64(plate.Rect.Dx())
	warpOnto(img, plate, rectQuad(point{405, 302}, point{1, 0}, pw/2, ph/2))
	reads, _, err := r.Recognize(img, image.Rectangle{})
	if err != nil {
		t.Fatal(err)
	}
	if len(reads) == 0 || reads[0].Text != "234LSH" || reads[0].Rows != 1 {
		t.Fatalf("reads = %+v, want 234LSH in one row", reads)
	}
}

// TestStackedRowsShareTheirEnds: the rows of a Russian square plate (the
// region under the number) are stacked, and so are a Ukrainian square
// plate's, its short row's box widened by dirt past the other's end; a
// group of a phone number above a plate's left end, nearly half past it,
// is not.
func TestStackedRowsShareTheirEnds(t *testing.T) {
	box := func(x0, y0, x1, y1 float64) Quad {
		return Quad{{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}}
	}
	if !stacked(box(63, 455, 206, 509), box(98, 512, 154, 551)) {
		t.Error("a square plate's rows are not stacked")
	}
	if !stacked(box(756, 394, 968, 509), box(723, 501, 878, 593)) {
		t.Error("a square plate's rows, the short one's box widened by dirt, are not stacked")
	}
	if stacked(box(288, 200, 331, 235), box(307, 271, 530, 337)) {
		t.Error("lettering past the plate's end is stacked on it")
	}
	if !stacked(box(100, 100, 300, 140), box(104, 142, 308, 182)) {
		t.Error("rows of one width, a little skewed, are not stacked")
	}
}
