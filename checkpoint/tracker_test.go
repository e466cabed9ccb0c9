package checkpoint

import (
	"fmt"
	"testing"
	"time"
)

var t0 = time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC)

func sight(id, zone, kind, tractor, trailer string, min int) Sighting {
	return Sighting{ID: id, Camera: zone + "-cam", Zone: zone, ZoneKind: kind, Tractor: tractor, Trailer: trailer,
		Time: t0.Add(time.Duration(min) * time.Minute)}
}

func kinds(es []Emit) string {
	s := ""
	for _, e := range es {
		s += fmt.Sprintf("%s(%s) ", e.Kind, e.Step.Visit)
	}
	return s
}

func TestTrackerVisitThroughZones(t *testing.T) {
	tr := NewTracker()
	steps := []struct {
		s    Sighting
		want string
	}{
		{sight("s/1", "gate-in", ZoneEntry, "123ABC02", "45AB02", 0), "visit.opened(s/1) "},
		// the trailer alone at the scales: the same visit
		{sight("s/2", "scales", "weighing", "", "45AB02", 10), "visit.passage(s/1) "},
		{sight("s/3", "customs", "customs", "123ABC02", "", 30), "visit.passage(s/1) "},
		// another truck, first seen at customs: it came in unseen
		{sight("s/4", "customs", "customs", "777XYZ01", "", 31), "visit.opened(s/4) "},
		{sight("s/5", "gate-out", ZoneExit, "123ABC02", "45AB02", 60), "visit.closed(s/1) "},
		// the first truck comes back: a new visit
		{sight("s/6", "gate-in", ZoneEntry, "123ABC02", "", 120), "visit.opened(s/6) "},
		// seen only on its way out: one event opens and closes it
		{sight("s/7", "gate-out", ZoneExit, "999AAA09", "", 121), "visit.closed(s/7) "},
		// the unseen truck's exit is missed; it enters again: its old
		// visit closes, a new one opens
		{sight("s/8", "gate-in", ZoneEntry, "777XYZ01", "", 200), "visit.closed(s/4) visit.opened(s/8) "},
		// a sighting outside any zone, or without a plate, is nothing
		{Sighting{ID: "s/9", Tractor: "123ABC02"}, ""},
		{sight("s/10", "customs", "customs", "", "", 201), ""},
	}
	for _, st := range steps {
		if got := kinds(tr.See(st.s)); got != st.want {
			t.Errorf("%s at %s: %q, want %q", st.s.ID, st.s.Zone, got, st.want)
		}
	}
	if tr.Open() != 2 {
		t.Errorf("%d open visits, want 2 (s/6 and s/8)", tr.Open())
	}
	// a re-read at the entry of a vehicle still at the entry is a passage
	if got := kinds(tr.See(sight("s/11", "gate-in", ZoneEntry, "123ABC02", "", 122))); got != "visit.passage(s/6) " {
		t.Errorf("second read at the entry: %q", got)
	}
	// reversing in the exit lane is no exit; driving out is
	back := sight("s/12", "gate-out", ZoneExit, "123ABC02", "", 130)
	back.Direction = "entry"
	if got := kinds(tr.See(back)); got != "visit.passage(s/6) " {
		t.Errorf("reversing at the exit: %q", got)
	}
	out := sight("s/13", "gate-out", ZoneExit, "123ABC02", "", 131)
	out.Direction = "exit"
	if got := kinds(tr.See(out)); got != "visit.closed(s/6) " {
		t.Errorf("out after reversing: %q", got)
	}
}

func TestTrackerRestore(t *testing.T) {
	tr := NewTracker()
	tr.Restore(Visit{ID: "s/1", Tractor: "123ABC02", Trailer: "45AB02", Passages: []Passage{{Zone: "customs", ZoneKind: "customs"}}})
	tr.Restore(Visit{ID: "s/2", Tractor: "1", Closed: &t0}) // closed: not restored
	if tr.Open() != 1 {
		t.Fatalf("%d open", tr.Open())
	}
	if got := kinds(tr.See(sight("s/3", "gate-out", ZoneExit, "", "45AB02", 5))); got != "visit.closed(s/1) " {
		t.Errorf("exit of a restored visit: %q", got)
	}
}
