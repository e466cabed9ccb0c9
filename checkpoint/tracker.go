package checkpoint

import "time"

// Sighting is one vehicle seen at a camera of a zone: a plate.passage
// (tractor and trailer) or a single camera's plate.read.
type Sighting struct {
	ID       string // the event, origin/seq
	Camera   string
	Zone     string
	ZoneKind string
	Tractor  string
	Trailer  string
	Time     time.Time
	// Direction is how the vehicle moved as read (entry | exit; empty:
	// not known).
	Direction string
}

// Emit is one visit event to store.
type Emit struct {
	Kind string
	Step Step
}

// Reasons a visit closes other than at the exit.
const (
	// ReasonEnteredAgain: the vehicle came through the entry again
	// while its visit was open (its exit was not seen).
	ReasonEnteredAgain = "entered again"
)

// Tracker decides the visit steps of a site's sightings, in log order.
// A vehicle is its plates: a sighting belongs to the open visit that holds
// its tractor's or its trailer's plate. One goroutine.
type Tracker struct {
	open    map[string]*openVisit // visit ID ->
	byPlate map[string]string     // plate -> open visit ID
}

type openVisit struct {
	id       string
	plates   []string
	lastKind string // zone kind of its last step
}

// NewTracker makes a tracker with no open visits.
func NewTracker() *Tracker {
	return &Tracker{open: map[string]*openVisit{}, byPlate: map[string]string{}}
}

// Restore adds a visit still open when the tracker last stopped (from the
// index).
func (t *Tracker) Restore(v Visit) {
	if !v.Open() {
		return
	}
	ov := &openVisit{id: v.ID}
	if n := len(v.Passages); n > 0 {
		ov.lastKind = v.Passages[n-1].ZoneKind
	}
	t.open[v.ID] = ov
	t.addPlates(ov, v.Tractor, v.Trailer)
	for _, p := range v.Passages {
		t.addPlates(ov, p.Tractor, p.Trailer)
	}
}

// Open is the number of open visits.
func (t *Tracker) Open() int { return len(t.open) }

func (t *Tracker) addPlates(ov *openVisit, plates ...string) {
	for _, p := range plates {
		if p == "" {
			continue
		}
		if _, ok := t.byPlate[p]; ok {
			continue // another open visit's (or this one's) already
		}
		t.byPlate[p] = ov.id
		ov.plates = append(ov.plates, p)
	}
}

func (t *Tracker) close(ov *openVisit) {
	for _, p := range ov.plates {
		if t.byPlate[p] == ov.id {
			delete(t.byPlate, p)
		}
	}
	delete(t.open, ov.id)
}

// See returns the visit events a sighting makes: the entry opens a visit,
// any zone appends to the vehicle's open visit (or opens one for a vehicle
// that came in unseen), the exit closes it (unless the vehicle is read
// moving inwards there: reversing in the exit lane). An entry sighting of a vehicle
// whose open visit had moved past the entry closes that visit first (its
// exit was missed) and opens a new one.
func (t *Tracker) See(s Sighting) []Emit {
	step := Step{Sighting: s.ID, Camera: s.Camera, Zone: s.Zone, ZoneKind: s.ZoneKind,
		Tractor: s.Tractor, Trailer: s.Trailer, Time: s.Time}
	if s.Zone == "" || len(step.plates()) == 0 {
		return nil
	}
	var ov *openVisit
	for _, p := range step.plates() {
		if id, ok := t.byPlate[p]; ok {
			ov = t.open[id]
			break
		}
	}
	var out []Emit
	if ov != nil && s.ZoneKind == ZoneEntry && ov.lastKind != ZoneEntry {
		closing := step
		closing.Visit, closing.Reason = ov.id, ReasonEnteredAgain
		out = append(out, Emit{KindVisitClosed, closing})
		t.close(ov)
		ov = nil
	}
	// at the exit, a vehicle read moving inwards (reversing in the exit
	// lane) has not left: its sighting is a passage
	leaves := s.ZoneKind == ZoneExit && s.Direction != "entry"
	if ov == nil {
		step.Visit = s.ID
		if leaves {
			// seen only on its way out: a visit of one step, opened and
			// closed by one event
			return append(out, Emit{KindVisitClosed, step})
		}
		ov = &openVisit{id: s.ID, lastKind: s.ZoneKind}
		t.open[ov.id] = ov
		t.addPlates(ov, step.plates()...)
		step.EntrySeen = s.ZoneKind == ZoneEntry
		return append(out, Emit{KindVisitOpened, step})
	}
	step.Visit = ov.id
	t.addPlates(ov, step.plates()...)
	ov.lastKind = s.ZoneKind
	if leaves {
		t.close(ov)
		return append(out, Emit{KindVisitClosed, step})
	}
	return append(out, Emit{KindVisitPassage, step})
}
