package timesync

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/timesync/timesynctest"
)

// events keeps what the watcher stores.
type events struct {
	mu sync.Mutex
	ev []event.Event
}

func (e *events) Append(ev event.Event) (event.Event, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.ev = append(e.ev, ev)
	return ev, nil
}

func (e *events) alarms() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for _, ev := range e.ev {
		var a event.Alarm
		_ = json.Unmarshal(ev.Payload, &a)
		out = append(out, ev.Kind+" "+a.Message)
	}
	return out
}

// Three real NTP exchanges over loopback per round: the offset is the
// median of the servers that answer; beyond the limit the alarm is raised
// once and cleared once the clock is back; a server that stops answering
// keeps its last figures beside its error; all of them silent for three
// rounds raises it too; a restart with the alarm standing does not raise
// it again.
func TestClockAgainstNTP(t *testing.T) {
	var srv []*timesynctest.Server
	var addrs []string
	for range 3 {
		s, err := timesynctest.Start()
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		srv, addrs = append(srv, s), append(addrs, s.Addr())
	}
	ev := &events{}
	reg := prometheus.NewRegistry()
	w := New(Options{Servers: addrs, MaxOffset: 200 * time.Millisecond, Timeout: 300 * time.Millisecond, Events: ev, Registerer: reg})
	ctx := context.Background()
	offsetNear := func(want time.Duration) {
		t.Helper()
		st := w.Status()
		if got := time.Duration(st.Offset * float64(time.Millisecond)); got < want-20*time.Millisecond || got > want+20*time.Millisecond {
			t.Fatalf("offset %v, want %v: %+v", got, want, st)
		}
	}

	for i, d := range []time.Duration{-40 * time.Millisecond, 10 * time.Millisecond, 30 * time.Millisecond} {
		srv[i].SetOffset(d)
	}
	w.round(ctx)
	offsetNear(10 * time.Millisecond)
	if st := w.Status(); !st.Synchronised || len(ev.alarms()) != 0 {
		t.Fatalf("in step: %+v, alarms %v", st, ev.alarms())
	}
	if v := testutil.ToFloat64(w.m.offset); v < 0 || v > 0.03 {
		t.Errorf("kuzet_clock_ntp_offset_seconds %v", v)
	}

	// the clock falls behind by a second: raised once, naming it
	for _, s := range srv {
		s.SetOffset(time.Second)
	}
	w.round(ctx)
	w.round(ctx)
	offsetNear(time.Second)
	// named to the millisecond: 1s, or a hair either side of it when the
	// exchange's delay was lopsided (1.001s)
	if a := ev.alarms(); len(a) != 1 || !regexp.MustCompile(`^`+regexp.QuoteMeta(event.KindAlarmRaised)+` the clock differs from NTP time by (0\.9\d*|1(\.0\d*)?)s \(limit 200ms; 3 of 3 servers answered\)`).MatchString(a[0]) {
		t.Fatalf("alarms %v", a)
	}
	if testutil.ToFloat64(w.m.unsynched) != 1 {
		t.Error("kuzet_clock_unsynchronised is not 1")
	}
	// back in step, one server silent: cleared; the silent one keeps its
	// last answer beside its error
	for _, s := range srv {
		s.SetOffset(0)
	}
	srv[2].SetSilent(true)
	w.round(ctx)
	st := w.Status()
	if a := ev.alarms(); len(a) != 2 || !strings.HasPrefix(a[1], event.KindAlarmCleared) || !st.Synchronised {
		t.Fatalf("back in step: %v %+v", a, st)
	}
	if s := st.Servers[2]; s.OK || s.Error == "" || s.Answered.IsZero() || s.Offset < 900 {
		t.Errorf("the silent server: %+v", s)
	}
	// every server silent: two rounds are patience, the third raises
	for _, s := range srv {
		s.SetSilent(true)
	}
	for range 2 {
		w.round(ctx)
	}
	if n := len(ev.alarms()); n != 2 || !w.Status().Synchronised {
		t.Fatalf("after two silent rounds: %v", ev.alarms())
	}
	w.round(ctx)
	if a := ev.alarms(); len(a) != 3 || !strings.Contains(a[2], "no NTP server has answered for 3 rounds") || !strings.Contains(a[2], addrs[0]) {
		t.Fatalf("after three silent rounds: %v", a)
	}

	// a restart while it stands: not raised again; cleared when answered
	w2 := New(Options{Servers: addrs, MaxOffset: 200 * time.Millisecond, Timeout: 300 * time.Millisecond, Events: ev,
		Standing: func() bool { return true }})
	for range 3 {
		w2.round(ctx)
	}
	if n := len(ev.alarms()); n != 3 {
		t.Fatalf("a restart raised it again: %v", ev.alarms())
	}
	srv[0].SetSilent(false)
	w2.round(ctx)
	if a := ev.alarms(); len(a) != 4 || !strings.HasPrefix(a[3], event.KindAlarmCleared) {
		t.Fatalf("after the restart, back in step: %v", a)
	}
}
