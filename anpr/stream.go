package anpr

import (
	"fmt"
	"image"
	"math"
	"time"

	"github.com/kuzet/kuzet/plates/platetext"
)

// StreamOptions tune a Stream. The zero value gives the defaults.
type StreamOptions struct {
	// ScanEvery is the most frames between two scans of the whole region
	// of interest while plates are in view (default 4); 1 scans every
	// frame. A frame after one without a plate is always scanned.
	ScanEvery int
	// StillScanEvery is the most frames between two scans while no plate
	// is in view and nothing in the region of interest moves (default 10:
	// two seconds at 5 frames per second); a frame that changed is always
	// scanned. Negative scans every such frame.
	StillScanEvery int
	// FullScanEvery is the most frames between two scans of the whole
	// region of interest (default 10: two seconds at 5 frames per second).
	// The scans between detect only the parts of the region of interest
	// that changed since a scan last covered them, and the surroundings of
	// the plates in view (see parts.go); 1 scans whole every time.
	FullScanEvery int
	// Forget reads every frame afresh: no settled plate's read is carried
	// forward and no text a scan found to be no plate is left unread.
	Forget bool
}

// Stream reads the consecutive frames of one camera. While plates are in
// view it looks only where they were in the previous frame, moved by their
// last motion, which costs a fraction of a scan; the whole region of
// interest is scanned whenever the previous frame had no plate and at least
// every ScanEvery frames, so a vehicle entering behind another is found
// within ScanEvery frames. Such a scan detects only where the region of
// interest changed since it was last scanned, and the whole of it at least
// every FullScanEvery frames. Like its Recognizer, it serves one goroutine.
type Stream struct {
	r     *Recognizer
	every int
	since int // frames since the last scan
	seen  []seenPlate
	// the coarse look of the last frame scanned with no plate in view,
	// and the frames skipped since because nothing moved
	still      *thumbnail
	stillEvery int
	stillFor   int
	junk       []junkBox // text the scans found to be no plate (see carry.go)
	forget     bool
	// each block's look when a scan last covered it, in the region of
	// interest refROI, and the frames since the last scan of all of it
	ref       *thumbnail
	refROI    image.Rectangle
	fullEvery int
	sinceFull int
}

// seenPlate is a plate read in the previous frame and its motion since the
// frame before (zero when it was not read there).
type seenPlate struct {
	read Read
	vel  point
	// agree counts the consecutive frames that read its text alike and
	// confidently; carried the frames since it was last recognised.
	agree, carried int
	sig            *plateSig // its look when last recognised
	best           float64   // the highest confidence of the agreeing reads
}

// Stream thresholds: reads at least this confident are followed into the
// next frame; a read continues a plate of the previous frame when its text
// is within followEdits of it.
const (
	followConfidence = 0.3
	followEdits      = 2
)

// NewStream returns a Stream reading with r.
func NewStream(r *Recognizer, o StreamOptions) *Stream {
	if o.ScanEvery <= 0 {
		o.ScanEvery = 4
	}
	if o.StillScanEvery == 0 {
		o.StillScanEvery = 10
	}
	if o.FullScanEvery <= 0 {
		o.FullScanEvery = 10
	}
	return &Stream{r: r, every: o.ScanEvery, stillEvery: o.StillScanEvery, fullEvery: o.FullScanEvery, forget: o.Forget}
}

// Read finds and reads the plates inside roi of the next frame (the whole
// image when roi is empty), best first. Timing.Scan tells whether the
// region of interest was scanned for plates (Timing.Partial: only where it
// changed), Timing.Still that the frame was skipped because nothing moved
// since the last scan.
func (s *Stream) Read(img image.Image, roi image.Rectangle) (reads []Read, tm Timing, err error) {
	var gate time.Duration // spent on the motion check
	defer func() { tm.Detect += gate }()
	r := roi
	if r.Empty() {
		r = img.Bounds()
	}
	r = r.Intersect(img.Bounds())
	s.sinceFull++
	var th *thumbnail
	forced := false // a scan of a still frame, forced by StillScanEvery
	if len(s.seen) == 0 && s.stillEvery > 0 {
		if r.Empty() {
			return nil, tm, nil
		}
		t0 := time.Now()
		t := thumbOf(img, r)
		th = &t
		gate = time.Since(t0)
		if s.still != nil && !moved(s.still, th) {
			if s.stillFor+1 < s.stillEvery {
				s.stillFor++
				tm.Still = true
				return nil, tm, nil
			}
			forced = true
		}
		s.still, s.stillFor = th, 0
	} else {
		s.still = nil
	}
	scan := len(s.seen) == 0 || s.since+1 >= s.every
	var h *streamHints
	if !s.forget {
		h = s.hints(scan)
	}
	var parts []image.Rectangle
	if scan {
		parts, th = s.parts(img, r, th, forced, &gate)
		reads, tm, err = s.r.recognize(img, roi, false, h, parts)
		s.since = 0
	} else {
		reads, tm, err = s.r.recognizeNear(img, roi, s.seen, h)
		s.since++
	}
	if err != nil {
		s.seen = nil
		return nil, tm, err
	}
	if scan {
		s.scanned(th, r, parts)
	}
	if scan && h != nil {
		var junk []junkBox
		for _, j := range s.junk {
			if parts != nil && !overlapsAny(j.quad.Bounds(), parts) {
				junk = append(junk, j) // not looked at: still known
			}
		}
		s.junk = append(junk, h.junkOut...)
	}
	s.follow(reads)
	return reads, tm, nil
}

// parts returns the parts of r (the region of interest) this frame's scan
// detects, nil to scan it whole, and the frame's thumbnail th (taken if
// nil). A forced scan of a still frame, the first, and one FullScanEvery
// frames after the last whole scan are whole.
func (s *Stream) parts(img image.Image, r image.Rectangle, th *thumbnail, forced bool, gate *time.Duration) ([]image.Rectangle, *thumbnail) {
	if r.Empty() {
		return nil, th
	}
	t0 := time.Now()
	defer func() { *gate += time.Since(t0) }()
	if th == nil {
		t := thumbOf(img, r)
		th = &t
	}
	if forced || s.fullEvery <= 1 || s.ref == nil || s.refROI != r || s.sinceFull >= s.fullEvery {
		return nil, th
	}
	var keep []image.Rectangle
	for _, p := range s.seen {
		keep = append(keep, nearRegionOf(p, r).rect)
	}
	parts, full := changedParts(s.ref, th, r, keep, gridOf(r, s.r.scanScale(r)))
	switch {
	case full:
		return nil, th
	case parts == nil:
		return []image.Rectangle{}, th // nothing changed: nothing to detect
	}
	return parts, th
}

// scanned records the blocks of the region of interest r that a scan of
// parts (nil: the whole) covered, as th shows them.
func (s *Stream) scanned(th *thumbnail, r image.Rectangle, parts []image.Rectangle) {
	if th == nil {
		return
	}
	if parts == nil {
		s.sinceFull = 0
	}
	if s.ref == nil || s.refROI != r {
		if parts != nil {
			return
		}
		s.ref, s.refROI = new(thumbnail), r
	}
	refreshRef(s.ref, th, r, parts)
}

// overlapsAny reports whether r overlaps one of the rectangles.
func overlapsAny(r image.Rectangle, rects []image.Rectangle) bool {
	for _, g := range rects {
		if r.Overlaps(g) {
			return true
		}
	}
	return false
}

// hints are what the stream knows for the next frame: the settled plates
// whose reads may be carried forward, and the junk a scan may leave unread.
func (s *Stream) hints(scan bool) *streamHints {
	h := &streamHints{scan: scan, junk: s.junk}
	for _, p := range s.seen {
		if p.agree < settleReads || p.carried >= carryMax || p.sig == nil {
			continue
		}
		at := p.read.Quad
		for k := range at {
			at[k].X += p.vel.X
			at[k].Y += p.vel.Y
		}
		rd := p.read
		rd.Confidence = p.best
		h.settled = append(h.settled, settledPlate{read: rd, at: at, vel: p.vel, sig: p.sig})
	}
	return h
}

// follow remembers the confident reads of this frame with their motion
// since the previous one.
func (s *Stream) follow(reads []Read) {
	var next []seenPlate
	for _, rd := range reads {
		if rd.Confidence < followConfidence || len(next) >= s.r.opts.MaxRegions {
			continue
		}
		sp := seenPlate{read: rd}
		c := rd.Quad.center()
		best := math.Inf(1)
		var prev *seenPlate
		for i, p := range s.seen {
			if platetext.EditDistance(p.read.Text, rd.Text) > followEdits {
				continue
			}
			pc := p.read.Quad.center()
			if d := dist(pc, c); d < best {
				best = d
				sp.vel = point{c.X - pc.X, c.Y - pc.Y}
				prev = &s.seen[i]
			}
		}
		switch {
		case rd.carried && prev != nil:
			sp.agree, sp.carried, sp.sig, sp.best = prev.agree, prev.carried+1, prev.sig, prev.best
		case rd.sig != nil:
			sp.agree, sp.sig, sp.best = 1, rd.sig, rd.Confidence
			if prev != nil && prev.read.Text == rd.Text {
				sp.agree, sp.best = prev.agree+1, math.Max(prev.best, rd.Confidence)
			}
		}
		next = append(next, sp)
	}
	s.seen = next
}

// recognizeNear reads plates only around where seen plates are expected
// in this frame: each plate's box moved by its last motion and grown by a
// margin for changes of speed, detected at a scale that suits its text.
func (r *Recognizer) recognizeNear(img image.Image, roi image.Rectangle, seen []seenPlate, h *streamHints) ([]Read, Timing, error) {
	var tm Timing
	if roi.Empty() {
		roi = img.Bounds()
	}
	roi = roi.Intersect(img.Bounds())
	if roi.Empty() {
		return nil, tm, nil
	}
	t0 := time.Now()
	var regions []nearRegion
	for _, p := range seen {
		regions = addNearRegion(regions, nearRegionOf(p, roi))
	}
	var boxes []textBox
	for _, g := range regions {
		if g.rect.Empty() {
			continue
		}
		sub := toRGBA(img, g.rect)
		found, err := detectAt(r.det, sub, g.scale)
		if err != nil {
			tm.Detect = time.Since(t0)
			return nil, tm, fmt.Errorf("recognize near plates: %w", err)
		}
		boxes = append(boxes, found...)
	}
	tm.Detect = time.Since(t0)
	// The regions were detected at their text's scale: no box needs a
	// second look.
	reads, err := r.readBoxes(toRGBA(img, roi), plateLikeBoxes(boxes, r.opts.MaxBoxes), math.Inf(1), &tm, h, false)
	if err != nil {
		return nil, tm, fmt.Errorf("recognize near plates: %w", err)
	}
	return reads, tm, nil
}

// nearRegion is where a seen plate is looked for, and the detector scale
// that suits its text.
type nearRegion struct {
	rect  image.Rectangle
	scale float64
}

// maxNearPixels bounds a near region's detector input; larger regions
// (big, fast plates) are detected at a smaller scale.
const maxNearPixels = 96 * 1024

func nearRegionOf(p seenPlate, roi image.Rectangle) nearRegion {
	q := p.read.Quad
	rows := float64(max(1, p.read.Rows))
	lineH := q.height() / rows
	b := p.read.Box.Add(image.Pt(int(math.Round(p.vel.X)), int(math.Round(p.vel.Y))))
	// Room for a change of speed of half the last motion, at least half a
	// plate width sideways and a line height up and down.
	mx := int(math.Ceil(math.Max(0.5*float64(b.Dx()), 0.5*math.Abs(p.vel.X)) + lineH))
	my := int(math.Ceil(math.Max(lineH, 0.5*math.Abs(p.vel.Y)) + lineH))
	rect := image.Rect(b.Min.X-mx, b.Min.Y-my, b.Max.X+mx, b.Max.Y+my).Intersect(roi)
	s := clampF(fineLine/math.Max(lineH, 1), 0.25, 2)
	if px := float64(rect.Dx()*rect.Dy()) * s * s; px > maxNearPixels {
		s *= math.Sqrt(maxNearPixels / px)
	}
	return nearRegion{rect, s}
}

// addNearRegion adds g, merging it with a region it overlaps (the smaller
// scale wins, so the larger text still fits the detector).
func addNearRegion(regions []nearRegion, g nearRegion) []nearRegion {
	for i := range regions {
		if regions[i].rect.Overlaps(g.rect) {
			regions[i].rect = regions[i].rect.Union(g.rect)
			regions[i].scale = math.Min(regions[i].scale, g.scale)
			return regions
		}
	}
	return append(regions, g)
}
