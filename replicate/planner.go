package replicate

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/kuzet/kuzet/event"
)

// Policies for a child's segment files.
const (
	PolicyAll        = "all"        // every segment goes up
	PolicyReferenced = "referenced" // segments a plate read or alarm points to
	PolicyNone       = "none"       // only on demand
)

// Reference says which stretch of a camera's video an event points to
// (a plate read, an alarm); ok is false for other events.
type Reference func(e event.Event) (camera string, from, to time.Time, ok bool)

// Planner turns the segment.closed events that children send up into
// fetches. It reads the log from its own durable cursor, so a fetch is
// planned exactly once even across restarts, and segments recorded while
// a link was down are planned when their events arrive (back-fill).
type Planner struct {
	Log    *event.Log
	Queue  *Queue
	Policy func(child string) string
	// References finds what plate reads and alarms point to, for children
	// under the referenced policy (nil: nothing is referenced).
	References Reference
	// KeepKnown is how long announced segments stay known for on-demand
	// fetches and references (default 30 days).
	KeepKnown time.Duration
	Logger    *slog.Logger
}

// Run plans until ctx ends.
func (p *Planner) Run(ctx context.Context) error {
	if p.Logger == nil {
		p.Logger = slog.New(slog.DiscardHandler)
	}
	if p.KeepKnown == 0 {
		p.KeepKnown = 30 * 24 * time.Hour
	}
	self := p.Log.Origin()
	ob := &Outbox{
		Name: "fetch-planner", Log: p.Log, Logger: p.Logger,
		Filter: func(e event.Event) bool {
			if e.Origin == self || len(e.Path) < 2 {
				return false
			}
			if e.Kind == event.KindSegmentClosed {
				return true
			}
			_, _, _, ok := p.reference(e)
			return ok
		},
	}
	lastForget := time.Time{}
	return ob.Run(ctx, func(_ context.Context, batch []event.Event) error {
		var fs []Fetch
		for _, e := range batch {
			child := e.Path[len(e.Path)-2] // the link it arrived on
			if e.Kind != event.KindSegmentClosed {
				more, err := p.referenced(e, child)
				if err != nil {
					return err
				}
				fs = append(fs, more...)
				continue
			}
			var s event.Segment
			if err := json.Unmarshal(e.Payload, &s); err != nil || event.CheckRel(s.Path) != nil || s.SHA256 == "" {
				p.Logger.Warn("segment event without a usable segment", "id", e.ID(), "err", err)
				continue
			}
			f := Fetch{Child: child, Origin: e.Origin, Camera: s.Camera, Start: s.Start, End: s.End,
				Path: s.Path, Bytes: s.Bytes, SHA256: s.SHA256}
			if err := p.Queue.Remember(f); err != nil {
				return err
			}
			due, err := p.due(f)
			if err != nil {
				return err
			}
			if due {
				fs = append(fs, f)
			}
		}
		if time.Since(lastForget) > time.Hour {
			lastForget = time.Now()
			if _, err := p.Queue.Forget(time.Now().Add(-p.KeepKnown)); err != nil {
				p.Logger.Warn("forget old segments", "err", err)
			}
		}
		return p.Queue.Add(fs...)
	})
}

func (p *Planner) reference(e event.Event) (string, time.Time, time.Time, bool) {
	if p.References == nil {
		return "", time.Time{}, time.Time{}, false
	}
	return p.References(e)
}

// due reports whether a child's segment goes up under its policy.
func (p *Planner) due(f Fetch) (bool, error) {
	switch p.Policy(f.Child) {
	case PolicyAll:
		return true, nil
	case PolicyReferenced:
		return p.Queue.Referenced(f.Origin, f.Camera, f.Start, f.End)
	}
	return false, nil
}

// referenced records what e points to and returns the fetches of known
// segments it makes due.
func (p *Planner) referenced(e event.Event, child string) ([]Fetch, error) {
	camera, from, to, ok := p.reference(e)
	if !ok {
		return nil, nil
	}
	if err := p.Queue.AddRef(e.Origin, camera, from, to); err != nil {
		return nil, err
	}
	if p.Policy(child) != PolicyReferenced {
		return nil, nil
	}
	known, err := p.Queue.Known(e.Origin, camera, from, to.Add(time.Nanosecond))
	if err != nil {
		return nil, err
	}
	for i := range known {
		known[i].Child = child
	}
	return known, nil
}

// Reconcile compares a child's index with what this node holds: segments
// it lacks become fetches under the child's policy (back-fill after a
// reconnect, NVMS-6.9). It returns how many were queued.
func (p *Planner) Reconcile(child string, listed []Fetch, have func(origin, rel string) bool) (int, error) {
	for i := range listed {
		listed[i].Child = child
	}
	if err := p.Queue.Remember(listed...); err != nil {
		return 0, err
	}
	var fs []Fetch
	for _, f := range listed {
		if have(f.Origin, f.Path) {
			continue
		}
		due, err := p.due(f)
		if err != nil {
			return 0, err
		}
		if due {
			fs = append(fs, f)
		}
	}
	return len(fs), p.Queue.Add(fs...)
}
