package main

import (
	"context"
	"sync"
	"time"

	"github.com/kuzet/kuzet/event"
)

// arrivals stamps, in the centre process, when each site event is stored
// there: the log announces every stored event (Watch) right after its
// commit, and urgent alarms also when their early copy on the alarm
// stream is kept (WatchUrgent). Latency is that moment minus the event's
// Time, which the site set just before its own Append: one clock, as all
// processes run on this machine.
type arrivals struct {
	log *event.Log

	mu     sync.Mutex
	on     bool
	recs   []arrival
	urgent map[string]*arrival // first arrival of urgent alarms, by event ID
}

type arrival struct {
	t, at int64 // event time, arrival; unix ns
}

func newArrivals(log *event.Log) *arrivals {
	return &arrivals{log: log, urgent: map[string]*arrival{}}
}

// setRecording starts (afresh) or stops recording; off, nothing is kept,
// so the records do not weigh on the centre's memory outside the window.
func (a *arrivals) setRecording(on bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.on = on
	if on {
		a.recs, a.urgent = a.recs[:0], map[string]*arrival{}
	}
}

func (a *arrivals) run(ctx context.Context) {
	// a watcher that falls behind misses events (the log does not block
	// on it): a large buffer, and the figures count what arrived
	ch, stop := a.log.Watch(1 << 16)
	defer stop()
	uch, ustop := a.log.WatchUrgent(4096)
	defer ustop()
	for {
		select {
		case <-ctx.Done():
			return
		case e := <-ch:
			a.note(e, time.Now().UnixNano(), false)
		case e := <-uch:
			a.note(e, time.Now().UnixNano(), true)
		}
	}
}

func (a *arrivals) note(e event.Event, at int64, early bool) {
	if siteIndex(e.Origin) < 0 {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.on {
		return
	}
	t := e.Time.UnixNano()
	if !early {
		a.recs = append(a.recs, arrival{t: t, at: at})
	}
	if event.Urgent(e) {
		if u, ok := a.urgent[e.ID()]; ok {
			u.at = min(u.at, at)
		} else {
			a.urgent[e.ID()] = &arrival{t: t, at: at}
		}
	}
}

// latencyReply is the centre's answer to "lat".
type latencyReply struct {
	Events summary `json:"events"`        // ordered stream: every site event
	Urgent summary `json:"urgent_alarms"` // first arrival, either stream
}

// summary of events whose time lies in [from, to).
func (a *arrivals) summary(from, to int64) latencyReply {
	a.mu.Lock()
	defer a.mu.Unlock()
	var ev, ur []time.Duration
	for _, r := range a.recs {
		if r.t >= from && r.t < to {
			ev = append(ev, time.Duration(r.at-r.t))
		}
	}
	for _, r := range a.urgent {
		if r.t >= from && r.t < to {
			ur = append(ur, time.Duration(r.at-r.t))
		}
	}
	return latencyReply{Events: summarise(ev), Urgent: summarise(ur)}
}
