package checkpoint

import "time"

// Event kinds of pass tokens (UA-3.2): the smart card or ticket a vehicle
// is given at the entry, checked against its plates at every zone with a
// reader.
const (
	// KindTokenPresented: a token presented at an entry reader before the
	// vehicle's plates were read there; it waits for them.
	KindTokenPresented = "token.presented"
	// KindTokenBound: a token bound to a visit's tractor and trailer.
	KindTokenBound = "token.bound"
	// KindTokenMatched: a token presented at a zone where the plates read
	// are the ones it is bound to.
	KindTokenMatched = "token.matched"
	// KindTokenBlocked: the third failed attempt of a case blocked the
	// token; the event is the investigation record.
	KindTokenBlocked = "token.blocked"
	// KindTokenUnblocked: someone with the right role unblocked it.
	KindTokenUnblocked = "token.unblocked"
	// KindCaseOpened: a token whose plates do not match those read at its
	// zone; the zone's operator has Attempts tries to settle it.
	KindCaseOpened = "case.opened"
	// KindCaseAttempt: one of the operator's tries: a re-read, a corrected
	// read, or plates entered by hand.
	KindCaseAttempt = "case.attempt"
)

// Event kinds of the exit barrier (UA-3.4.6).
const (
	// KindExitGranted: customs or the site owner granted a visit's exit.
	KindExitGranted = "exit.granted"
	// KindBarrierOpened: the barrier controller took the command to open.
	KindBarrierOpened = "barrier.opened"
	// KindBarrierRefused: a vehicle at the barrier that may not leave yet.
	KindBarrierRefused = "barrier.refused"
	// KindBarrierFailed: the controller did not take the command: the
	// barrier stays shut.
	KindBarrierFailed = "barrier.failed"
)

// Alarm types of the pass and barrier steps.
const (
	// AlarmTokenBlocked (grave): a token blocked after the last attempt.
	AlarmTokenBlocked = "token_blocked"
	// AlarmBarrierUnreachable (medium): the barrier controller did not
	// take a command.
	AlarmBarrierUnreachable = "barrier_unreachable"
	// AlarmReaderSilent (medium): a reader that sends heartbeats has not
	// been heard for longer than it may be.
	AlarmReaderSilent = "reader_silent"
)

// Attempt actions an operator takes on a case.
const (
	ActionReread  = "reread"  // take the newest read at the zone
	ActionCorrect = "correct" // correct what the camera read
	ActionManual  = "manual"  // enter the plates from the vehicle itself
)

// Parties whose permissions open the exit barrier.
const (
	PartyCustoms = "customs"
	PartyOwner   = "owner"
)

// Parties lists the parties both of whom must grant an exit.
var Parties = []string{PartyCustoms, PartyOwner}

// Plates are a vehicle's tractor (front) and trailer (rear) plates.
type Plates struct {
	Tractor string `json:"tractor,omitempty"`
	Trailer string `json:"trailer,omitempty"`
}

// Empty reports whether no plate is known.
func (p Plates) Empty() bool { return p.Tractor == "" && p.Trailer == "" }

// Matches reports whether plates read (p) are those bound (bound): every
// plate read is the bound plate of the same place, and something was read.
func (p Plates) Matches(bound Plates) bool {
	if p.Empty() {
		return false
	}
	return (p.Tractor == "" || p.Tractor == bound.Tractor) && (p.Trailer == "" || p.Trailer == bound.Trailer)
}

func (p Plates) String() string { return plateOf(p.Tractor, p.Trailer) }

// TokenStep is the payload of the token.* events.
type TokenStep struct {
	Token  string `json:"token"`
	Reader string `json:"reader,omitempty"`
	Zone   string `json:"zone,omitempty"`
	Visit  string `json:"visit,omitempty"`
	// Plates: bound (token.bound), or read at the zone (token.matched).
	Plates
	Case string `json:"case,omitempty"` // token.blocked: the case that blocked it
	// User and Reason: who unblocked it and why (token.unblocked).
	User   string    `json:"user,omitempty"`
	Reason string    `json:"reason,omitempty"`
	Time   time.Time `json:"time"`
}

// CaseStep is the payload of the case.* events.
type CaseStep struct {
	Case     string    `json:"case,omitempty"` // case.attempt: the case (its opening event's ID)
	Token    string    `json:"token"`
	Visit    string    `json:"visit"`
	Reader   string    `json:"reader"`
	Zone     string    `json:"zone"`
	Bound    Plates    `json:"bound"`
	Read     Plates    `json:"read"`               // as read at the zone (case.opened)
	Sighting string    `json:"sighting,omitempty"` // the read's event: its crops and overview photo
	Attempt  *Attempt  `json:"attempt,omitempty"`  // case.attempt
	Time     time.Time `json:"time"`
}

// Attempt is one try of the operator on a case.
type Attempt struct {
	N        int       `json:"n"`      // 1..Of
	Of       int       `json:"of"`     // the tries the site gives
	Action   string    `json:"action"` // reread | correct | manual
	Read     Plates    `json:"read"`
	Sighting string    `json:"sighting,omitempty"` // reread: the read taken
	OK       bool      `json:"ok"`
	User     string    `json:"user"`
	Comment  string    `json:"comment,omitempty"`
	Time     time.Time `json:"time"`
}

// Case is a token mismatch, as the index holds it.
type Case struct {
	ID       string    `json:"id"`
	Site     string    `json:"site"`
	Token    string    `json:"token"`
	Visit    string    `json:"visit"`
	Reader   string    `json:"reader"`
	Zone     string    `json:"zone"`
	Bound    Plates    `json:"bound"`
	Read     Plates    `json:"read"`
	Sighting string    `json:"sighting,omitempty"`
	Opened   time.Time `json:"opened"`
	Attempts []Attempt `json:"attempts"`
	// State is open, resolved (an attempt matched) or blocked (the last
	// attempt failed: the token is blocked and the case is an
	// investigation).
	State string `json:"state"`
	// Unblocked: when, by whom and why the token was unblocked.
	Unblocked *Unblock `json:"unblocked,omitempty"`
}

// Case states.
const (
	CaseOpen     = "open"
	CaseResolved = "resolved"
	CaseBlocked  = "blocked"
)

// Unblock is the record of a token unblocked.
type Unblock struct {
	User   string    `json:"user"`
	Reason string    `json:"reason"`
	Time   time.Time `json:"time"`
}

// Token is a pass token, as the index holds it.
type Token struct {
	Site    string    `json:"site"`
	Token   string    `json:"token"`
	Visit   string    `json:"visit,omitempty"` // the visit it was last bound to
	Bound   Plates    `json:"bound"`
	BoundAt time.Time `json:"bound_at,omitzero"`
	Blocked bool      `json:"blocked"`
	Case    string    `json:"case,omitempty"` // the case that blocked it, or the open one
}

// Grant is the payload of exit.granted: one party's permission for a
// visit's vehicle to leave.
type Grant struct {
	Visit string    `json:"visit"`
	Party string    `json:"party"` // customs | owner
	User  string    `json:"user"`  // the party's system or officer, as authenticated
	Time  time.Time `json:"time"`
}

// BarrierStep is the payload of the barrier.* events.
type BarrierStep struct {
	Barrier string    `json:"barrier"`
	Zone    string    `json:"zone,omitempty"`
	Visit   string    `json:"visit,omitempty"`
	Read    Plates    `json:"read"`              // the plates at the barrier
	Missing []string  `json:"missing,omitempty"` // refused: the permissions it waits for
	Why     string    `json:"why,omitempty"`     // refused, failed: in words
	Manual  bool      `json:"manual,omitempty"`  // opened by hand
	User    string    `json:"user,omitempty"`    // manual: who
	Reason  string    `json:"reason,omitempty"`  // manual: why
	Time    time.Time `json:"time"`
}

// Barrier states.
const (
	BarrierClosed  = "closed"  // nothing waits at it
	BarrierWaiting = "waiting" // a vehicle waits for permissions or matching plates
	BarrierOpened  = "opened"  // it opened for the last vehicle
	BarrierFailed  = "failed"  // its controller did not take the last command
)

// BarrierState is a barrier as the index holds it.
type BarrierState struct {
	Site    string    `json:"site"`
	ID      string    `json:"id"`
	Zone    string    `json:"zone,omitempty"`
	State   string    `json:"state"`
	Visit   string    `json:"visit,omitempty"` // the vehicle at it
	Read    Plates    `json:"read"`
	Missing []string  `json:"missing,omitempty"`
	Why     string    `json:"why,omitempty"`
	Since   time.Time `json:"since,omitzero"`
	// LastOpened is the last opening; Manual if by hand.
	LastOpened *time.Time `json:"last_opened,omitempty"`
	Manual     bool       `json:"manual,omitempty"`
}
