package alarm

import (
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/internal/testkit"
)

func newClock() *testkit.Clock {
	return testkit.NewClock(time.Date(2025, 8, 18, 10, 0, 0, 0, time.UTC))
}

// node is one node's log and alarm table in a temporary directory.
type node struct {
	t     testing.TB
	dir   string
	log   *event.Log
	clock *testkit.Clock
	m     *Manager
	opts  Options
}

func newNode(t testing.TB, origin string, o Options) *node {
	t.Helper()
	dir := t.TempDir()
	l, err := event.OpenLog(filepath.Join(dir, "events.db"), origin, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	n := &node{t: t, dir: dir, log: l, clock: newClock(), opts: o}
	n.open()
	t.Cleanup(func() {
		if n.m != nil {
			n.m.Close()
		}
	})
	return n
}

func (n *node) open() {
	n.t.Helper()
	o := n.opts
	o.Path = filepath.Join(n.dir, "alarms.db")
	o.Log = n.log
	o.Now = n.clock.Now
	m, err := Open(o)
	if err != nil {
		n.t.Fatal(err)
	}
	n.m = m
}

func (n *node) restart() {
	n.t.Helper()
	if err := n.m.Close(); err != nil {
		n.t.Fatal(err)
	}
	n.open()
}

// emit appends an alarm event as a component of this node would.
func (n *node) emit(kind, camera, typ, key string, sev event.Severity, msg string) event.Event {
	n.t.Helper()
	e := event.New(kind, camera, sev, event.Alarm{Key: key, Type: typ, Message: msg})
	e.Time = n.clock.Now()
	stored, err := n.log.Append(e)
	if err != nil {
		n.t.Fatal(err)
	}
	return stored
}

// tick applies the log and runs the timers, as Run does every Tick.
func (n *node) tick() { n.m.timers() }

func (n *node) list(f Filter) []Alarm {
	n.t.Helper()
	n.tick()
	return n.m.List(f)
}

// eventsOf returns the log's events of kind.
func eventsOf(t *testing.T, l *event.Log, kind string) []event.Event {
	t.Helper()
	all, err := l.Range(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []event.Event
	for _, e := range all {
		if e.Kind == kind {
			out = append(out, e)
		}
	}
	return out
}

func payloadOf(t *testing.T, e event.Event) Payload {
	t.Helper()
	var p Payload
	if err := json.Unmarshal(e.Payload, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

// childEvent builds an event as a child node stored it.
func childEvent(origin string, seq uint64, kind, camera string, sev event.Severity, at time.Time, p Payload) event.Event {
	e := event.New(kind, camera, sev, p)
	e.Origin, e.Seq, e.Time, e.Path = origin, seq, at, []string{origin}
	return e
}
