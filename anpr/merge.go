package anpr

import (
	"image"
	"slices"
	"time"

	"github.com/kuzet/kuzet/plates"
	"github.com/kuzet/kuzet/plates/platetext"
)

// ExternalRead is a plate read the camera made itself.
type ExternalRead struct {
	Text       string    // normalised (platetext.Normalize)
	Country    string    // "": the first plate grammar the text fits, if any
	Confidence float64   // 0–1; 0 when the camera did not say
	At         time.Time // when the camera read it; zero: when it arrived
	Direction  string    // the camera's own: entry, exit or ""
	// Overview and Crop are the camera's JPEG pictures (nil: not sent).
	Overview, Crop []byte
	// ID names the read in the journal of camera reads ("": not journaled);
	// the pass it goes into lists it (Snapshot.Reads).
	ID string
}

const (
	externalQueue = 32
	// externalConfidence stands for a camera read that came without one:
	// cameras send what they accept, but below a sure read of the node.
	externalConfidence = 0.75
	// externalActive is how long after its last read a camera counts as
	// posting reads: meanwhile the node's passes wait for late ones.
	externalActive = 10 * time.Minute
)

// ExternalGap ends a pass of camera reads alone (by default): cameras
// repeat their event for a vehicle that stays in view.
const ExternalGap = 5 * time.Second

type externalMsg struct {
	r      ExternalRead
	onPass func(Snapshot)
}

// merger tracks one camera's plates from the node's frames and from the
// camera's own reads, on the analyzer's goroutine. A camera read joins the
// node's pass of the same plate: it goes into the node's tracker with the
// box of the node's latest read of that plate, so it votes like a frame
// without moving the pass. A camera read the node has not seen waits for
// the node to read the plate in the frames of one gap after its arrival
// (recognition may lag behind the stream), then goes on alone into a
// tracker of camera reads (text only: the camera's boxes are in its own
// pictures).
// While the camera posts, the node's passes wait one gap after they end
// for a camera read that arrives late.
type merger struct {
	gap, hold time.Duration
	maxEdits  int
	grammars  []Grammar
	onPass    func(Snapshot) // passes the node read alone
	extPass   func(Snapshot) // passes with a camera read (from the latest External)
	tr        *Tracker       // the node's reads and the camera reads that joined them (nil: the node reads no plates here)
	ctr       *Tracker       // camera reads alone, on the wall clock
	trNow     time.Time      // time of the latest frame
	frames    map[time.Time]*image.RGBA
	recent    []seenRead      // the node's reads of the last gap
	pending   []waitingRead   // camera reads waiting for the node to read the plate
	joined    []timedExternal // camera reads fed to tr, until their pass ends
	alone     []timedExternal // camera reads fed to ctr, until their pass ends
	held      []heldPass      // node passes waiting for a late camera read
	lastExt   time.Time       // wall clock of the latest camera read
	far       float64         // where the next read alone is put in ctr: far from any other
	lastTag   uint64          // the latest camera read's token in the trackers (Read.tag)
}

type seenRead struct {
	text  string
	cands []plates.Candidate
	quad  Quad
	at    time.Time
	frame *image.RGBA // kept only while the camera posts
}

type waitingRead struct {
	r       ExternalRead
	arrived time.Time // wall clock, comparable with frame times (units are stamped on arrival)
}

type timedExternal struct {
	r   ExternalRead
	tag uint64 // its Read.tag in the tracker it was fed to: the pass that holds it lists it
}

type heldPass struct {
	s     Snapshot
	until time.Time
}

func newMerger(o AnalyzerOptions, node bool) *merger {
	cfg := o.Tracker.withDefaults()
	gs, _ := OrderGrammars(o.Recognizer.Countries)
	m := &merger{gap: cfg.Gap, hold: cfg.Gap, maxEdits: cfg.MaxEdits, grammars: gs, onPass: o.OnPass,
		frames: map[time.Time]*image.RGBA{}}
	if node {
		m.tr = NewTracker(o.Tracker)
	}
	// the camera's reads alone have no motion and need one read to count
	ctrGap := ExternalGap
	if !node && o.Tracker.Gap > 0 {
		ctrGap = o.Tracker.Gap
	}
	m.ctr = NewTracker(TrackerConfig{Gap: ctrGap, MaxEdits: cfg.MaxEdits})
	return m
}

func (m *merger) posting(now time.Time) bool {
	return !m.lastExt.IsZero() && now.Sub(m.lastExt) < externalActive
}

// matches tells whether a camera read is of the plate a node read read.
func (m *merger) matches(text string, cands []plates.Candidate, r ExternalRead) bool {
	if platetext.EditDistance(text, r.Text) <= m.maxEdits {
		return true
	}
	for _, c := range cands {
		if c.Text == r.Text {
			return true
		}
	}
	return false
}

// frame takes the node's reads of one frame taken at at.
func (m *merger) frame(at time.Time, img *image.RGBA, reads []Read, now time.Time) {
	if len(reads) > 0 {
		m.frames[at] = img
	}
	passes := m.tr.Observe(at, reads)
	m.trNow = at
	keep := m.recent[:0]
	for _, s := range m.recent {
		if at.Sub(s.at) <= m.gap {
			keep = append(keep, s)
		}
	}
	m.recent = keep
	for _, rd := range reads {
		s := seenRead{text: rd.Text, cands: rd.Candidates, quad: rd.Quad, at: at}
		if m.posting(now) {
			s.frame = img
		}
		m.recent = append(m.recent, s)
	}
	// a waiting camera read joins the node's pass of its plate, or goes on
	// alone once the node has looked at a gap of frames after it came
	waiting := m.pending[:0]
	for _, p := range m.pending {
		if s, ok := m.recentMatch(p.r); ok {
			passes = append(passes, m.join(p.r, s)...)
		} else if at.Sub(p.arrived) > m.gap {
			m.alone1(p.r, now)
		} else {
			waiting = append(waiting, p)
		}
	}
	m.pending = waiting
	m.nodePasses(passes, now, true)
	for t := range m.frames {
		if !m.tr.HoldsFrame(t) {
			delete(m.frames, t)
		}
	}
}

// recentMatch is the node's latest read of the camera read's plate.
func (m *merger) recentMatch(r ExternalRead) (seenRead, bool) {
	for i := len(m.recent) - 1; i >= 0; i-- {
		if s := m.recent[i]; m.trNow.Sub(s.at) <= m.gap && m.matches(s.text, s.cands, r) {
			return s, true
		}
	}
	return seenRead{}, false
}

// join feeds a camera read into the node's tracker where the node read the
// plate last.
func (m *merger) join(r ExternalRead, s seenRead) []Pass {
	if m.frames[s.at] == nil && s.frame != nil {
		m.frames[s.at] = s.frame // the snapshot, should the camera's read be the pass's best
	}
	m.lastTag++
	rd := Read{Text: r.Text, Country: r.Country, Confidence: r.Confidence, Quad: s.quad, Box: s.quad.Bounds(), Rows: 1,
		Candidates: []plates.Candidate{{Text: r.Text, Country: r.Country, Confidence: r.Confidence}}, tag: m.lastTag}
	m.joined = append(m.joined, timedExternal{r: r, tag: m.lastTag})
	return m.tr.Observe(s.at, []Read{rd})
}

// external takes one of the camera's reads.
func (m *merger) external(x externalMsg, now time.Time) {
	m.lastExt = now
	if x.onPass != nil {
		m.extPass = x.onPass
	}
	r := x.r
	if r.Confidence <= 0 {
		r.Confidence = externalConfidence
	}
	r.Confidence = min(r.Confidence, 1)
	if r.Country == "" {
		r.Country, _, _ = MatchesGrammar(r.Text, m.grammars)
	}
	if r.At.IsZero() {
		r.At = now
	}
	for i := range m.held {
		if p := m.held[i].s.Pass; m.matches(p.Text, p.Candidates, r) {
			m.mergeHeld(i, r)
			return
		}
	}
	if m.tr == nil {
		m.alone1(r, now)
		return
	}
	if s, ok := m.recentMatch(r); ok {
		m.nodePasses(m.join(r, s), now, true)
		return
	}
	m.pending = append(m.pending, waitingRead{r: r, arrived: now})
}

// alone1 feeds a camera read into the tracker of camera reads alone.
func (m *merger) alone1(r ExternalRead, now time.Time) {
	m.far += 1e6 // a box far from every other: only the text can match
	q := Quad{{m.far, 0}, {m.far + 1, 0}, {m.far + 1, 1}, {m.far, 1}}
	m.lastTag++
	rd := Read{Text: r.Text, Country: r.Country, Confidence: r.Confidence, Quad: q, Rows: 1,
		Candidates: []plates.Candidate{{Text: r.Text, Country: r.Country, Confidence: r.Confidence}}, tag: m.lastTag}
	m.alone = append(m.alone, timedExternal{r: r, tag: m.lastTag})
	m.cameraPasses(m.ctr.Observe(now, []Read{rd}))
}

func (m *merger) mergeHeld(i int, r ExternalRead) {
	h := &m.held[i]
	h.s.Source = plates.SourceNodeCamera
	h.s.Pass.Frames++
	h.s.addRead(r.ID)
	if better(h.s.External, &r) {
		h.s.External = &r
	}
}

// externalWaitMax bounds a camera read's wait for the node's frames (the
// stream may have stopped, or recognition fall far behind).
const externalWaitMax = 10 * time.Second

// tick moves the wall clock on: camera reads the node's frames no longer
// come for go on alone, passes of camera reads end, held passes leave.
func (m *merger) tick(now time.Time) {
	waiting := m.pending[:0]
	for _, p := range m.pending {
		if now.Sub(p.arrived) <= m.gap+externalWaitMax {
			waiting = append(waiting, p)
		} else {
			m.alone1(p.r, now)
		}
	}
	m.pending = waiting
	m.cameraPasses(m.ctr.Observe(now, nil))
	held := m.held[:0]
	for _, h := range m.held {
		if now.Before(h.until) {
			held = append(held, h)
		} else {
			m.emit(h.s)
		}
	}
	m.held = held
}

// nodePasses emits (or holds) passes of the node's tracker, with the camera
// reads that joined them.
func (m *merger) nodePasses(passes []Pass, now time.Time, hold bool) {
	for _, p := range passes {
		s := Snapshot{Frame: m.frames[p.BestAt], Pass: p}
		// the camera reads the tracker put into this pass: by their tags,
		// since a read fed at an earlier frame's time may fall outside the
		// pass's span, and each must leave in exactly one pass
		keep := m.joined[:0]
		for _, j := range m.joined {
			if slices.Contains(p.tags, j.tag) {
				s.Source = plates.SourceNodeCamera
				s.addRead(j.r.ID)
				if better(s.External, &j.r) {
					r := j.r
					s.External = &r
				}
				continue
			}
			keep = append(keep, j)
		}
		m.joined = keep
		if !hold || !m.posting(now) {
			m.emit(s)
			continue
		}
		m.held = append(m.held, heldPass{s: s, until: now.Add(m.hold)})
		// a camera read that arrived before the node read the plate
		waiting := m.pending[:0]
		for _, q := range m.pending {
			if m.matches(p.Text, p.Candidates, q.r) {
				m.mergeHeld(len(m.held)-1, q.r)
			} else {
				waiting = append(waiting, q)
			}
		}
		m.pending = waiting
	}
}

// cameraPasses emits the passes of camera reads alone, with the camera's
// times: it may have sent its reads late.
func (m *merger) cameraPasses(passes []Pass) {
	for _, p := range passes {
		s := Snapshot{Pass: p, Source: plates.SourceCamera}
		var first, last time.Time
		keep := m.alone[:0]
		for _, j := range m.alone {
			if !slices.Contains(p.tags, j.tag) {
				keep = append(keep, j)
				continue
			}
			s.addRead(j.r.ID)
			if better(s.External, &j.r) {
				r := j.r
				s.External = &r
			}
			if first.IsZero() || j.r.At.Before(first) {
				first = j.r.At
			}
			if j.r.At.After(last) {
				last = j.r.At
			}
		}
		m.alone = keep
		if s.External == nil {
			continue // cannot happen: every read alone is in a pass
		}
		s.Pass.First, s.Pass.Last = first, last
		s.Pass.BestAt = s.External.At
		s.Pass.Best.Box, s.Pass.Best.Quad = image.Rectangle{}, Quad{}
		m.emit(s)
	}
}

// better tells whether camera read b makes better evidence of a pass than
// a: one with pictures over one without, then the more confident.
func better(a, b *ExternalRead) bool {
	if a == nil {
		return true
	}
	ap, bp := a.Overview != nil || a.Crop != nil, b.Overview != nil || b.Crop != nil
	if ap != bp {
		return bp
	}
	return b.Confidence > a.Confidence
}

func (m *merger) emit(s Snapshot) {
	if s.External != nil && s.Pass.Direction == "" {
		s.Pass.Direction = s.External.Direction
	}
	if s.Source != "" && m.extPass != nil {
		m.extPass(s)
		return
	}
	if m.onPass != nil {
		m.onPass(s)
	}
}

// drain ends the merging: the reads still queued are taken and every open
// pass is emitted.
func (m *merger) drain(ext <-chan externalMsg) {
	now := time.Now()
	for drained := false; !drained; {
		select {
		case x := <-ext:
			m.external(x, now)
		default:
			drained = true
		}
	}
	for _, p := range m.pending {
		m.alone1(p.r, now)
	}
	m.pending = nil
	if m.tr != nil {
		m.nodePasses(m.tr.Flush(), now, false)
	}
	for _, h := range m.held {
		m.emit(h.s)
	}
	m.held = nil
	m.cameraPasses(m.ctr.Flush())
}
