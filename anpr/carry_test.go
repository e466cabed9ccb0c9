package anpr

import (
	"image"
	"image/color"
	"testing"
)

// TestStreamCarriesSettledPlate follows a moving plate: once it has been
// read alike in consecutive frames its read is carried forward in most
// frames instead of being recognised again, but it is recognised again at
// least every carryMax+1 frames, and every frame still returns it where it
// is.
func TestStreamCarriesSettledPlate(t *testing.T) {
	r := newTestRecognizer(t, Options{Countries: []string{"KZ"}})
	s := testSynth(t)
	a := testPlate(t, s, "kz", "123ABC02")
	st := NewStream(r, StreamOptions{ScanEvery: 4})
	carried, run := 0, 0
	for k := 0; k < 12; k++ {
		img, box := movingScene(a, a, k, 99)
		reads, tm, err := st.Read(img, image.Rectangle{})
		if err != nil {
			t.Fatal(err)
		}
		if len(reads) == 0 || reads[0].Text != "123ABC02" || !overlaps(reads[0].Box, box) {
			t.Fatalf("frame %d: reads %+v, want 123ABC02 at %v", k, reads, box)
		}
		if reads[0].carried {
			if tm.Boxes != 0 {
				t.Errorf("frame %d: carried read, yet %d boxes recognised", k, tm.Boxes)
			}
			if k < settleReads {
				t.Errorf("frame %d: read carried before %d frames agreed", k, settleReads)
			}
			carried++
			run++
			if run > carryMax {
				t.Errorf("frame %d: read carried %d frames in a row, want at most %d", k, run, carryMax)
			}
		} else {
			run = 0
		}
	}
	if carried < 3 {
		t.Errorf("read carried in %d of 12 frames, want at least 3", carried)
	}
	// Forget reads every frame afresh.
	st = NewStream(r, StreamOptions{ScanEvery: 4, Forget: true})
	for k := 0; k < 6; k++ {
		img, _ := movingScene(a, a, k, 99)
		reads, _, err := st.Read(img, image.Rectangle{})
		if err != nil {
			t.Fatal(err)
		}
		for _, rd := range reads {
			if rd.carried {
				t.Fatalf("Forget: frame %d read carried", k)
			}
		}
	}
}

// TestStreamRereadsChangedPlate replaces a settled plate by another of the
// same size at the same place: the new plate does not look like the one
// carried, so it is recognised, and read, in the first frame it shows.
func TestStreamRereadsChangedPlate(t *testing.T) {
	r := newTestRecognizer(t, Options{Countries: []string{"KZ"}})
	s := testSynth(t)
	a := testPlate(t, s, "kz", "123ABC02")
	b := testPlate(t, s, "kz", "780KTE15")
	st := NewStream(r, StreamOptions{ScanEvery: 100})
	// The plate is swapped in a frame that would carry the first one's
	// read: after a frame that recognised it, following one that carried
	// it (so it was settled).
	swap := -1
	var carried []bool
	for k := 0; k < 10; k++ {
		if swap < 0 && k >= 2 && carried[k-2] && !carried[k-1] {
			swap = k
		}
		p, want := a, "123ABC02"
		if swap >= 0 {
			p, want = b, "780KTE15"
		}
		img, box := movingScene(p, p, k, 99)
		reads, tm, err := st.Read(img, image.Rectangle{})
		if err != nil {
			t.Fatal(err)
		}
		if len(reads) == 0 || reads[0].Text != want || !overlaps(reads[0].Box, box) {
			t.Fatalf("frame %d: reads %+v, want %s at %v", k, reads, want, box)
		}
		if k == swap && (reads[0].carried || tm.Boxes == 0) {
			t.Fatalf("frame %d: the new plate was not recognised (carried %v, %d boxes)", k, reads[0].carried, tm.Boxes)
		}
		carried = append(carried, reads[0].carried)
	}
	if swap < 0 {
		t.Fatalf("the first plate's read was never carried (%v): nothing tested", carried)
	}
}

// TestStreamLeavesJunkUnread scans a lane with a caption that reads as no
// plate: later scans leave the caption unread, except one every
// junkRecheck scans, read it again once it changes size, and still read a
// plate that enters.
func TestStreamLeavesJunkUnread(t *testing.T) {
	r := newTestRecognizer(t, Options{Countries: []string{"KZ"}})
	s := testSynth(t)
	a := testPlate(t, s, "kz", "123ABC02")
	face, err := s.face(s.normal, "normal", 30)
	if err != nil {
		t.Fatal(err)
	}
	scene := func(k int, caption string, plate bool) *image.RGBA {
		img, _ := movingScene(a, a, k, 99)
		if !plate {
			img = image.NewRGBA(img.Rect)
			for i := 0; i < len(img.Pix); i += 4 {
				y := i / img.Stride
				img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = 90, uint8(90+y/12), 110, 255
			}
		}
		for y := 20; y < 64; y++ {
			for x := 20; x < 40+18*len(caption); x++ {
				img.SetRGBA(x, y, color.RGBA{20, 20, 20, 255})
			}
		}
		drawText(img, face, caption, 30, 54, color.White)
		return img
	}
	// Every scan whole: a scan of the changed parts does not even detect
	// a caption that stays as it was (see TestStreamScansChangedParts).
	st := NewStream(r, StreamOptions{StillScanEvery: -1, FullScanEvery: 1})
	const caption = "NORTH GATE CAMERA"
	var boxes []int
	for k := 0; k <= junkRecheck+1; k++ {
		reads, tm, err := st.Read(scene(k, caption, false), image.Rectangle{})
		if err != nil {
			t.Fatal(err)
		}
		if len(reads) != 0 {
			t.Fatalf("frame %d: reads %+v in an empty lane", k, reads)
		}
		boxes = append(boxes, tm.Boxes)
	}
	t.Logf("boxes read per scan: %v", boxes)
	if boxes[0] == 0 {
		t.Fatal("the caption was not read in the first scan: nothing to learn")
	}
	for k, n := range boxes[1:] {
		if want := k+1 == junkRecheck+1; (n > 0) != want {
			t.Errorf("scan %d: %d boxes read, want the caption read again only in scan %d; boxes per scan %v", k+1, n, junkRecheck+1, boxes)
		}
	}
	// another caption, longer: read again
	if _, tm, err := st.Read(scene(0, caption+" 2", false), image.Rectangle{}); err != nil || tm.Boxes == 0 {
		t.Errorf("changed caption: %d boxes read (err %v), want it read", tm.Boxes, err)
	}
	// a plate entering is read in its first frame
	reads, _, err := st.Read(scene(1, caption+" 2", true), image.Rectangle{})
	if err != nil || len(reads) == 0 || reads[0].Text != "123ABC02" {
		t.Fatalf("plate entering: reads %+v, err %v", reads, err)
	}
}
