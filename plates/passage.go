package plates

import (
	"sort"
	"time"
)

// KindPassage is the event kind of one vehicle passage: a tractor's front
// plate and its trailer's rear plate, read by two cameras (UA-3.3.1).
const KindPassage = "plate.passage"

// PassageRule pairs the reads of two cameras: a read on Front and one on
// Rear within Window of each other are one vehicle.
type PassageRule struct {
	Front  string
	Rear   string
	Window time.Duration
}

// PassageRead is one side of a passage: a plate.read event.
type PassageRead struct {
	ID         string    `json:"id"` // the plate.read event
	Camera     string    `json:"camera"`
	Plate      string    `json:"plate"`
	Confidence float64   `json:"confidence"`
	Time       time.Time `json:"time"`
	Direction  string    `json:"direction,omitempty"`
	Archive    string    `json:"archive,omitempty"`
	Offset     float64   `json:"offset_seconds,omitempty"`
}

// Passage is the payload of a plate.passage event. Complete is false when
// the window passed with one side only (a solo tractor, an unread plate).
type Passage struct {
	Tractor   string       `json:"tractor,omitempty"` // front plate
	Trailer   string       `json:"trailer,omitempty"` // rear plate
	Front     *PassageRead `json:"front,omitempty"`
	Rear      *PassageRead `json:"rear,omitempty"`
	Time      time.Time    `json:"time"` // the earlier read
	Direction string       `json:"direction,omitempty"`
	Complete  bool         `json:"complete"`
}

// Reads lists the passage's reads.
func (p Passage) Reads() []*PassageRead {
	var out []*PassageRead
	for _, r := range []*PassageRead{p.Front, p.Rear} {
		if r != nil {
			out = append(out, r)
		}
	}
	return out
}

// Pairer forms passages from reads in arrival order. Each read waits for
// its partner on the rule's other camera for the rule's window; the oldest
// waiting partner with a compatible direction wins. One goroutine.
type Pairer struct {
	rules   []PassageRule
	pending []pendingRead
}

type pendingRead struct {
	rule  int
	front bool
	read  PassageRead
}

// NewPairer makes a pairer for the rules; a camera may be in one rule.
func NewPairer(rules []PassageRule) *Pairer { return &Pairer{rules: rules} }

// Takes reports whether a camera is part of a rule.
func (p *Pairer) Takes(camera string) bool {
	_, _, ok := p.ruleOf(camera)
	return ok
}

func (p *Pairer) ruleOf(camera string) (int, bool, bool) {
	for i, r := range p.rules {
		if r.Front == camera {
			return i, true, true
		}
		if r.Rear == camera {
			return i, false, true
		}
	}
	return 0, false, false
}

// Add takes a read: it returns the passage it completes, if any.
func (p *Pairer) Add(r PassageRead) (Passage, bool) {
	rule, front, ok := p.ruleOf(r.Camera)
	if !ok {
		return Passage{}, false
	}
	win := p.rules[rule].Window
	for i, q := range p.pending {
		if q.rule != rule || q.front == front || absDur(q.read.Time.Sub(r.Time)) > win {
			continue
		}
		if q.read.Direction != "" && r.Direction != "" && q.read.Direction != r.Direction {
			continue
		}
		p.pending = append(p.pending[:i], p.pending[i+1:]...)
		a, b := q.read, r
		if !front {
			return passage(&a, &b), true
		}
		return passage(&b, &a), true
	}
	p.pending = append(p.pending, pendingRead{rule: rule, front: front, read: r})
	return Passage{}, false
}

// Expire returns one-sided passages for reads whose window ended before now.
func (p *Pairer) Expire(now time.Time) []Passage {
	var out []Passage
	keep := p.pending[:0]
	for _, q := range p.pending {
		if now.Sub(q.read.Time) <= p.rules[q.rule].Window {
			keep = append(keep, q)
			continue
		}
		r := q.read
		if q.front {
			out = append(out, passage(&r, nil))
		} else {
			out = append(out, passage(nil, &r))
		}
	}
	p.pending = keep
	sort.Slice(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	return out
}

// Pending lists the IDs of reads still waiting for a partner.
func (p *Pairer) Pending() []string {
	out := make([]string, 0, len(p.pending))
	for _, q := range p.pending {
		out = append(out, q.read.ID)
	}
	return out
}

func passage(front, rear *PassageRead) Passage {
	ps := Passage{Front: front, Rear: rear, Complete: front != nil && rear != nil}
	for _, r := range ps.Reads() {
		if ps.Time.IsZero() || r.Time.Before(ps.Time) {
			ps.Time = r.Time
		}
		if ps.Direction == "" {
			ps.Direction = r.Direction
		}
	}
	if front != nil {
		ps.Tractor = front.Plate
	}
	if rear != nil {
		ps.Trailer = rear.Plate
	}
	return ps
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}
