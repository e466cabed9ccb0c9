package alarm

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/kuzet/kuzet/event"
)

// Event kinds this package adds to the log beside event.KindAlarmRaised and
// event.KindAlarmCleared. Like every event they are replicated upward, so a
// parent's table follows its children's acknowledgements.
const (
	KindAcked     = "alarm.acked"
	KindEscalated = "alarm.escalated"
)

// AlarmWebhookFailing is raised while the alarm webhook keeps refusing.
const AlarmWebhookFailing = "alarm_webhook_failing"

// State is where an alarm is in its life: raised, then acknowledged by an
// operator, then cleared. A clear may come before the acknowledgement; the
// alarm is then cleared and still waits for it (Acked stays zero).
type State string

// States.
const (
	StateRaised       State = "raised"
	StateAcknowledged State = "acknowledged"
	StateCleared      State = "cleared"
)

// Open reports whether the condition has not cleared yet.
func (s State) Open() bool { return s == StateRaised || s == StateAcknowledged }

// Evidence points at what shows the condition.
type Evidence struct {
	Snapshot string `json:"snapshot,omitempty"` // image path as given by the raiser
	Archive  string `json:"archive,omitempty"`  // archive file (or link) covering the raise
}

// Alarm is one occurrence of a condition, identified by the node it
// happened on, its key and the sequence number of the raise that opened it.
type Alarm struct {
	ID     string `json:"id"`
	Origin string `json:"origin"`
	Key    string `json:"key"`
	Type   string `json:"type"`
	Camera string `json:"camera,omitempty"`
	// Severity is the current one; escalation raises it. Initial is what
	// it was raised with (after the per-type override).
	Severity event.Severity `json:"severity"`
	Initial  event.Severity `json:"initial_severity"`
	Message  string         `json:"message"`
	State    State          `json:"state"`

	Raised   time.Time `json:"raised"`
	LastSeen time.Time `json:"last_seen"`
	Acked    time.Time `json:"acked,omitzero"`
	Cleared  time.Time `json:"cleared,omitzero"`
	Updated  time.Time `json:"updated"` // last change of any kind
	// Count is how many raises this alarm stands for (1 + repeats within
	// the dedupe window + re-raises after a clear). Suppressed counts the
	// re-raises within the suppression window after its clear (a flapping
	// condition): each re-opened this alarm rather than making another.
	Count      int `json:"count"`
	Suppressed int `json:"suppressed,omitempty"`

	Escalations int       `json:"escalations,omitempty"`
	Escalated   time.Time `json:"escalated,omitzero"`
	// Final is set once a grave alarm has escalated: nothing is left above.
	Final bool `json:"final_escalation,omitempty"`

	Evidence   Evidence `json:"evidence"`
	AckUser    string   `json:"ack_user,omitempty"`
	AckComment string   `json:"ack_comment,omitempty"`
	// ClearedBy is the operator who cleared it; empty when the condition
	// cleared itself. SupersededBy names the alarm that replaced it when
	// the condition was raised again long after, without a clear.
	ClearedBy    string `json:"cleared_by,omitempty"`
	SupersededBy string `json:"superseded_by,omitempty"`
	// RaiseEvent is the event ID ("origin/seq") of the raise.
	RaiseEvent string `json:"raise_event"`
	// Provisional marks an alarm whose raise overtook its origin's backlog
	// (grave and medium alarms travel ahead): shown and acknowledgeable at
	// once, it joins the table when the ordered copy arrives.
	Provisional bool `json:"provisional,omitempty"`
}

// alarmID builds the ID from origin, key and the raise's sequence number.
func alarmID(origin, key string, seq uint64) string {
	return fmt.Sprintf("%s:%s:%d", origin, key, seq)
}

// Payload is the payload of every alarm event: event.Alarm's fields, the
// evidence, and for acknowledgements, escalations and operator clears the
// alarm they act on.
type Payload struct {
	Key      string `json:"key"`
	Type     string `json:"type"`
	Message  string `json:"message"`
	Snapshot string `json:"snapshot,omitempty"`
	Archive  string `json:"archive,omitempty"`

	AlarmID string `json:"alarm_id,omitempty"`
	User    string `json:"user,omitempty"`
	Comment string `json:"comment,omitempty"`
	// Level counts escalations; From is the severity escalated from.
	Level int            `json:"level,omitempty"`
	From  event.Severity `json:"from,omitempty"`
	// Role is the acting operator's role where they acted. Via is, on an
	// act applied at the alarm's origin for an ancestor's operator, the
	// act's event ID there (see RemoteAct).
	Role string `json:"role,omitempty"`
	Via  string `json:"via,omitempty"`
}

// Condition is what Raise is told.
type Condition struct {
	Key      string // identifies the condition, e.g. "camera_offline:Camera1"
	Type     string // e.g. "camera_offline"
	Camera   string
	Severity event.Severity
	Message  string
	Snapshot string
	Archive  string
}

// Outcome says what a raise did.
type Outcome string

// Outcomes.
const (
	OutcomeNew        Outcome = "new"        // a new alarm
	OutcomeRepeat     Outcome = "repeat"     // counted on the open alarm
	OutcomeReopened   Outcome = "reopened"   // the key cleared moments ago: its alarm stands again
	OutcomeSuppressed Outcome = "suppressed" // held (tables from before re-opening only)
	OutcomeIgnored    Outcome = "ignored"    // not an alarm the table takes
)

// Change is one state change, as the webhook receives it.
type Change struct {
	// ID is the idempotency key: the alarm ID and the change, e.g.
	// "khorgos-1:camera_offline:Camera1:42/acked"; the raise and clear of a
	// re-opened alarm are numbered ("…:42/raised/1", "…:42/cleared/1").
	ID     string    `json:"id"`
	Change string    `json:"change"` // raised | acked | escalated | cleared
	Time   time.Time `json:"time"`
	Node   string    `json:"node"` // the node notifying
	Alarm  Alarm     `json:"alarm"`
}

// Changes.
const (
	ChangeRaised    = "raised"
	ChangeAcked     = "acked"
	ChangeEscalated = "escalated"
	ChangeCleared   = "cleared"
)

// Errors Ack, Clear and Raise wrap.
var (
	ErrNotFound = errors.New("no such alarm")
	ErrConflict = errors.New("alarm is not in a state for this")
	ErrInvalid  = errors.New("invalid request")
)

// severityRank orders grave first.
func severityRank(s event.Severity) int {
	switch s {
	case event.SeverityGrave:
		return 0
	case event.SeverityMedium:
		return 1
	case event.SeverityMinor:
		return 2
	}
	return 3
}

// ParseSeverity accepts grave, medium and minor.
func ParseSeverity(s string) (event.Severity, error) {
	switch sev := event.Severity(s); sev {
	case event.SeverityGrave, event.SeverityMedium, event.SeverityMinor:
		return sev, nil
	}
	return "", fmt.Errorf("%w: severity %q is not grave, medium or minor", ErrInvalid, s)
}

// escalated is the severity one step above s; grave stays grave.
func escalated(s event.Severity) event.Severity {
	switch s {
	case event.SeverityMinor:
		return event.SeverityMedium
	default:
		return event.SeverityGrave
	}
}

// Filter selects alarms for List. Zero fields select everything.
type Filter struct {
	States     []State // "open" is not a state: use StateRaised and StateAcknowledged
	Severities []event.Severity
	Origin     string
	Camera     string
	Types      []string
	Since      time.Time // changed at or after
	Limit      int       // default 500
}

func (f Filter) match(a *Alarm) bool {
	switch {
	case len(f.States) > 0 && !slices.Contains(f.States, a.State),
		len(f.Severities) > 0 && !slices.Contains(f.Severities, a.Severity),
		f.Origin != "" && f.Origin != a.Origin,
		f.Camera != "" && f.Camera != a.Camera,
		len(f.Types) > 0 && !slices.Contains(f.Types, a.Type),
		!f.Since.IsZero() && a.Updated.Before(f.Since):
		return false
	}
	return true
}

// sortAlarms orders by severity, then newest raise first.
func sortAlarms(as []Alarm) {
	slices.SortFunc(as, func(a, b Alarm) int {
		if d := severityRank(a.Severity) - severityRank(b.Severity); d != 0 {
			return d
		}
		if c := b.Raised.Compare(a.Raised); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
}
