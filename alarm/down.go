package alarm

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/kuzet/kuzet/event"
)

// An operator at an ancestor who acknowledges or clears an alarm raised
// below acts, first, on the ancestor's own table: the act is an event in
// its log like any other. The same commit queues the act for the alarm's
// origin, and a sender (Options.Down, the federation's control path)
// delivers it there until the origin answers — across outages and
// restarts, since the queue is in the table's file. The origin applies it
// as an act of its own, naming the operator name@node and the act it came
// from (Payload.Via), so its own console and escalation follow, and its
// event travels back up to every ancestor: one state of the alarm across
// the tree. The origin decides whether the operator may (their role), and
// applies each act once however often it is delivered.

// RemoteAct is an act on an alarm of another node, on its way to that
// node.
type RemoteAct struct {
	ID      string `json:"id"`     // the act's event ID here: the origin applies each once
	Origin  string `json:"origin"` // the alarm's origin
	AlarmID string `json:"alarm_id"`
	Act     string `json:"act"`  // ActAck or ActClear
	User    string `json:"user"` // name@node of the operator
	Role    string `json:"role"` // their role where they acted
	Comment string `json:"comment,omitempty"`
	// At is when the operator acted. An act that found no way to its
	// origin for downExpire (a node taken out of the tree) is given up.
	At time.Time `json:"at"`
}

// Acts.
const (
	ActAck   = "ack"
	ActClear = "clear"
)

// ErrRefused marks an act the origin refuses for good (the operator's
// role, an alarm it does not have): it leaves the queue unapplied.
var ErrRefused = errors.New("act refused by the alarm's origin")

// Retry pacing of the acts' sender: a pass over the queue after a failure
// waits downRetryMin, doubling to downRetryMax, so an act reaches its
// origin within seconds of its link coming back.
const (
	downRetryMin = 500 * time.Millisecond
	downRetryMax = 5 * time.Second
	downTimeout  = 30 * time.Second
	downExpire   = 7 * 24 * time.Hour
)

// Operator is who acts on an alarm: the user's name and role.
type Operator struct{ User, Role string }

// queueDown queues, in the commit applying it, an act made here by an
// operator on an alarm of a node below.
func (t *txn) queueDown(e event.Event, p Payload, a *Alarm, act string) {
	if t.m.o.Down == nil || e.Origin != t.m.node || a.Origin == t.m.node || p.Via != "" || p.User == "" {
		return
	}
	t.down = append(t.down, downAct{pos: e.Pos, act: RemoteAct{ID: e.ID(), Origin: a.Origin, AlarmID: a.ID,
		Act: act, User: p.User + "@" + t.m.node, Role: p.Role, Comment: p.Comment, At: e.Time}})
}

// downAct is a queued act and the log position of its event (its key).
type downAct struct {
	pos uint64
	act RemoteAct
}

// sendDown delivers the queued acts until ctx ends. Every pass tries each
// act once, so an unreachable origin holds up no other; acts that failed
// are tried again after a pause.
func (m *Manager) sendDown(ctx context.Context) {
	pause := downRetryMin
	idle := time.NewTicker(10 * time.Second) // a missed wake-up costs at most this
	defer idle.Stop()
	for ctx.Err() == nil {
		queued, err := m.queuedActs()
		if err != nil {
			m.o.Logger.Error("read the alarm acts' queue", "err", err)
		}
		failed := false
		for _, d := range queued {
			if ctx.Err() != nil {
				return
			}
			if !m.deliverAct(ctx, d) {
				failed = true
			}
		}
		if n, err := m.queuedActs(); err == nil {
			m.metrics.downQueue.Set(float64(len(n)))
		}
		if !failed {
			pause = downRetryMin
			select {
			case <-ctx.Done():
			case <-m.downWake:
			case <-idle.C:
			}
			continue
		}
		sleep(ctx, pause)
		pause = min(2*pause, downRetryMax)
	}
}

// deliverAct sends one act; false when it is to be tried again.
func (m *Manager) deliverAct(ctx context.Context, d downAct) bool {
	c, cancel := context.WithTimeout(ctx, downTimeout)
	err := m.o.Down(c, d.act)
	cancel()
	switch {
	case err == nil:
		m.metrics.downActs.WithLabelValues("applied").Inc()
		m.o.Logger.Info("alarm act reached its origin", "act", d.act.ID, "alarm", d.act.AlarmID, "origin", d.act.Origin)
	case errors.Is(err, ErrRefused):
		m.metrics.downActs.WithLabelValues("refused").Inc()
		m.o.Logger.Error("alarm act refused by its origin; it stands here only", "act", d.act.ID,
			"alarm", d.act.AlarmID, "origin", d.act.Origin, "user", d.act.User, "err", err)
	case ctx.Err() != nil:
		return false
	case !d.act.At.IsZero() && m.o.Now().Sub(d.act.At) > downExpire:
		m.metrics.downActs.WithLabelValues("expired").Inc()
		m.o.Logger.Error("alarm act given up: its origin was unreachable for a week; it stands here only", "act", d.act.ID,
			"alarm", d.act.AlarmID, "origin", d.act.Origin, "err", err)
	default:
		m.metrics.downActs.WithLabelValues("retry").Inc()
		m.o.Logger.Debug("alarm act not delivered yet", "act", d.act.ID, "origin", d.act.Origin, "err", err)
		return false
	}
	for ctx.Err() == nil {
		err := m.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketDown).Delete(u64(d.pos)) })
		if err == nil {
			break
		}
		m.o.Logger.Error("advance the alarm acts' queue", "act", d.act.ID, "err", err)
		sleep(ctx, time.Second)
	}
	return true
}

// queuedActs lists the queued acts in log order; one that cannot be
// decoded is dropped with an error log.
func (m *Manager) queuedActs() ([]downAct, error) {
	var out []downAct
	var bad [][]byte
	err := m.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketDown).ForEach(func(k, v []byte) error {
			var a RemoteAct
			if len(k) != 8 || json.Unmarshal(v, &a) != nil || a.ID == "" {
				bad = append(bad, bytes.Clone(k))
				return nil
			}
			out = append(out, downAct{pos: be64(k), act: a})
			return nil
		})
	})
	if err != nil || len(bad) == 0 {
		return out, err
	}
	m.o.Logger.Error("undecodable alarm acts dropped from their queue", "count", len(bad))
	return out, m.db.Update(func(tx *bolt.Tx) error {
		for _, k := range bad {
			if err := tx.Bucket(bucketDown).Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
}

// Apply applies, at the alarm's origin, an act an ancestor's operator
// made on it. It reports whether the act changed the alarm: an act
// applied before (the same ID), an acknowledgement of an acknowledged
// alarm or a clear of a cleared one change nothing and are no error. The
// caller checks the operator's role; an act on an alarm this node did not
// raise, or no longer has, is refused (ErrRefused).
func (m *Manager) Apply(act RemoteAct) (bool, error) {
	if act.Origin != m.node {
		return false, fmt.Errorf("%w: alarm %s is %s's, not this node's", ErrRefused, act.AlarmID, act.Origin)
	}
	if err := checkOperator(act.User, act.Comment); err != nil {
		return false, fmt.Errorf("%w: %v", ErrRefused, err)
	}
	a, err := m.act(act.AlarmID, func(a *Alarm) (event.Event, error) {
		if a.Origin != m.node {
			return event.Event{}, fmt.Errorf("%w: alarm %s is %s's, not this node's", ErrRefused, act.AlarmID, a.Origin)
		}
		if m.applied(act.ID) {
			return event.Event{}, errApplied
		}
		switch act.Act {
		case ActAck:
			if !a.Acked.IsZero() {
				return event.Event{}, errApplied
			}
			msg := "acknowledged by " + act.User
			if act.Comment != "" {
				msg += ": " + act.Comment
			}
			return event.New(KindAcked, a.Camera, a.Severity, Payload{Key: a.Key, Type: a.Type, Message: msg,
				AlarmID: a.ID, User: act.User, Role: act.Role, Comment: act.Comment, Via: act.ID}), nil
		case ActClear:
			if !a.State.Open() {
				return event.Event{}, errApplied
			}
			return event.New(event.KindAlarmCleared, a.Camera, event.SeverityInfo, Payload{Key: a.Key, Type: a.Type,
				Message: "cleared by " + act.User, AlarmID: a.ID, User: act.User, Role: act.Role, Via: act.ID}), nil
		}
		return event.Event{}, fmt.Errorf("%w: act %q is not ack or clear", ErrRefused, act.Act)
	})
	switch {
	case errors.Is(err, errApplied):
		return false, nil
	case errors.Is(err, ErrNotFound):
		return false, fmt.Errorf("%w: %v", ErrRefused, err)
	case err != nil:
		return false, err
	}
	if act.Act == ActClear {
		m.raiseIfPersists(a)
	}
	return true, nil
}

// errApplied: the act's effect stands already.
var errApplied = errors.New("act applied already")

// applied reports whether the act with this ID was applied here (its
// event carries the ID as Via).
func (m *Manager) applied(id string) bool {
	found := false
	_ = m.db.View(func(tx *bolt.Tx) error {
		found = tx.Bucket(bucketApplied).Get([]byte(id)) != nil
		return nil
	})
	return found
}

// noteApplied records, in the commit applying it, an ancestor's act that
// an event of this node carried out.
func (t *txn) noteApplied(e event.Event, p Payload) {
	if p.Via != "" && e.Origin == t.m.node {
		t.applied = append(t.applied, p.Via)
	}
}

func be64(b []byte) uint64 { return binary.BigEndian.Uint64(b) }

// ActsQueued is how many acts on alarms below wait to reach their origin.
func (m *Manager) ActsQueued() int {
	n := 0
	_ = m.db.View(func(tx *bolt.Tx) error {
		n = tx.Bucket(bucketDown).Stats().KeyN
		return nil
	})
	return n
}
