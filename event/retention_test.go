package event

import (
	"path/filepath"
	"testing"
	"time"
)

// Compaction drops a prefix of the log: only what is old enough, never
// past a reader's position, never the newest event; what it dropped is
// remembered per incarnation, and the numbering carries on after a
// restart.
func TestCompactDropsOnlyWhatEveryReaderPassed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	l, err := OpenLog(path, "site-a", nil)
	if err != nil {
		t.Fatal(err)
	}
	day0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(d int) time.Time { return day0.Add(time.Duration(d) * 24 * time.Hour) }
	var own []Event
	for d := range 10 {
		e, err := l.Append(Event{Kind: KindCameraState, Camera: "Camera1", Time: at(d)})
		if err != nil {
			t.Fatal(err)
		}
		own = append(own, e)
	}
	// a child's events, ingested on day 10 but from days 0..1
	child := []Event{{Origin: "child", Inc: 100, Seq: 101, Kind: KindCameraState, Time: at(0)}, {Origin: "child", Inc: 100, Seq: 102, Kind: KindCameraState, Time: at(1)}}
	if _, err := l.Ingest(child, "child"); err != nil {
		t.Fatal(err)
	}
	uplink := uint64(3)
	l.Hold("uplink", func() (uint64, error) { return uplink, nil })

	// the uplink has taken positions 1..3: days 0..2 go, not more
	through, held, err := l.CompactPlan(at(6), mustFloor(t, l))
	if err != nil || through != 3 || !held {
		t.Fatalf("plan = %d held %v %v, want 3 held by the uplink", through, held, err)
	}
	if n, err := l.Compact(through, at(6)); err != nil || n != 3 {
		t.Fatalf("compact = %d %v", n, err)
	}
	if l.First() != 4 {
		t.Fatalf("first = %d", l.First())
	}
	if _, ok, _ := l.PosOf("site-a", own[0].Inc, own[0].Seq); ok {
		t.Fatal("a dropped event is still indexed by its identity")
	}
	if got, _ := l.Range(0, 0); len(got) != 9 || got[0].Pos != 4 {
		t.Fatalf("range after compaction: %d events from %d", len(got), got[0].Pos)
	}
	if d, _ := l.Dropped(); len(d) != 1 || d[0].Origin != "site-a" || d[0].Seq != own[2].Seq {
		t.Fatalf("dropped = %+v", d)
	}

	// every reader at the end: the age stops the run at day 6, though the
	// child's old events lie later in the log; they wait their turn
	uplink = l.Last()
	floor := mustFloor(t, l)
	through, held, _ = l.CompactPlan(at(6), floor)
	if through != 6 || held {
		t.Fatalf("plan = %d held %v, want 6 by age", through, held)
	}
	// with everything old enough, the newest event is still kept
	through, _, _ = l.CompactPlan(at(100), floor)
	if through != l.Last()-1 {
		t.Fatalf("plan for everything = %d, want %d", through, l.Last()-1)
	}
	if _, err := l.Compact(l.Last()+5, at(100)); err != nil {
		t.Fatal(err)
	}
	if l.First() != l.Last() {
		t.Fatalf("first %d last %d: the newest event must stay", l.First(), l.Last())
	}
	d, _ := l.Dropped()
	if len(d) != 2 || d[0].Origin != "child" || d[0].Seq != 101 || d[1].Seq != own[9].Seq {
		t.Fatalf("dropped = %+v", d)
	}
	last, inc := l.Last(), l.Incarnation()
	l.Close()

	l, err = OpenLog(path, "site-a", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	e, err := l.Append(Event{Kind: KindCameraState})
	if err != nil || e.Pos != last+1 || e.Seq != own[9].Seq+1 || l.Incarnation() != inc || l.Fresh() {
		t.Fatalf("after a restart: %+v %v", e, err)
	}
	// the child's next event still follows on
	if got, _ := l.Ingest([]Event{{Origin: "child", Inc: 100, Seq: 103, Kind: KindCameraState, Time: at(11)}}, "child"); len(got) != 1 {
		t.Fatal("the child's next event after compaction was not taken")
	}
}

// A reader that never set its cursor holds the floor at the start: an
// uplink that never connected keeps everything.
func TestUnsetCursorHoldsEverything(t *testing.T) {
	l, err := OpenLog(filepath.Join(t.TempDir(), "events.db"), "site-a", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for range 5 {
		if _, err := l.Append(Event{Kind: KindCameraState, Time: time.Unix(0, 0)}); err != nil {
			t.Fatal(err)
		}
	}
	l.HoldCursor("upstream")
	r := &Retainer{Log: l, Keep: time.Hour}
	s, err := r.Sweep()
	if err != nil || s.Dropped != 0 || s.HeldBy != "cursor upstream" || l.First() != 1 {
		t.Fatalf("sweep = %+v %v", s, err)
	}
	if err := l.SetCursor("upstream", 3); err != nil {
		t.Fatal(err)
	}
	if s, err = r.Sweep(); err != nil || s.Dropped != 3 || l.First() != 4 {
		t.Fatalf("sweep after the cursor moved = %+v %v", s, err)
	}
	// the sweep records what it did as an event of its own
	if got, _ := l.Search(1, func(e Event) bool { return e.Kind == KindCompacted }); len(got) != 1 {
		t.Fatal("no events.compacted event")
	}
}

// A parent that lacks events its child no longer holds takes them as
// forgone: its mark moves on and it says the same to its own parent.
func TestForgo(t *testing.T) {
	l, err := OpenLog(filepath.Join(t.TempDir(), "events.db"), "region", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if _, err := l.Ingest([]Event{{Origin: "site", Inc: 50, Seq: 51, Kind: KindCameraState}}, "site"); err != nil {
		t.Fatal(err)
	}
	from, ok, err := l.Forgo(Mark{Origin: "site", Inc: 50, Seq: 80})
	if err != nil || !ok || from != 52 {
		t.Fatalf("forgo = %d %v %v", from, ok, err)
	}
	if h, _ := l.Held("site", 50); h != 80 {
		t.Fatalf("held = %d", h)
	}
	if _, ok, _ := l.Forgo(Mark{Origin: "site", Inc: 50, Seq: 70}); ok {
		t.Fatal("forgoing what is held already")
	}
	if _, _, err := l.Forgo(Mark{Origin: "region", Seq: 5}); err == nil {
		t.Fatal("a node forwent its own events")
	}
	got, _ := l.Ingest([]Event{{Origin: "site", Inc: 50, Seq: 81, Kind: KindCameraState}}, "site")
	if len(got) != 1 {
		t.Fatal("the event after the forgone ones was not taken")
	}
	if d, _ := l.Dropped(); len(d) != 1 || d[0].Seq != 80 {
		t.Fatalf("dropped = %+v", d)
	}
}

func mustFloor(t *testing.T, l *Log) uint64 {
	t.Helper()
	f, _, err := l.Floor()
	if err != nil {
		t.Fatal(err)
	}
	return f
}
