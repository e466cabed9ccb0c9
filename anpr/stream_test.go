package anpr

import (
	"image"
	"testing"
)

// testSynth is the synthesizer of the stream tests.
func testSynth(t testing.TB) *Synthesizer {
	t.Helper()
	s, err := NewSynthesizer(9)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// testPlate draws a plate of country with text.
func testPlate(t testing.TB, s *Synthesizer, country, text string) *image.RGBA {
	t.Helper()
	p, err := s.Plate(country, text)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// movingScene draws frame k of a sequence: a plain road with plate a moving
// right by 30 px a frame and, from frame bFrom on, plate b standing still
// elsewhere.
func movingScene(a, b *image.RGBA, k, bFrom int) (*image.RGBA, image.Rectangle) {
	img := image.NewRGBA(image.Rect(0, 0, 1280, 720))
	for i := 0; i < len(img.Pix); i += 4 {
		y := i / img.Stride
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = 90, uint8(90+y/12), 110, 255
	}
	x := 200.0 + 30*float64(k)
	qa := Quad{{x, 400}, {x + 240, 404}, {x + 240, 456}, {x, 452}}
	warpOnto(img, a, qa)
	if k >= bFrom {
		warpOnto(img, b, Quad{{820, 180}, {1040, 180}, {1040, 228}, {820, 228}})
	}
	return img, qa.Bounds()
}

// TestStreamFollowsPlates reads a moving plate in every frame while
// scanning the whole frame only every ScanEvery frames, and finds a second
// plate that appears meanwhile at the next scan.
func TestStreamFollowsPlates(t *testing.T) {
	r := newTestRecognizer(t, Options{Countries: []string{"KZ", "UA"}})
	s := testSynth(t)
	a := testPlate(t, s, "kz", "123ABC02")
	b := testPlate(t, s, "ua", "AA1234BB")
	st := NewStream(r, StreamOptions{ScanEvery: 4})
	const frames, bFrom = 12, 5
	scans := 0
	bSeen := -1
	for k := 0; k < frames; k++ {
		img, box := movingScene(a, b, k, bFrom)
		reads, tm, err := st.Read(img, image.Rectangle{})
		if err != nil {
			t.Fatal(err)
		}
		if tm.Scan {
			scans++
		}
		gotA := false
		for _, rd := range reads {
			if rd.Text == "123ABC02" && overlaps(rd.Box, box) {
				gotA = true
			}
			if rd.Text == "AA1234BB" && bSeen < 0 {
				bSeen = k
			}
		}
		if !gotA {
			t.Errorf("frame %d (scan %v): reads %+v, want 123ABC02 at %v", k, tm.Scan, reads, box)
		}
	}
	// Frames 0, 4 and 8 are scans; the others look near plate a only.
	if scans != 3 {
		t.Errorf("%d scans in %d frames, want 3", scans, frames)
	}
	if bSeen != 8 {
		t.Errorf("second plate first read in frame %d, want 8 (the first scan after it appeared)", bSeen)
	}
}

// TestStreamScansAfterEmptyFrame checks that a frame without plates makes
// the next one a scan, and that ScanEvery 1 scans every frame.
func TestStreamScansAfterEmptyFrame(t *testing.T) {
	r := newTestRecognizer(t, Options{Countries: []string{"KZ"}})
	s := testSynth(t)
	a := testPlate(t, s, "kz", "123ABC02")
	empty := image.NewRGBA(image.Rect(0, 0, 1280, 720))
	withPlate, _ := movingScene(a, a, 0, 99)
	st := NewStream(r, StreamOptions{})
	for k, img := range []*image.RGBA{withPlate, withPlate, empty, empty, withPlate, withPlate} {
		_, tm, err := st.Read(img, image.Rectangle{})
		if err != nil {
			t.Fatal(err)
		}
		// Frames 0, 3 (after the empty frame 2) and 4 (after empty 3) scan.
		want := k == 0 || k == 3 || k == 4
		if tm.Scan != want {
			t.Errorf("frame %d: scan %v, want %v", k, tm.Scan, want)
		}
	}
	every := NewStream(r, StreamOptions{ScanEvery: 1})
	for k := 0; k < 3; k++ {
		if _, tm, err := every.Read(withPlate, image.Rectangle{}); err != nil || !tm.Scan {
			t.Fatalf("ScanEvery 1, frame %d: scan %v, err %v", k, tm.Scan, err)
		}
	}
}

func TestNearRegion(t *testing.T) {
	roi := image.Rect(0, 0, 1280, 720)
	rd := Read{Box: image.Rect(400, 300, 600, 350), Quad: Quad{{400, 300}, {600, 300}, {600, 350}, {400, 350}}, Rows: 1}
	still := nearRegionOf(seenPlate{read: rd}, roi)
	moving := nearRegionOf(seenPlate{read: rd, vel: point{120, 0}}, roi)
	if !still.rect.In(roi) || !rd.Box.In(still.rect) {
		t.Fatalf("still plate: region %v does not hold its box %v", still.rect, rd.Box)
	}
	if moved := rd.Box.Add(image.Pt(120, 0)); !moved.In(moving.rect) {
		t.Fatalf("moving plate: region %v misses where it should be (%v)", moving.rect, moved)
	}
	if moving.rect.Min.X <= still.rect.Min.X {
		t.Fatalf("moving plate: region %v not shifted along the motion (still %v)", moving.rect, still.rect)
	}
	// Text 50 px high is shrunk toward the detector's preferred height, and
	// big regions stay within the pixel budget.
	if still.scale >= 1 || still.scale < 0.25 {
		t.Fatalf("scale %v for 50 px text", still.scale)
	}
	big := Read{Box: image.Rect(0, 0, 1200, 600), Quad: Quad{{0, 0}, {1200, 0}, {1200, 600}, {0, 600}}, Rows: 1}
	g := nearRegionOf(seenPlate{read: big}, roi)
	if px := float64(g.rect.Dx()*g.rect.Dy()) * g.scale * g.scale; px > maxNearPixels*1.01 {
		t.Fatalf("big region: %v at scale %v is %.0f detector pixels", g.rect, g.scale, px)
	}
	// Overlapping regions merge; the smaller scale wins.
	rs := addNearRegion(nil, nearRegion{image.Rect(0, 0, 100, 100), 1})
	rs = addNearRegion(rs, nearRegion{image.Rect(50, 50, 200, 200), 0.5})
	rs = addNearRegion(rs, nearRegion{image.Rect(500, 500, 600, 600), 2})
	if len(rs) != 2 || rs[0].rect != image.Rect(0, 0, 200, 200) || rs[0].scale != 0.5 {
		t.Fatalf("merged regions %+v", rs)
	}
}

// TestStreamSkipsStillFrames skips scans of an empty lane that does not
// change (up to the forced scan every StillScanEvery frames), with sensor
// noise, and reads a plate in the first frame it appears.
func TestStreamSkipsStillFrames(t *testing.T) {
	r := newTestRecognizer(t, Options{Countries: []string{"KZ"}})
	s := testSynth(t)
	a := testPlate(t, s, "kz", "123ABC02")
	road := func(k int, withPlate bool) *image.RGBA {
		var img *image.RGBA
		if withPlate {
			img, _ = movingScene(a, a, k%10, 99)
		} else {
			img = image.NewRGBA(image.Rect(0, 0, 1280, 720))
			for i := 0; i < len(img.Pix); i += 4 {
				y := i / img.Stride
				img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = 90, uint8(90+y/12), 110, 255
			}
		}
		// a few grey levels of sensor noise, different in every frame
		for i := 0; i < len(img.Pix); i += 4 {
			n := uint8((i*7919 + k*104729) % 7)
			img.Pix[i] += n
			img.Pix[i+1] += n
			img.Pix[i+2] += n
		}
		return img
	}
	st := NewStream(r, StreamOptions{StillScanEvery: 6})
	scanned := 0
	for k := 0; k < 12; k++ {
		_, tm, err := st.Read(road(k, false), image.Rectangle{})
		if err != nil {
			t.Fatal(err)
		}
		if tm.Scan {
			scanned++
		} else if !tm.Still {
			t.Fatalf("frame %d: neither scanned nor skipped as still", k)
		}
	}
	// frame 0, then one forced scan every 6 frames
	if scanned != 2 {
		t.Errorf("%d of 12 still frames scanned, want 2", scanned)
	}
	reads, tm, err := st.Read(road(12, true), image.Rectangle{})
	if err != nil {
		t.Fatal(err)
	}
	if !tm.Scan || len(reads) == 0 || reads[0].Text != "123ABC02" {
		t.Fatalf("plate entering: scan %v reads %+v", tm.Scan, reads)
	}
	// a stream told to scan every still frame does
	st = NewStream(r, StreamOptions{StillScanEvery: -1})
	for k := 0; k < 3; k++ {
		if _, tm, _ := st.Read(road(k, false), image.Rectangle{}); !tm.Scan {
			t.Fatalf("StillScanEvery -1: frame %d not scanned", k)
		}
	}
}
