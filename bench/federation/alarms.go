package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/kuzet/kuzet/event"
)

// raisedAlarm is one grave alarm stored on the child.
type raisedAlarm struct {
	seq uint64
	at  time.Time // just before the child's Append (which includes its commit)
}

// raiseAlarms stores a grave alarm in the child's log every every, for
// window.
func raiseAlarms(ctx context.Context, l *event.Log, every, window time.Duration) ([]raisedAlarm, error) {
	var out []raisedAlarm
	t := time.NewTicker(every)
	defer t.Stop()
	end := time.Now().Add(window)
	for i := 0; time.Now().Before(end); i++ {
		at := time.Now()
		e, err := l.Append(event.New(event.KindAlarmRaised, "Camera1", event.SeverityGrave,
			event.Alarm{Key: fmt.Sprintf("bench:%d", i), Type: "bench", Message: "bench alarm"}))
		if err != nil {
			return out, err
		}
		out = append(out, raisedAlarm{seq: e.Seq, at: at})
		select {
		case <-ctx.Done():
			return out, ctx.Err()
		case <-t.C:
		}
	}
	return out, nil
}

// arrival is when the parent first stored an alarm, and by which path.
type arrival struct {
	at     time.Time
	urgent bool // StoreUrgent (the alarm stream) rather than Ingest (the events stream)
}

// probe watches the parent's log for origin's grave alarms. An alarm that
// overtakes the ordered stream is stored by StoreUrgent and announced on
// WatchUrgent; one that arrives in order first is stored by Ingest and
// announced on Watch (its urgent copy is then dropped as known). The first
// of the two counts.
type probe struct {
	origin  string
	mu      sync.Mutex
	arrived map[uint64]arrival
	done    chan struct{}
	wg      sync.WaitGroup
	stops   []func()
	once    sync.Once
}

func newProbe(parent *event.Log, origin string) *probe {
	p := &probe{origin: origin, arrived: map[uint64]arrival{}, done: make(chan struct{})}
	// Watch drops events for a full channel, so its buffer must hold a
	// whole burst of backlog events between two reads.
	ord, stopOrd := parent.Watch(1 << 17)
	urg, stopUrg := parent.WatchUrgent(4096)
	p.stops = []func(){stopOrd, stopUrg}
	p.wg.Add(2)
	go p.watch(ord, false)
	go p.watch(urg, true)
	return p
}

func (p *probe) watch(ch <-chan event.Event, urgent bool) {
	defer p.wg.Done()
	for {
		select {
		case <-p.done:
			return
		case e := <-ch:
			now := time.Now()
			if e.Origin != p.origin || e.Kind != event.KindAlarmRaised || e.Severity != event.SeverityGrave {
				continue
			}
			p.mu.Lock()
			if a, ok := p.arrived[e.Seq]; !ok || now.Before(a.at) {
				p.arrived[e.Seq] = arrival{at: now, urgent: urgent}
			}
			p.mu.Unlock()
		}
	}
}

// wait gives alarms still on their way up to grace to arrive.
func (p *probe) wait(ctx context.Context, raised []raisedAlarm, grace time.Duration) {
	_ = waitFor(ctx, grace, "the last alarms", func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, r := range raised {
			if _, ok := p.arrived[r.seq]; !ok {
				return false
			}
		}
		return true
	})
}

// latency summarises the alarms raised before cutoff (zero: all).
func (p *probe) latency(raised []raisedAlarm, cutoff time.Time) latency {
	p.mu.Lock()
	defer p.mu.Unlock()
	var ds []time.Duration
	var l latency
	for _, r := range raised {
		if !cutoff.IsZero() && !r.at.Before(cutoff) {
			continue
		}
		l.Raised++
		a, ok := p.arrived[r.seq]
		if !ok {
			l.Missing++
			continue
		}
		ds = append(ds, a.at.Sub(r.at))
		if a.urgent {
			l.Urgent++
		} else {
			l.Ordered++
		}
	}
	s := summarise(ds)
	s.Raised, s.Missing, s.Urgent, s.Ordered = l.Raised, l.Missing, l.Urgent, l.Ordered
	return s
}

func (p *probe) close() {
	p.once.Do(func() {
		for _, s := range p.stops {
			s()
		}
		close(p.done)
		p.wg.Wait()
	})
}

// keptAhead counts the raised alarms of origin that the parent holds as
// urgent copies, stored ahead of their ordered delivery.
func keptAhead(parent *event.Log, origin string, raised []raisedAlarm) int {
	seqs := map[uint64]bool{}
	for _, r := range raised {
		seqs[r.seq] = true
	}
	urgent, err := parent.UrgentEvents()
	if err != nil {
		return -1
	}
	n := 0
	for _, e := range urgent {
		if e.Origin == origin && seqs[e.Seq] {
			n++
		}
	}
	return n
}
