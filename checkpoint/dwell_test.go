package checkpoint

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/kuzet/kuzet/event"
)

func at(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }

func visitThrough(id string, closed *time.Time, steps ...any) Visit {
	v := Visit{ID: id, Site: "site", Tractor: "123ABC02", Opened: steps[1].(time.Time), Closed: closed}
	for i := 0; i < len(steps); i += 2 {
		v.Passages = append(v.Passages, Passage{Zone: steps[i].(string), Camera: steps[i].(string) + "-cam", Time: steps[i+1].(time.Time)})
	}
	return v
}

func TestDwells(t *testing.T) {
	out := at(100)
	v := visitThrough("s/1", &out, "gate-in", at(0), "scales", at(10), "scales", at(15), "customs", at(40), "gate-out", at(100))
	got := v.Dwells(at(500))
	want := []struct {
		zone string
		secs float64
	}{{"gate-in", 600}, {"scales", 1800}, {"customs", 3600}, {"gate-out", 0}}
	if len(got) != len(want) {
		t.Fatalf("dwells %+v", got)
	}
	for i, w := range want {
		if got[i].Zone != w.zone || got[i].Seconds != w.secs || got[i].To == nil {
			t.Errorf("dwell %d: %+v, want %s %vs", i, got[i], w.zone, w.secs)
		}
	}
	// an open visit: the last stay runs until now
	open := visitThrough("s/2", nil, "gate-in", at(0), "customs", at(30))
	ds := open.Dwells(at(50))
	if len(ds) != 2 || ds[1].To != nil || ds[1].Seconds != 1200 {
		t.Fatalf("open visit's dwells %+v", ds)
	}
	if here, ok := open.Here(); !ok || here.Zone != "customs" || !here.From.Equal(at(30)) {
		t.Fatalf("here %+v %v", here, ok)
	}
}

func TestStats(t *testing.T) {
	var vs []Visit
	// ten trucks at customs, 1..10 minutes each, the first five in the
	// first hour, the rest in the next
	for i := 1; i <= 10; i++ {
		start := at(i * 11)
		out := start.Add(time.Duration(i) * time.Minute)
		vs = append(vs, visitThrough("s/"+string(rune('a'+i)), &out, "customs", start, "gate-out", out))
	}
	// one still at customs: not a completed stay
	vs = append(vs, visitThrough("s/open", nil, "customs", at(5)))
	st := Stats(vs, "customs", at(0), at(200))
	if len(st) != 1 {
		t.Fatalf("stats %+v", st)
	}
	c := st[0]
	if c.Vehicles != 10 || c.Median != 330 || c.P90 != 540 || c.Max != 600 || len(c.Hours) != 2 {
		t.Fatalf("customs %+v", c)
	}
	if h := c.Hours[0]; !h.Hour.Equal(t0) || h.Vehicles != 5 || h.Max != 300 {
		t.Fatalf("first hour %+v", h)
	}
	// the range cuts by when a stay began
	if st := Stats(vs, "", at(60), at(200)); len(st) != 2 || st[0].Zone != "customs" || st[0].Vehicles != 5 {
		t.Fatalf("later range %+v", st)
	}
}

// A vehicle over its zone's limit raises dwell_exceeded once, across a
// restart; it clears when the vehicle moves on.
func TestDwellAlarm(t *testing.T) {
	l, x := atCustoms(t)
	vs, _ := x.Find(Query{})
	wantKey := "dwell_exceeded:" + vs[0].ID + "@customs"
	now := at(20)
	site := testSite
	site.Limit = func(zone string) time.Duration {
		if zone == "customs" {
			return 30 * time.Minute
		}
		return 0
	}
	site.Now = func() time.Time { return now }
	alarms := func() (raised, cleared int, key string) {
		evs, _ := l.Range(0, 0)
		for _, e := range evs {
			var a event.Alarm
			_ = json.Unmarshal(e.Payload, &a)
			switch e.Kind {
			case event.KindAlarmRaised:
				raised++
				key = a.Key
			case event.KindAlarmCleared:
				cleared++
			}
		}
		return
	}
	if err := checkTimers(l, x, site, true); err != nil {
		t.Fatal(err)
	}
	if r, _, _ := alarms(); r != 0 {
		t.Fatalf("%d alarms within the limit", r)
	}
	now = at(41)
	for i, verify := range []bool{true, false, true} { // a check, the next, a restart's first
		if err := checkTimers(l, x, site, verify); err != nil {
			t.Fatal(err)
		}
		if r, c, key := alarms(); r != 1 || c != 0 || key != wantKey {
			t.Fatalf("check %d: %d raised (%s), %d cleared", i, r, key, c)
		}
	}
	// the raise was recorded but the alarm is not standing (stored before
	// a kill that lost the event, say): the restart's first check raises it
	site.Active = func(string) bool { return false }
	if err := checkTimers(l, x, site, true); err != nil {
		t.Fatal(err)
	}
	if r, _, _ := alarms(); r != 2 {
		t.Fatalf("%d raised after a lost raise", r)
	}
	site.Active = nil
	read(t, l, "ExitCam", "123ABC02", 45)
	runUntil(t, l, x, func() bool { vs, _ := x.Find(Query{State: "open"}); return len(vs) == 0 })
	if err := checkTimers(l, x, site, false); err != nil {
		t.Fatal(err)
	}
	if _, c, _ := alarms(); c != 1 {
		t.Fatalf("%d cleared after the vehicle left", c)
	}
	if err := checkTimers(l, x, site, false); err != nil {
		t.Fatal(err)
	}
	if r, c, _ := alarms(); r != 2 || c != 1 {
		t.Fatalf("a later check: %d raised, %d cleared", r, c)
	}
}
