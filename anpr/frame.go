package anpr

import (
	"fmt"
	"image"
	"math"
	"time"
)

// Recognize finds and reads the plates inside roi of img (the whole image
// when roi is empty), best first. A picture in which the coarse scan finds
// no confident plate is scanned again at a finer scale, and one in which
// neither scan finds any plate, once more at full resolution (a still photo
// has no later frame in which a distant plate comes closer; see Stream).
func (r *Recognizer) Recognize(img image.Image, roi image.Rectangle) ([]Read, Timing, error) {
	return r.recognize(img, roi, true, nil, nil)
}

// scanScale is the detector's scale for a scan of roi: the coarse scan's,
// or the single pass's (see Options).
func (r *Recognizer) scanScale(roi image.Rectangle) float64 {
	side := r.opts.ScanMaxSide
	if r.opts.SinglePass {
		side = r.opts.DetectMaxSide
	} else if side <= 0 {
		side = max(480, max(roi.Dx(), roi.Dy())/3)
	}
	return math.Min(1, float64(side)/float64(max(roi.Dx(), roi.Dy())))
}

// Rescan tuning: without a read of at least rescanBelow confidence, the
// still picture is detected again at rescanFactor times the scan's scale.
const (
	rescanBelow  = 0.6
	rescanFactor = 1.7
)

// recognize reads the plates inside roi of img. With parts (in a Stream:
// the parts of roi that changed since they were last scanned, see
// changedParts) only they are detected, each grown in place where a box
// reached its edge; nil parts scan roi whole.
func (r *Recognizer) recognize(img image.Image, roi image.Rectangle, rescan bool, h *streamHints, parts []image.Rectangle) ([]Read, Timing, error) {
	var tm Timing
	if roi.Empty() {
		roi = img.Bounds()
	}
	roi = roi.Intersect(img.Bounds())
	if roi.Empty() {
		return nil, tm, nil
	}
	tm.Scan = true
	tm.Partial = parts != nil
	t0 := time.Now()
	rgba := toRGBA(img, roi)
	var boxes []textBox
	var err error
	scale := r.scanScale(roi)
	switch {
	case parts != nil:
		boxes, err = detectParts(r, rgba, parts, gridOf(roi, scale))
	case r.opts.SinglePass:
		boxes, err = detect(r.det, rgba, r.opts.DetectMaxSide)
	default:
		boxes, err = detectAt(r.det, rgba, scale)
	}
	if r.opts.SinglePass {
		scale = 1 // its boxes need no second look
	}
	tm.Detect = time.Since(t0)
	if err != nil {
		return nil, tm, fmt.Errorf("recognize: %w", err)
	}
	reads, err := r.readBoxes(rgba, plateLikeBoxes(boxes, r.opts.MaxBoxes), scale, &tm, h, rescan)
	if err != nil {
		return nil, tm, fmt.Errorf("recognize: %w", err)
	}
	if rescan && !r.opts.SinglePass && scale < 1 && !confidentIn(reads) {
		fine := math.Min(1, rescanFactor*scale)
		more, err := r.scanAt(rgba, fine, &tm)
		if err != nil {
			return nil, tm, err
		}
		reads = suppress(append(reads, more...), r.opts.MinConfidence)
		if last := lastLookScale(roi); len(reads) == 0 && last > fine {
			// Neither scan found a plate at all: a last look at full
			// resolution outlines one whose text the scans' downscaling
			// left a few pixels high, or washed into the vehicle around
			// it (plates 40 px high in 720p photos).
			if reads, err = r.scanAt(rgba, last, &tm); err != nil {
				return nil, tm, err
			}
		}
	}
	return reads, tm, nil
}

// lastLookSide is the longest side of the last look at a photo no scan
// found a plate in: a 1080p photo at full resolution. Beyond that the
// detector's cost and memory grow with the square of the side (a 4K photo
// at full resolution took seconds and over a gigabyte), and the rescan of
// a larger photo already sees it at more than this.
const lastLookSide = 1920

// lastLookScale is the scale of that last look at roi.
func lastLookScale(roi image.Rectangle) float64 {
	return math.Min(1, lastLookSide/float64(max(roi.Dx(), roi.Dy())))
}

// scanAt detects the whole of rgba at scale s and reads what it finds.
func (r *Recognizer) scanAt(rgba *image.RGBA, s float64, tm *Timing) ([]Read, error) {
	t := time.Now()
	boxes, err := detectAt(r.det, rgba, s)
	tm.Detect += time.Since(t)
	if err != nil {
		return nil, fmt.Errorf("recognize: %w", err)
	}
	reads, err := r.readBoxes(rgba, plateLikeBoxes(boxes, r.opts.MaxBoxes), s, tm, nil, true)
	if err != nil {
		return nil, fmt.Errorf("recognize: %w", err)
	}
	return reads, nil
}

// confidentIn reports whether some read is confident enough to spare a
// finer scan.
func confidentIn(reads []Read) bool {
	for _, rd := range reads {
		if rd.Confidence >= rescanBelow {
			return true
		}
	}
	return false
}

// Two-stage tuning. A box lower than refineBelow pixels in the coarse scan
// is outlined again with the detector at a scale that makes it about
// fineLine pixels high. Once a box read as a country's plate with at least
// confidentRead, boxes whose plate prior is below weakPrior times the best
// box's are skipped unless they lie next to a line already read.
const (
	refineBelow   = 24
	fineLine      = 28
	confidentRead = 0.7
	weakPrior     = 0.7
)

// line is a recognised text box.
type line struct {
	quad  Quad
	lp    logProbs
	look  plateLook
	shape lineShape // for the other row of a two-row plate (see settleRows)
	root  int       // textBox.root
	// the line decoded alone, when readBoxes did so already
	read    Read
	readOK  bool
	decoded bool
}

// readBoxes reads the plate-like boxes (best first) found at scale: each box
// is rectified and recognised, boxes that were small at that scale are first
// outlined again at a scale that suits their text, and once one box gave a
// confident plate the boxes far less plate-like than the best are skipped.
// The lines read are then grouped into plates (rows of pieces, two-row
// plates) and decoded. h (nil outside a Stream) carries settled plates'
// reads forward and leaves known junk unread; still (a photo, not a
// stream's frame) lets a loose line be read a second time, tight (see
// tightLine).
func (r *Recognizer) readBoxes(img *image.RGBA, queue []textBox, scale float64, tm *Timing, h *streamHints, still bool) ([]Read, error) {
	t0 := time.Now()
	var detTime time.Duration
	defer func() { tm.Recognize += time.Since(t0) - detTime; tm.Detect += detTime }()

	// What became of each box of the scan (by root), to learn junk from.
	type fate struct {
		junk    int  // the junk box it outlines again, or -1
		skipped bool // left unread as junk
		read    bool // some of it was recognised
		unread  bool // some of it was left unread for other reasons
		plate   bool // some of it went into a read
	}
	var fates []fate
	var roots []Quad
	if h != nil {
		fates = make([]fate, len(queue))
		for i := range queue {
			queue[i].root = i + 1
			fates[i].junk = h.junkAt(queue[i].quad)
			roots = append(roots, queue[i].quad)
		}
	}
	var lines []line
	var carried []Read
	var refined []image.Rectangle
	var bestPrior float64
	if len(queue) > 0 {
		bestPrior = platePrior(queue[0])
	}
	confident := false
	for len(queue) > 0 && len(lines)+len(carried) < r.opts.MaxBoxes {
		b := queue[0]
		queue = queue[1:]
		var f *fate
		if b.root > 0 {
			f = &fates[b.root-1]
		}
		if confident && platePrior(b) < weakPrior*bestPrior && !nearLines(b.quad, lines, img.Rect) {
			// Pieces next to a line already read (a region cell, a second
			// row) are still read; nothing else this weak is.
			if f != nil {
				f.unread = true
			}
			continue
		}
		if f != nil && f.junk >= 0 && h.junk[f.junk].skips < junkRecheck {
			f.skipped = true
			continue
		}
		if rd, ok := h.carry(img, b); ok && !cutByEdge(rd.Box, img.Rect) && !crowded(b, queue, img.Rect) {
			carried = append(carried, rd)
			if f != nil {
				f.plate = true
			}
			confident = confident || (rd.Country != genericFormatID && rd.Confidence >= confidentRead)
			continue
		}
		if b.quad.height()*scale < refineBelow && len(refined) < r.opts.MaxRegions && !inside(b.quad.Bounds(), refined) {
			reg := growRegion(b, img.Rect)
			t := time.Now()
			s := clampF(fineLine/math.Max(b.quad.height(), 1), 0.25, 2)
			fine, err := detectAt(r.det, img.SubImage(reg).(*image.RGBA), s)
			if wider := beyondRegion(fine, reg, img.Rect); err == nil && wider != reg {
				// The coarse scan outlined a glyph or two of a line
				// the region then cut: outlined again, wider.
				reg = wider
				fine, err = detectAt(r.det, img.SubImage(reg).(*image.RGBA), s)
			}
			detTime += time.Since(t)
			if err != nil {
				return nil, err
			}
			refined = append(refined, reg)
			fine = plateLikeBoxes(fine, r.opts.MaxBoxes)
			// DB on a small crop sometimes outlines only part of a line;
			// the coarse box then stays a candidate of its own.
			if !covered(b.quad, fine) {
				fine = append(fine, b)
			}
			for i := range fine {
				fine[i].root = b.root
			}
			// The region's coarse boxes are superseded by its fine ones.
			rest := queue[:0:0]
			for _, q := range queue {
				if !inside(q.quad.Bounds(), refined[len(refined)-1:]) {
					rest = append(rest, q)
				} else if q.root > 0 {
					fates[q.root-1].unread = true // not known to be junk
				}
			}
			queue = append(fine, rest...)
			continue
		}
		lp, look, shape, err := r.recognizeQuad(img, padQuad(b.quad), still)
		if err != nil {
			return nil, err
		}
		tm.Boxes++
		if f != nil {
			f.read = true
		}
		l := line{quad: b.quad, lp: lp, look: look, shape: shape, root: b.root}
		if !confident {
			l.read, l.readOK = r.decodeRead(lp, b.quad, 1, look)
			l.decoded = true
			if l.readOK && l.read.Country != genericFormatID && l.read.Confidence >= confidentRead {
				confident = true
			}
		}
		lines = append(lines, l)
	}
	for _, b := range queue {
		if b.root > 0 {
			fates[b.root-1].unread = true
		}
	}
	if still {
		more, err := r.probeRows(img, lines)
		if err != nil {
			return nil, err
		}
		lines = append(lines, more...)
	}
	reads := carried
	piece := letteringPieces(lines)
	for _, g := range lineGroups(lines) {
		var lp logProbs
		var look plateLook
		var rd Read
		var ok bool
		switch {
		case len(g.idx) == 1 && lines[g.idx[0]].decoded:
			rd, ok = lines[g.idx[0]].read, lines[g.idx[0]].readOK
		case len(g.idx) == 1:
			lp, look = lines[g.idx[0]].lp, lines[g.idx[0]].look
		case g.rows == 2 && (piece[g.idx[0]] || piece[g.idx[1]] || !plateRows(lines[g.idx[0]].lp, lines[g.idx[1]].lp)):
		case g.rows == 2:
			top, bottom := lines[g.idx[0]], lines[g.idx[1]]
			lp = joinRows(settleRows(top.lp, bottom.lp, top.shape, bottom.shape))
			look = lines[g.idx[0]].look.twoRows(lines[g.idx[1]].look)
		default:
			// Pieces of one row (number, region cell, band) overlap after
			// unclipping; reading their union once avoids doubled glyphs.
			var err error
			if lp, look, _, err = r.recognizeQuad(img, padQuad(g.quad), still); err != nil {
				return nil, err
			}
		}
		if lp != nil {
			rd, ok = r.decodeRead(lp, g.quad, g.rows, look)
		}
		if ok {
			rd.pieces = len(g.idx)
			if cutByEdge(rd.Box, img.Rect) {
				// A plate entering or leaving the view shows only part of
				// its text; its full reading follows in later frames.
				rd.Confidence *= 0.5
			}
			if h != nil && rd.pieces == 1 && rd.Rows == 1 && rd.Confidence >= settleConfidence {
				if sig, ok := sigOf(img, rd.Quad); ok {
					rd.sig = &sig
				}
			}
			reads = append(reads, rd)
			if rd.Confidence >= r.opts.MinConfidence && fates != nil {
				for _, i := range g.idx {
					if k := lines[i].root; k > 0 {
						fates[k-1].plate = true
					}
				}
			}
		}
	}
	if h != nil && h.scan {
		h.junkOut = h.junkOut[:0]
		for i, f := range fates {
			switch {
			case f.plate:
			case f.skipped:
				h.junkOut = append(h.junkOut, junkBox{roots[i], h.junk[f.junk].skips + 1})
			case f.read && !f.unread:
				h.junkOut = append(h.junkOut, junkBox{roots[i], 0})
			case f.junk >= 0:
				h.junkOut = append(h.junkOut, h.junk[f.junk]) // not reached: still known
			}
		}
	}
	return suppress(reads, r.opts.MinConfidence), nil
}

// plateRows reports whether two stacked lines may be the rows of one
// plate: each holds two characters or more (a lone letter above or below a
// plate is a logo or lettering), and neither is the RUS printed under a
// Russian region's digits, which the detector may outline apart with the
// digits above it: joined, the two read as a plate of their own (430 over
// RUS as Estonia's 430RUS, at 0.99).
func plateRows(top, bottom logProbs) bool {
	t, b := greedy(top).text, greedy(bottom).text
	return len(t) >= 2 && len(b) >= 2 && t != regionCaption && b != regionCaption
}

// regionCaption is the country code printed under a Russian region's
// digits.
const regionCaption = "RUS"

// letteringPieces tells which lines lie mostly inside a longer line that
// reads as a word (the SE of SERVICE, outlined apart by the detector): a
// piece of lettering is no row of a plate.
func letteringPieces(lines []line) []bool {
	texts := make([]string, len(lines))
	for i, l := range lines {
		texts[i] = greedy(l.lp).text
	}
	out := make([]bool, len(lines))
	for i, l := range lines {
		a := l.quad.Bounds()
		for j, m := range lines {
			if i == j || len(texts[j]) <= len(texts[i]) || !wordLike(texts[j]) {
				continue
			}
			in := a.Intersect(m.quad.Bounds())
			if !in.Empty() && 10*in.Dx()*in.Dy() >= 7*a.Dx()*a.Dy() {
				out[i] = true
			}
		}
	}
	return out
}

// crowded reports whether other boxes lie in b's surroundings (a region
// cell, a second row): a plate of several pieces is read whole.
func crowded(b textBox, queue []textBox, bounds image.Rectangle) bool {
	g := growRegion(b, bounds)
	for _, q := range queue {
		if q.quad.Bounds().Overlaps(g) {
			return true
		}
	}
	return false
}

// growRegion is the surroundings of a text box that may hold the rest of its
// plate: a second row above or below, a region cell or band beside it.
func growRegion(b textBox, bounds image.Rectangle) image.Rectangle {
	h, w := b.quad.height(), b.quad.width()
	r := b.quad.Bounds()
	mx, my := int(math.Ceil(0.25*w+h)), int(math.Ceil(1.3*h))
	return image.Rect(r.Min.X-mx, r.Min.Y-my, r.Max.X+mx, r.Max.Y+my).Intersect(bounds)
}

// A plate line seldom runs wider than plateLineSpan times its height: a
// region not much wider than that cannot hold the line of a box it cuts.
const plateLineSpan = 5

// beyondRegion is reg grown by a plate line's span on each side where a box
// found in it ends at that side and reg is too narrow to hold the box's
// whole line (growRegion around a box of one or two glyphs); reg itself
// when no box was cut.
func beyondRegion(boxes []textBox, reg, bounds image.Rectangle) image.Rectangle {
	out := reg
	for _, b := range boxes {
		h := b.quad.height()
		if float64(reg.Dx()) >= (plateLineSpan+1)*h {
			continue
		}
		r := b.quad.Bounds()
		m := int(math.Max(2, 0.25*h)) // a box unclipped from a cut glyph stops short of the edge
		grow := int(math.Ceil(plateLineSpan * h))
		if reg.Min.X > bounds.Min.X && r.Min.X <= reg.Min.X+m {
			out.Min.X = min(out.Min.X, reg.Min.X-grow)
		}
		if reg.Max.X < bounds.Max.X && r.Max.X >= reg.Max.X-m {
			out.Max.X = max(out.Max.X, reg.Max.X+grow)
		}
	}
	return out.Intersect(bounds)
}

// cutByEdge reports whether a read's box reaches the edge of the region
// of interest (or comes within a few pixels of it).
func cutByEdge(box, roi image.Rectangle) bool {
	const m = 8 // pixels: a box unclipped from a glyph at the edge stops short of it, by more at a coarse scale
	return box.Min.X <= roi.Min.X+m || box.Min.Y <= roi.Min.Y+m || box.Max.X >= roi.Max.X-m || box.Max.Y >= roi.Max.Y-m
}

// nearLines reports whether q lies in the surroundings of a line read.
func nearLines(q Quad, lines []line, bounds image.Rectangle) bool {
	r := q.Bounds()
	for _, l := range lines {
		if r.Overlaps(growRegion(textBox{quad: l.quad}, bounds)) {
			return true
		}
	}
	return false
}

// covered reports whether boxes outline most of q's width.
func covered(q Quad, boxes []textBox) bool {
	r := q.Bounds()
	for _, b := range boxes {
		in := r.Intersect(b.quad.Bounds())
		if !in.Empty() && in.Dx() >= r.Dx()*3/4 {
			return true
		}
	}
	return false
}

// inside reports whether most of r lies in one of the regions.
func inside(r image.Rectangle, regions []image.Rectangle) bool {
	for _, g := range regions {
		in := r.Intersect(g)
		if !in.Empty() && in.Dx()*in.Dy() >= r.Dx()*r.Dy()*3/4 {
			return true
		}
	}
	return false
}

func clampF(v, lo, hi float64) float64 { return math.Max(lo, math.Min(hi, v)) }
