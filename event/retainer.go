package event

import (
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Retainer keeps the log to its retention: each sweep drops the events
// older than Keep that every holder of the floor has passed (see Hold).
type Retainer struct {
	Log  *Log
	Keep time.Duration
	Now  func() time.Time
	// BeforeDrop runs before positions up to through are dropped; an
	// error keeps them (the audit chain's checkpoint is recorded here).
	BeforeDrop func(through uint64) error
	Logger     *slog.Logger

	mu         sync.Mutex
	last       Sweep
	heldWarned string
}

// Sweep is what one pass did and found.
type Sweep struct {
	At      time.Time `json:"at"`
	Before  time.Time `json:"before"`  // events older than this may go
	Dropped int       `json:"dropped"` // events dropped by this sweep
	Through uint64    `json:"through,omitempty"`
	First   uint64    `json:"first"` // the lowest position held after it
	Floor   uint64    `json:"floor"`
	// HeldBy names the reader whose position kept events past their
	// retention (a link down for long, a stopped outbox), if any.
	HeldBy string `json:"held_by,omitempty"`
	Error  string `json:"error,omitempty"`
}

// Last returns the latest sweep.
func (r *Retainer) Last() Sweep {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last
}

// Sweep drops what the retention allows now.
func (r *Retainer) Sweep() (Sweep, error) {
	now := time.Now
	if r.Now != nil {
		now = r.Now
	}
	s := Sweep{At: now().UTC(), Before: now().Add(-r.Keep).UTC()}
	err := r.sweep(&s)
	if err != nil {
		s.Error = err.Error()
	}
	s.First = r.Log.First()
	r.mu.Lock()
	r.last = s
	r.mu.Unlock()
	return s, err
}

func (r *Retainer) sweep(s *Sweep) error {
	floor, holder, err := r.Log.Floor()
	if err != nil {
		return err
	}
	s.Floor = floor
	through, held, err := r.Log.CompactPlan(s.Before, floor)
	if err != nil {
		return err
	}
	if held {
		s.HeldBy = holder
		r.warnHeld(holder, floor)
	}
	if through == 0 {
		return nil
	}
	if r.BeforeDrop != nil {
		if err := r.BeforeDrop(through); err != nil {
			return fmt.Errorf("before dropping events through position %d: %w", through, err)
		}
	}
	n, err := r.Log.Compact(through, s.Before)
	s.Dropped, s.Through = n, through
	if err != nil {
		return err
	}
	if r.Logger != nil {
		r.Logger.Info("event log retention dropped old events", "events", n, "through", through, "before", s.Before)
	}
	e := New(KindCompacted, "", SeverityInfo, Compacted{Events: n, Through: through, Before: s.Before})
	e.Time = s.At
	_, err = r.Log.Append(e)
	return err
}

// warnHeld logs, once per holder, that a reader keeps events past their
// retention.
func (r *Retainer) warnHeld(holder string, floor uint64) {
	r.mu.Lock()
	warned := r.heldWarned == holder
	r.heldWarned = holder
	r.mu.Unlock()
	if !warned && r.Logger != nil {
		r.Logger.Warn("events past their retention are kept: a reader has not taken them yet", "reader", holder, "at_position", floor)
	}
}
