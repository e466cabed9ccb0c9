package federation

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/quic-go/quic-go"
)

// An operator who acknowledges or clears an alarm at an ancestor acts on
// an alarm of a node below it. The act travels down the links the alarm
// came up, hop by hop, to the alarm's origin, which applies it as its own
// operators' acts are applied (and audits it): there is one state of the
// alarm across the tree, and the origin stops escalating what was
// acknowledged above it. Only the parent opens streams on a child's link,
// so an act reaches a node only from its ancestors; a child cannot send
// one up. Whether the act is allowed — the operator's role — is decided
// at the origin.
//
// An ancestor may also ask a node below to raise an alarm of its own
// (ActRaise): a centre that learns something about a site's read — a
// sealed vehicle whose seal is abnormal — has the site's operators told
// at the gate, and the site's alarm comes back up like any other. The
// node decides which types it takes so.

// AlarmAct is an operator's act on an alarm, as it travels down.
type AlarmAct struct {
	// ID is the act's event ID at the node where the operator acted
	// ("centre/812"): the origin applies each act once, however often it
	// is delivered.
	ID      string `json:"id"`
	Origin  string `json:"origin"` // the alarm's origin
	AlarmID string `json:"alarm_id"`
	Act     string `json:"act"`  // ack, clear or raise
	User    string `json:"user"` // name@node, as the origin records it
	Role    string `json:"role"` // the user's role where they acted
	Comment string `json:"comment,omitempty"`
	// With ActRaise: AlarmID is the condition's key at the origin,
	// Comment its message, and these describe it.
	Type     string `json:"type,omitempty"`
	Severity string `json:"severity,omitempty"`
	Camera   string `json:"camera,omitempty"`   // as the origin names it
	Snapshot string `json:"snapshot,omitempty"` // a path of the origin's API
}

// Acts.
const (
	ActAck   = "ack"
	ActClear = "clear"
	ActRaise = "raise"
)

// ErrActRefused marks an act the origin (or a node on the way) refuses for
// good: a retry would be refused again.
var ErrActRefused = errors.New("alarm act refused")

// actTimeout bounds one hop's wait for an answer; each hop below waits
// less, so the answer (or the reason) comes back before it.
const actTimeout = 20 * time.Second

// Validate checks an act's fields.
func (a AlarmAct) Validate() error {
	switch {
	case a.ID == "" || a.Origin == "" || a.AlarmID == "" || a.User == "":
		return fmt.Errorf("alarm act needs id, origin, alarm_id and user: %w", ErrActRefused)
	case a.Act != ActAck && a.Act != ActClear && a.Act != ActRaise:
		return fmt.Errorf("alarm act %q is not ack, clear or raise: %w", a.Act, ErrActRefused)
	case a.Act == ActRaise && (a.Type == "" || a.Severity != "grave" && a.Severity != "medium" && a.Severity != "minor"):
		return fmt.Errorf("alarm raise needs a type and a severity (grave, medium, minor): %w", ErrActRefused)
	case len(a.Comment) > 4096 || len(a.User) > 256 || len(a.Role) > 64 || len(a.Type) > 64 || len(a.Camera) > 256 || len(a.Snapshot) > 512:
		return fmt.Errorf("alarm act too long: %w", ErrActRefused)
	}
	return nil
}

// SendAct sends an act down the link that leads to its alarm's origin and
// waits for the origin's answer. ErrNoRoute means no linked child leads
// there now (the link is down): the sender keeps the act and tries again.
func (s *Server) SendAct(ctx context.Context, act AlarmAct) error {
	if err := act.Validate(); err != nil {
		return err
	}
	conn, child, ok := s.route(act.Origin)
	if !ok {
		return fmt.Errorf("alarm act %s for %s: %w", act.ID, act.Origin, ErrNoRoute)
	}
	err := sendAct(ctx, conn, act)
	var refused refusedError
	if err != nil && !errors.As(err, &refused) {
		return fmt.Errorf("alarm act %s for %s via %s: %w", act.ID, act.Origin, child, err)
	}
	return err // the origin's refusal says why, whoever passes it on
}

// refusedError is a refusal for good, as a peer worded it.
type refusedError string

func (e refusedError) Error() string        { return string(e) }
func (e refusedError) Is(target error) bool { return target == ErrActRefused }

func sendAct(ctx context.Context, conn *quic.Conn, act AlarmAct) error {
	ctx, cancel := context.WithTimeout(ctx, actTimeout)
	defer cancel()
	str, err := conn.OpenStreamSync(ctx)
	if err != nil {
		return err
	}
	defer finish(str)
	if err := WriteFrame(str, MsgOpen, Open{Kind: StreamAct}); err != nil {
		return err
	}
	if err := WriteFrame(str, MsgAlarmAct, act); err != nil {
		return err
	}
	_ = str.Close() // the act is all the ancestor sends
	dl, _ := ctx.Deadline()
	_ = str.SetReadDeadline(dl)
	var done struct{}
	return Expect(str, MsgActDone, &done)
}

// serveAct applies (or passes on) an act from the parent and answers.
func (c *Client) serveAct(str *quic.Stream) error {
	var act AlarmAct
	if err := expectLimit(str, MsgAlarmAct, &act, maxRequestFrame); err != nil {
		return err
	}
	err := act.Validate()
	if err == nil && c.o.Act == nil {
		err = fmt.Errorf("this node takes no alarm acts: %w", ErrActRefused)
	}
	if err == nil {
		// less than the parent waits, so it hears why rather than timing out
		ctx, cancel := context.WithTimeout(str.Context(), actTimeout*3/4)
		err = c.o.Act(ctx, act)
		cancel()
	}
	if err != nil {
		refused := errors.Is(err, ErrActRefused)
		if refused {
			c.o.Logger.Warn("alarm act refused", "act", act.ID, "alarm", act.AlarmID, "user", act.User, "err", err)
		} else {
			// the ancestor keeps it and tries again (the link below is down)
			c.o.Logger.Debug("alarm act not applied yet", "act", act.ID, "alarm", act.AlarmID, "err", err)
		}
		return WriteFrame(str, MsgError, ErrorMsg{Message: err.Error(), Refused: refused})
	}
	return WriteFrame(str, MsgActDone, struct{}{})
}
