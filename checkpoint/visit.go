package checkpoint

import "time"

// Event kinds of a visit's steps.
const (
	KindVisitOpened  = "visit.opened"
	KindVisitPassage = "visit.passage"
	KindVisitClosed  = "visit.closed"
)

// Zone kinds the visit tracker acts on; a site may name its other zones'
// kinds as it likes (weighing, xray, customs, inspection, waiting …).
const (
	ZoneEntry = "entry"
	ZoneExit  = "exit"
)

// Step is the payload of every visit event: one sighting of the vehicle
// at one zone.
type Step struct {
	Visit    string    `json:"visit"`    // the visit's ID: its first sighting's event ID
	Sighting string    `json:"sighting"` // the plate.passage or plate.read event, origin/seq
	Camera   string    `json:"camera"`
	Zone     string    `json:"zone"`
	ZoneKind string    `json:"zone_kind,omitempty"`
	Tractor  string    `json:"tractor,omitempty"` // the plate read at the front
	Trailer  string    `json:"trailer,omitempty"` // at the rear
	Time     time.Time `json:"time"`
	// EntrySeen (visit.opened only) is false for a vehicle first seen past
	// the entry: it came in unseen.
	EntrySeen bool `json:"entry_seen,omitempty"`
	// Reason (visit.closed only) says why a visit closed other than at the
	// exit; such a closing is no passage.
	Reason string `json:"reason,omitempty"`
}

// Visit is one vehicle's stay at a site, as the index holds it.
type Visit struct {
	ID        string     `json:"id"`
	Site      string     `json:"site"` // the node that tracked it
	Tractor   string     `json:"tractor,omitempty"`
	Trailer   string     `json:"trailer,omitempty"`
	Opened    time.Time  `json:"opened"`
	Closed    *time.Time `json:"closed,omitempty"`
	Reason    string     `json:"closed_reason,omitempty"` // closed other than at the exit
	EntrySeen bool       `json:"entry_seen"`
	Passages  []Passage  `json:"passages"`
	// Token is the pass token bound to the vehicle at the entry.
	Token string `json:"token,omitempty"`
	// Exit holds the permissions to leave, by party (customs, owner).
	Exit map[string]Grant `json:"exit,omitempty"`
}

// Open reports whether the vehicle has not left yet.
func (v Visit) Open() bool { return v.Closed == nil }

// Passage is one step of a visit, as the API lists it.
type Passage struct {
	Zone     string    `json:"zone"`
	ZoneKind string    `json:"zone_kind,omitempty"`
	Camera   string    `json:"camera"`
	Sighting string    `json:"sighting"`
	Tractor  string    `json:"tractor,omitempty"`
	Trailer  string    `json:"trailer,omitempty"`
	Time     time.Time `json:"time"`
	Event    string    `json:"event"` // the visit event, origin/seq
}

// plates lists the step's plates.
func (s Step) plates() []string {
	var out []string
	for _, p := range []string{s.Tractor, s.Trailer} {
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}
