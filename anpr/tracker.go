package anpr

import (
	"math"
	"sort"
	"strings"
	"time"

	"github.com/kuzet/kuzet/plates"
	"github.com/kuzet/kuzet/plates/platetext"
)

// TrackerConfig tunes a Tracker. The zero value gives the defaults.
type TrackerConfig struct {
	// Axis is the image direction a vehicle moves in when it enters (for
	// example {0, 1}: downwards); zero leaves Direction empty.
	Axis struct{ X, Y float64 }
	// MinMotion is the travel along Axis, in pixels, below which a pass has
	// no direction (default 20).
	MinMotion float64
	// Gap ends a pass when its plate has not been seen for this long
	// (default 2 s).
	Gap time.Duration
	// MaxEdits is how far a read's text may be from a pass's to join it
	// (default 2); reads whose boxes are close join regardless of text.
	MaxEdits int
	// MinFrames is the number of frames a pass needs to be emitted
	// (default 1).
	MinFrames int
	// Dividers are lines a plate's centre may not cross (lane dividers,
	// in the frame's pixels); a pass that crossed one says so.
	Dividers []Segment
}

// Segment is a line between two points of the frame.
type Segment struct{ X1, Y1, X2, Y2 float64 }

// crosses reports whether the move from a to b crosses the segment: the
// two ends of each lie on opposite sides of the other (touching counts).
func (s Segment) crosses(a, b point) bool {
	side := func(px, py, qx, qy, rx, ry float64) float64 { return (qx-px)*(ry-py) - (qy-py)*(rx-px) }
	d1 := side(s.X1, s.Y1, s.X2, s.Y2, a.X, a.Y)
	d2 := side(s.X1, s.Y1, s.X2, s.Y2, b.X, b.Y)
	d3 := side(a.X, a.Y, b.X, b.Y, s.X1, s.Y1)
	d4 := side(a.X, a.Y, b.X, b.Y, s.X2, s.Y2)
	return d1*d2 <= 0 && d3*d4 <= 0 && (d1 != 0 || d2 != 0)
}

func (c TrackerConfig) withDefaults() TrackerConfig {
	if c.MinMotion <= 0 {
		c.MinMotion = 20
	}
	if c.Gap <= 0 {
		c.Gap = 2 * time.Second
	}
	if c.MaxEdits <= 0 {
		c.MaxEdits = 2
	}
	if c.MinFrames <= 0 {
		c.MinFrames = 1
	}
	return c
}

// Pass is one vehicle pass: the voted plate text and where it went.
type Pass struct {
	Text       string
	Country    string
	Confidence float64 // its best read of the text, times the share of first readings that agree (parts of it aside)
	Frames     int     // frames the plate was read in
	First      time.Time
	Last       time.Time
	Best       Read      // the most confident read of the winning text (for the snapshot)
	BestAt     time.Time // when Best was read
	Motion     float64   // travel of the plate's centre along Axis, pixels
	Direction  string    // "entry", "exit" or "" when unknown
	// CrossedDivider: the plate's centre crossed a lane divider.
	CrossedDivider bool
	Candidates     []plates.Candidate

	tags []uint64 // of the reads that carried one (Read.tag), in the order seen
}

type track struct {
	first, last time.Time
	start, end  point
	width       float64
	frames      int
	votes       map[string]float64
	confs       map[string][]float64
	country     map[string]string
	best        Read
	bestAt      time.Time
	lastText    string
	lastBox     Quad
	tags        []uint64
	crossed     bool // its centre crossed a lane divider
}

// Tracker turns per-frame reads of one camera into one Pass per vehicle,
// voting over the texts read in each frame. Not safe for concurrent use.
type Tracker struct {
	cfg    TrackerConfig
	tracks []*track
	recent []span // passes emitted lately, for sideText
	side   int    // passes not emitted: text beside a plate
}

// Text on a vehicle besides its plate (a company name, a phone number)
// is read too, and moves with the plate. A pass this unsure, seen while a
// pass at least sideTextRatio times surer was in view, is taken for such
// text and not emitted. A second vehicle's plate read this badly would be
// right one time in four (see the calibration in the README), so little is
// lost; a pass holding a camera's read is always emitted.
const (
	sideTextBelow = 0.5
	sideTextRatio = 2.0
)

// span is when a pass was in view and how sure it was.
type span struct {
	first, last time.Time
	conf        float64
}

func (a span) overlaps(b span) bool { return !a.first.After(b.last) && !b.first.After(a.last) }

// NewTracker returns a tracker with cfg.
func NewTracker(cfg TrackerConfig) *Tracker {
	return &Tracker{cfg: cfg.withDefaults()}
}

// Observe adds the reads of the frame taken at time at and returns the passes
// that ended before it (not seen for Gap).
func (t *Tracker) Observe(at time.Time, reads []Read) []Pass {
	// Expire first, so a new vehicle at the same place starts a new pass.
	var ended []Pass
	keep := t.tracks[:0]
	for _, tr := range t.tracks {
		if at.Sub(tr.last) > t.cfg.Gap {
			if p, ok := t.pass(tr); ok {
				ended = append(ended, p)
			}
			continue
		}
		keep = append(keep, tr)
	}
	t.tracks = keep
	done := t.emit(ended, at)
	used := make([]bool, len(t.tracks))
	for _, rd := range reads {
		k := t.match(rd, used)
		if k < 0 {
			t.tracks = append(t.tracks, &track{first: at, start: rd.Quad.center(), width: rd.Quad.width(),
				votes: map[string]float64{}, confs: map[string][]float64{}, country: map[string]string{}})
			used = append(used, false)
			k = len(t.tracks) - 1
		}
		used[k] = true
		tr := t.tracks[k]
		c := rd.Quad.center()
		for _, d := range t.cfg.Dividers {
			tr.crossed = tr.crossed || (tr.frames > 0 && d.crosses(tr.end, c))
		}
		tr.last, tr.end, tr.lastText, tr.lastBox = at, c, rd.Text, rd.Quad
		tr.frames++
		if rd.tag != 0 {
			tr.tags = append(tr.tags, rd.tag)
		}
		tr.votes[rd.Text] += rd.Confidence
		tr.confs[rd.Text] = append(tr.confs[rd.Text], rd.Confidence)
		tr.country[rd.Text] = rd.Country
		// Alternatives get a small share so a text read second-best in many
		// frames can still win over one read first in a few.
		for _, c := range rd.Candidates[min(1, len(rd.Candidates)):] {
			tr.votes[c.Text] += 0.1 * c.Confidence * rd.Confidence
			if _, ok := tr.country[c.Text]; !ok {
				tr.country[c.Text] = c.Country
			}
		}
		if rd.Confidence > tr.best.Confidence {
			tr.best, tr.bestAt = rd, at
		}
	}
	return done
}

// Flush ends every open pass (at the end of a stream).
func (t *Tracker) Flush() []Pass {
	var ended []Pass
	last := time.Time{}
	for _, tr := range t.tracks {
		if p, ok := t.pass(tr); ok {
			ended = append(ended, p)
		}
		if tr.last.After(last) {
			last = tr.last
		}
	}
	t.tracks = nil
	done := t.emit(ended, last)
	t.recent = nil
	return done
}

// SideText reports how many passes were not emitted as text beside a
// plate (see sideTextBelow).
func (t *Tracker) SideText() int { return t.side }

// emit returns the ended passes that are not text beside a surer plate,
// comparing each with the other ended ones, the open tracks and the passes
// emitted lately.
func (t *Tracker) emit(ended []Pass, now time.Time) []Pass {
	keep := t.recent[:0]
	for _, r := range t.recent {
		if now.Sub(r.last) <= 2*t.cfg.Gap {
			keep = append(keep, r)
		}
	}
	t.recent = keep
	if len(ended) == 0 {
		return nil
	}
	// ended passes first, so that others[i] is ended[i]
	var others []span
	for _, p := range ended {
		others = append(others, span{p.First, p.Last, p.Confidence})
	}
	others = append(others, t.recent...)
	for _, tr := range t.tracks {
		if p, ok := t.pass(tr); ok {
			others = append(others, span{p.First, p.Last, p.Confidence})
		}
	}
	var done []Pass
	for i, p := range ended {
		if p.Confidence < sideTextBelow && len(p.tags) == 0 {
			beside := false
			for j, o := range others {
				if j != i && o.conf > 0 && o.conf >= sideTextRatio*p.Confidence && o.overlaps(others[i]) {
					beside = true
					break
				}
			}
			if beside {
				t.side++
				continue
			}
		}
		done = append(done, p)
		t.recent = append(t.recent, span{p.First, p.Last, p.Confidence})
	}
	return done
}

// match finds the open track a read continues: same or nearly the same text,
// or a box close to the track's last one (a misread of the same plate).
func (t *Tracker) match(rd Read, used []bool) int {
	best, bestD := -1, math.Inf(1)
	c := rd.Quad.center()
	for i, tr := range t.tracks {
		if used[i] {
			continue
		}
		d := dist(c, tr.end) / math.Max(tr.width, 1)
		e := platetext.EditDistance(rd.Text, tr.lastText)
		if e > t.cfg.MaxEdits && d > 1.5 {
			continue
		}
		score := d + float64(e)
		if score < bestD {
			best, bestD = i, score
		}
	}
	return best
}

func (t *Tracker) pass(tr *track) (Pass, bool) {
	// a track holding a tagged read (a camera's) is a pass whatever its
	// length: the read must leave in one
	if tr.frames < t.cfg.MinFrames && len(tr.tags) == 0 {
		return Pass{}, false
	}
	total := 0.0
	var cands []plates.Candidate
	for text, v := range tr.votes {
		total += v
		cands = append(cands, plates.Candidate{Text: text, Country: tr.country[text], Confidence: v})
	}
	sort.Slice(cands, func(i, j int) bool {
		if cands[i].Confidence != cands[j].Confidence {
			return cands[i].Confidence > cands[j].Confidence
		}
		return cands[i].Text < cands[j].Text
	})
	for i := range cands {
		cands[i].Confidence /= total
	}
	win := cands[0]
	// The pass is as sure as its best read of the winning text (a read's
	// confidence is calibrated on its own), times the share of the frames'
	// first readings that agree with it: frames that read it alike add no
	// doubt, frames that read another text do. A read of part of the
	// winning text (the plate entering or leaving the view, or half
	// hidden) is no rival: it counts for neither. Alternatives' small
	// votes decide the winner, not the doubt.
	first, all, best := 0.0, 0.0, 0.0
	for text, cs := range tr.confs {
		if text != win.Text && strings.Contains(win.Text, text) {
			continue
		}
		for _, c := range cs {
			all += c
			if text == win.Text {
				first += c
				best = math.Max(best, c)
			}
		}
	}
	conf := 0.0
	if all > 0 {
		conf = best * first / all
	}
	p := Pass{Text: win.Text, Country: win.Country, Confidence: conf, Frames: tr.frames,
		First: tr.first, Last: tr.last, Best: tr.best, BestAt: tr.bestAt, Candidates: cands, tags: tr.tags, CrossedDivider: tr.crossed}
	if ax := math.Hypot(t.cfg.Axis.X, t.cfg.Axis.Y); ax > 0 {
		p.Motion = ((tr.end.X-tr.start.X)*t.cfg.Axis.X + (tr.end.Y-tr.start.Y)*t.cfg.Axis.Y) / ax
		switch {
		case p.Motion >= t.cfg.MinMotion:
			p.Direction = "entry"
		case p.Motion <= -t.cfg.MinMotion:
			p.Direction = "exit"
		}
	}
	return p, true
}

// HoldsFrame reports whether an open pass's best read so far was taken at
// at, so the caller keeps that frame for the pass's snapshot.
func (t *Tracker) HoldsFrame(at time.Time) bool {
	for _, tr := range t.tracks {
		if tr.bestAt.Equal(at) {
			return true
		}
	}
	return false
}
