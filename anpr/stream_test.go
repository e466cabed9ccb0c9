package anpr

import (
	"image"
	"image/color"
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

func TestChangedParts(t *testing.T) {
	roi := image.Rect(0, 0, 1280, 720)
	g := gridOf(roi, 0.375) // a 720p scan's
	var ref, th thumbnail
	for k := range ref {
		ref[k], th[k] = 100, 100
	}
	if parts, full := changedParts(&ref, &th, roi, nil, g); full || len(parts) != 0 {
		t.Fatalf("nothing changed: parts %v, full %v", parts, full)
	}
	// Two blocks changed at (5, 9) and (6, 9), one far off at (28, 2), and
	// a block that only drifted within the noise.
	th[9*thumbW+5], th[9*thumbW+6], th[2*thumbW+28] = 160, 40, 130
	th[15*thumbW+15] = 100 + stillBlockDelta
	keep := image.Rect(900, 600, 1000, 650)
	parts, full := changedParts(&ref, &th, roi, []image.Rectangle{keep}, g)
	if full || len(parts) != 3 {
		t.Fatalf("parts %v, full %v; want three", parts, full)
	}
	area := 0
	for i, p := range parts {
		if !p.In(roi) {
			t.Errorf("part %v outside %v", p, roi)
		}
		// whole cells of the scan's detector grid
		if c := g.cellsAt(p); c.Empty() || c.Min.X%32 != 0 || c.Min.Y%32 != 0 || c.Dx()%32 != 0 || c.Dy()%32 != 0 || g.pixels(c).Intersect(roi) != p {
			t.Errorf("part %v is not whole cells of %+v (cells %v)", p, g, c)
		}
		for _, q := range parts[i+1:] {
			if p.Overlaps(q) {
				t.Errorf("parts %v and %v overlap", p, q)
			}
		}
		area += p.Dx() * p.Dy()
	}
	// The changed blocks with a block of margin, and the kept rectangle,
	// are covered; the drifted block is not looked at.
	want := []image.Rectangle{
		blockRect(4, 8, roi).Union(blockRect(7, 10, roi)),
		blockRect(27, 1, roi).Union(blockRect(29, 3, roi)),
		keep,
	}
	for _, w := range want {
		if !inAny(w, parts) {
			t.Errorf("%v not covered by parts %v", w, parts)
		}
	}
	if drifted := blockRect(15, 15, roi); inAny(drifted, parts) {
		t.Errorf("unchanged block %v scanned: parts %v", drifted, parts)
	}
	if area > roi.Dx()*roi.Dy()/4 {
		t.Errorf("parts %v cover %d px of %d", parts, area, roi.Dx()*roi.Dy())
	}
	// A change across most of the view is scanned whole.
	for k := range th {
		th[k] = uint8(k % 200)
	}
	if parts, full := changedParts(&ref, &th, roi, nil, g); !full || parts != nil {
		t.Fatalf("everything changed: parts %v, full %v", parts, full)
	}
}

func inAny(r image.Rectangle, rects []image.Rectangle) bool {
	for _, g := range rects {
		if r.In(g) {
			return true
		}
	}
	return false
}

// roadScene draws a plain road, with plate a at x (none when a is nil) and
// plate b standing still when withB, and k's sensor noise.
func roadScene(a *image.RGBA, x float64, b *image.RGBA, withB bool, k int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, 1280, 720))
	for i := 0; i < len(img.Pix); i += 4 {
		y := i / img.Stride
		n := uint8((i*7919 + k*104729) % 5)
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = 90+n, uint8(90+y/12)+n, 110+n, 255
	}
	if a != nil {
		warpOnto(img, a, Quad{{x, 400}, {x + 240, 404}, {x + 240, 456}, {x, 452}})
	}
	if withB {
		warpOnto(img, b, Quad{{820, 180}, {1040, 180}, {1040, 228}, {820, 228}})
	}
	return img
}

func streamPlates(t *testing.T) (a, b *image.RGBA) {
	t.Helper()
	s, err := NewSynthesizer(9)
	if err != nil {
		t.Fatal(err)
	}
	if a, err = s.Plate("kz", "123ABC02"); err != nil {
		t.Fatal(err)
	}
	if b, err = s.Plate("ua", "AA1234BB"); err != nil {
		t.Fatal(err)
	}
	return a, b
}

func hasText(reads []Read, text string) bool {
	for _, rd := range reads {
		if rd.Text == text {
			return true
		}
	}
	return false
}

// TestStreamScansChangedParts reads a plate that enters an empty lane in
// the first frame it shows, with a scan of only the parts that changed.
func TestStreamScansChangedParts(t *testing.T) {
	r := newTestRecognizer(t, Options{Countries: []string{"KZ", "UA"}})
	a, b := streamPlates(t)
	st := NewStream(r, StreamOptions{})
	for k := 0; k < 3; k++ {
		reads, tm, err := st.Read(roadScene(nil, 0, nil, false, k), image.Rectangle{})
		if err != nil {
			t.Fatal(err)
		}
		if len(reads) != 0 || (k == 0) != (tm.Scan && !tm.Partial) {
			t.Fatalf("empty lane, frame %d: reads %+v, timing %+v", k, reads, tm)
		}
	}
	reads, tm, err := st.Read(roadScene(a, 300, b, false, 3), image.Rectangle{})
	if err != nil {
		t.Fatal(err)
	}
	if !tm.Scan || !tm.Partial || !hasText(reads, "123ABC02") {
		t.Fatalf("plate entering: timing %+v, reads %+v", tm, reads)
	}
}

// TestStreamReadsStoppedPlate follows a vehicle that drives in and stops
// (a lorry at a barrier): its plate is read in every frame while it stands,
// through scans of the changed parts and whole ones.
func TestStreamReadsStoppedPlate(t *testing.T) {
	r := newTestRecognizer(t, Options{Countries: []string{"KZ", "UA"}})
	a, b := streamPlates(t)
	st := NewStream(r, StreamOptions{})
	partial, whole := 0, 0
	for k := 0; k < 26; k++ {
		x := 200 + 30*float64(min(k, 5))
		reads, tm, err := st.Read(roadScene(a, x, b, false, k), image.Rectangle{})
		if err != nil {
			t.Fatal(err)
		}
		if !hasText(reads, "123ABC02") {
			t.Errorf("frame %d (plate at %.0f, timing %+v): reads %+v", k, x, tm, reads)
		}
		if k > 5 && tm.Scan {
			if tm.Partial {
				partial++
			} else {
				whole++
			}
		}
	}
	if partial == 0 || whole == 0 {
		t.Errorf("while the plate stood: %d scans of changed parts, %d whole; want both", partial, whole)
	}
}

// TestStreamFindsUnchangedPlate finds a plate that a scan of changed parts
// cannot see (its blocks are recorded as scanned with it in them, as after
// a detection that missed it) at the next whole scan: the forced scan of a
// still frame, or the scan at most FullScanEvery frames after the last
// whole one while something else moves.
func TestStreamFindsUnchangedPlate(t *testing.T) {
	r := newTestRecognizer(t, Options{Countries: []string{"KZ", "UA"}})
	a, b := streamPlates(t)
	bounds := image.Rect(0, 0, 1280, 720)
	missB := func(st *Stream, withB *image.RGBA) {
		th := thumbOf(withB, bounds)
		for by := 0; by < thumbH; by++ {
			for bx := 0; bx < thumbW; bx++ {
				if blockRect(bx, by, bounds).Overlaps(image.Rect(800, 160, 1060, 250)) {
					st.ref[by*thumbW+bx] = th[by*thumbW+bx]
				}
			}
		}
	}

	// Still lane: no noise, so the frames after b appeared are skipped
	// until the forced scan.
	st := NewStream(r, StreamOptions{StillScanEvery: 6})
	empty := roadScene(nil, 0, nil, false, 0)
	withB := roadScene(nil, 0, b, true, 0)
	if _, _, err := st.Read(empty, image.Rectangle{}); err != nil {
		t.Fatal(err)
	}
	missB(st, withB)
	found := -1
	for k := 1; k < 10 && found < 0; k++ {
		reads, tm, err := st.Read(withB, image.Rectangle{})
		if err != nil {
			t.Fatal(err)
		}
		if hasText(reads, "AA1234BB") {
			found = k
			if tm.Partial {
				t.Errorf("frame %d: found by a scan of changed parts (%+v)", k, tm)
			}
		}
	}
	// Frame 1 scans what changed (nothing, as recorded), 2-6 are still,
	// 7 is the forced scan.
	if found != 7 {
		t.Errorf("unchanged plate in a still lane first read in frame %d, want 7", found)
	}

	// Plate a moves meanwhile: scans every 4 frames look at what changed
	// (around a) until the whole scan due 10 frames after frame 0.
	st = NewStream(r, StreamOptions{})
	if _, _, err := st.Read(roadScene(a, 200, nil, false, 0), image.Rectangle{}); err != nil {
		t.Fatal(err)
	}
	missB(st, roadScene(a, 230, b, true, 1))
	found = -1
	for k := 1; k < 16 && found < 0; k++ {
		reads, tm, err := st.Read(roadScene(a, 200+30*float64(k), b, true, k), image.Rectangle{})
		if err != nil {
			t.Fatal(err)
		}
		if !hasText(reads, "123ABC02") {
			t.Errorf("frame %d: moving plate not read: %+v", k, reads)
		}
		if hasText(reads, "AA1234BB") {
			found = k
			if tm.Partial {
				t.Errorf("frame %d: found by a scan of changed parts (%+v)", k, tm)
			}
		}
	}
	// Scans at 4 and 8 look at what changed; 12 is whole.
	if found != 12 {
		t.Errorf("unchanged plate beside a moving one first read in frame %d, want 12", found)
	}
}

// TestStreamPartialScansLeaveStillText scans a lane with a caption that
// stays as it was: scans of the changed parts do not look at it, the whole
// scan every FullScanEvery frames does, and once it changes it is read.
func TestStreamPartialScansLeaveStillText(t *testing.T) {
	r := newTestRecognizer(t, Options{Countries: []string{"KZ"}})
	s, err := NewSynthesizer(9)
	if err != nil {
		t.Fatal(err)
	}
	face, err := s.face(s.normal, "normal", 30)
	if err != nil {
		t.Fatal(err)
	}
	scene := func(k int, caption string) *image.RGBA {
		img := roadScene(nil, 0, nil, false, k)
		for y := 20; y < 64; y++ {
			for x := 20; x < 40+18*len(caption); x++ {
				img.SetRGBA(x, y, color.RGBA{20, 20, 20, 255})
			}
		}
		drawText(img, face, caption, 30, 54, color.White)
		return img
	}
	st := NewStream(r, StreamOptions{StillScanEvery: -1, FullScanEvery: 5, Forget: true})
	for k := 0; k <= 5; k++ {
		_, tm, err := st.Read(scene(k, "NORTH GATE"), image.Rectangle{})
		if err != nil {
			t.Fatal(err)
		}
		whole := k%5 == 0
		if !tm.Scan || tm.Partial == whole || (tm.Boxes > 0) != whole {
			t.Errorf("frame %d: timing %+v; want a scan, whole (reading the caption) %v", k, tm, whole)
		}
	}
	if _, tm, err := st.Read(scene(6, "SOUTH GATE"), image.Rectangle{}); err != nil || !tm.Partial || tm.Boxes == 0 {
		t.Errorf("changed caption: timing %+v, err %v; want it read by a scan of the changed parts", tm, err)
	}
}
