package checkpoint

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/plates"
)

var testSite = Site{
	ZoneOf: func(camera string) (string, string, bool) {
		zones := map[string][2]string{"EntryCam": {"gate-in", ZoneEntry}, "CustomsCam": {"customs", "customs"}, "ExitCam": {"gate-out", ZoneExit}}
		z, ok := zones[camera]
		return z[0], z[1], ok
	},
	Paired: func(camera string) bool { return camera == "LaneFront" || camera == "LaneRear" },
}

func openLog(t testing.TB, dir string) *event.Log {
	t.Helper()
	l, err := event.OpenLog(filepath.Join(dir, "events.db"), "site", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func openIdx(t testing.TB, dir string) *Index {
	t.Helper()
	x, err := OpenIndex(filepath.Join(dir, "visits.db"))
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func read(t *testing.T, l *event.Log, camera, plate string, min int) event.Event {
	t.Helper()
	e := event.New(plates.KindPlateRead, camera, event.SeverityInfo, plates.PlateRead{Plate: plate, Confidence: 0.99})
	e.Time = t0.Add(time.Duration(min) * time.Minute)
	e, err := l.Append(e)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// runUntil runs the tracker and the index until the index holds want
// visit events' worth of state (checked by f), then stops both.
func runUntil(t *testing.T, l *event.Log, x *Index, f func() bool) {
	t.Helper()
	runWith(t, l, x, testSite, f)
}

// runWith is runUntil for another site.
func runWith(t *testing.T, l *event.Log, x *Index, site Site, f func() bool) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 2)
	go func() { RunVisits(ctx, l, x, site, nil); done <- struct{}{} }()
	go func() { x.Follow(ctx, l, nil); done <- struct{}{} }()
	deadline := time.Now().Add(10 * time.Second)
	for !f() {
		if time.Now().After(deadline) {
			cancel()
			t.Fatal("visits never formed")
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	<-done
	<-done
}

// atCustoms files a truck's reads at the entry and at customs and runs the
// tracker until its visit holds both.
func atCustoms(t *testing.T) (*event.Log, *Index) {
	t.Helper()
	dir := t.TempDir()
	l := openLog(t, dir)
	x := openIdx(t, dir)
	t.Cleanup(func() { x.Close() })
	read(t, l, "EntryCam", "123ABC02", 0)
	read(t, l, "CustomsCam", "123ABC02", 10)
	runUntil(t, l, x, func() bool { vs, _ := x.Find(Query{}); return len(vs) == 1 && len(vs[0].Passages) == 2 })
	return l, x
}

func countKinds(t *testing.T, l *event.Log) map[string]int {
	t.Helper()
	evs, err := l.Range(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	n := map[string]int{}
	for _, e := range evs {
		n[e.Kind]++
	}
	return n
}

// A truck through entry, customs and exit is one closed visit with three
// passages; a passage (tractor + trailer) counts once, its reads not at
// all; a camera outside the zones adds nothing. After a kill between
// filing a step and moving the cursor, and with the index file lost, the
// same visits come back and no step is filed twice.
func TestRunVisitsSurvivesKills(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir)
	x := openIdx(t, dir)
	read(t, l, "EntryCam", "123ABC02", 0)
	read(t, l, "Elsewhere", "123ABC02", 1)
	read(t, l, "CustomsCam", "123ABC02", 20)
	front := read(t, l, "LaneFront", "777XYZ01", 21) // paired: only its passage counts
	ps := plates.Passage{Tractor: "777XYZ01", Trailer: "88AA01", Time: front.Time, Complete: true,
		Front: &plates.PassageRead{ID: front.ID(), Camera: "CustomsCam", Plate: "777XYZ01", Time: front.Time}}
	pe := event.New(plates.KindPassage, "CustomsCam", event.SeverityInfo, ps)
	pe.Time = front.Time
	if _, err := l.Append(pe); err != nil {
		t.Fatal(err)
	}
	read(t, l, "ExitCam", "123ABC02", 60)

	closed := func() bool {
		vs, _ := x.Find(Query{Plate: "123ABC02"})
		return len(vs) == 1 && !vs[0].Open()
	}
	runUntil(t, l, x, func() bool {
		vs, _ := x.Find(Query{})
		return closed() && len(vs) == 2
	})
	check := func(when string) {
		t.Helper()
		vs, err := x.Find(Query{Plate: "123ABC02"})
		if err != nil || len(vs) != 1 {
			t.Fatalf("%s: %v %+v", when, err, vs)
		}
		v := vs[0]
		if v.Open() || !v.EntrySeen || len(v.Passages) != 3 || v.Passages[0].Zone != "gate-in" || v.Passages[1].Zone != "customs" ||
			v.Passages[2].Zone != "gate-out" || v.Closed.Sub(v.Opened) != time.Hour || v.Site != "site" {
			t.Fatalf("%s: visit %+v", when, v)
		}
		open, _ := x.Find(Query{State: "open", Zone: "customs"})
		if len(open) != 1 || open[0].Tractor != "777XYZ01" || open[0].Trailer != "88AA01" || open[0].EntrySeen {
			t.Fatalf("%s: open visits at customs %+v", when, open)
		}
		if n := countKinds(t, l); n[KindVisitOpened] != 2 || n[KindVisitPassage] != 1 || n[KindVisitClosed] != 1 {
			t.Fatalf("%s: visit events %v", when, n)
		}
	}
	check("first run")

	// killed after filing, before the cursor moved: everything is taken
	// again and nothing is filed twice
	if err := l.SetCursor(visitCursor, 0); err != nil {
		t.Fatal(err)
	}
	runUntil(t, l, x, func() bool { c, _ := l.Cursor(visitCursor); return c >= 6 })
	check("after replaying every sighting")

	// the index file is lost: rebuilt from the log
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "visits.db")); err != nil {
		t.Fatal(err)
	}
	x = openIdx(t, dir)
	defer x.Close()
	if err := x.Sync(l); err != nil {
		t.Fatal(err)
	}
	check("after the index was rebuilt")

	// the second truck leaves after a restart: its open visit was restored
	read(t, l, "ExitCam", "88AA01", 90)
	runUntil(t, l, x, func() bool {
		vs, _ := x.Find(Query{State: "open"})
		return len(vs) == 0
	})
	vs, _ := x.Find(Query{Plate: "777XYZ01"})
	if len(vs) != 1 || len(vs[0].Passages) != 2 || vs[0].Open() {
		t.Fatalf("second truck %+v", vs)
	}
}

// Killed between closing a visit whose exit was missed and opening the
// new one: the restart opens it, once.
func TestRunVisitsKilledBetweenTwoSteps(t *testing.T) {
	l, x := atCustoms(t)
	again := read(t, l, "EntryCam", "123ABC02", 300)
	// the state a kill leaves after the first of the two steps
	old, _ := x.Find(Query{})
	st := Step{Visit: old[0].ID, Sighting: again.ID(), Camera: "EntryCam", Zone: "gate-in", ZoneKind: ZoneEntry,
		Tractor: "123ABC02", Time: again.Time, Reason: ReasonEnteredAgain}
	ce := event.New(KindVisitClosed, "EntryCam", event.SeverityInfo, st)
	ce.Time = again.Time
	if _, err := l.Append(ce); err != nil {
		t.Fatal(err)
	}
	runUntil(t, l, x, func() bool { vs, _ := x.Find(Query{}); return len(vs) == 2 })
	vs, _ := x.Find(Query{})
	if !vs[0].Open() || vs[0].ID != again.ID() || vs[1].Open() || vs[1].Reason != ReasonEnteredAgain || len(vs[1].Passages) != 2 {
		t.Fatalf("visits %+v", vs)
	}
	if n := countKinds(t, l); n[KindVisitClosed] != 1 || n[KindVisitOpened] != 2 {
		t.Fatalf("visit events %v", n)
	}
}

// A node's index files the visit events its children send up, and only
// for their own visits: a child naming another node's visit is ignored.
func TestIndexTakesOnlyOwnVisits(t *testing.T) {
	dir := t.TempDir()
	centre, err := event.OpenLog(filepath.Join(dir, "centre.db"), "centre", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer centre.Close()
	x := openIdx(t, dir)
	defer x.Close()
	step := func(origin string, seq uint64, kind string, st Step) event.Event {
		e := event.New(kind, st.Camera, event.SeverityInfo, st)
		e.Origin, e.Seq, e.Time = origin, seq, st.Time
		return e
	}
	in := []event.Event{
		step("site-a", 1, KindVisitOpened, Step{Visit: "site-a/0", Sighting: "site-a/0", Zone: "gate-in", ZoneKind: ZoneEntry, Tractor: "123ABC02", Time: at(0), EntrySeen: true}),
		step("site-b", 1, KindVisitClosed, Step{Visit: "site-a/0", Sighting: "site-b/0", Zone: "gate-out", ZoneKind: ZoneExit, Tractor: "123ABC02", Time: at(5)}),
		step("site-b", 2, KindVisitOpened, Step{Visit: "site-b/1", Sighting: "site-b/1", Zone: "gate-in", ZoneKind: ZoneEntry, Tractor: "777XYZ01", Time: at(6), EntrySeen: true}),
	}
	if _, err := centre.Ingest(in, "site-a"); err != nil {
		t.Fatal(err)
	}
	if err := x.Sync(centre); err != nil {
		t.Fatal(err)
	}
	a, _ := x.Find(Query{Site: "site-a"})
	b, _ := x.Find(Query{Site: "site-b"})
	if len(a) != 1 || !a[0].Open() || len(a[0].Passages) != 1 || len(b) != 1 || b[0].Tractor != "777XYZ01" {
		t.Fatalf("site-a %+v, site-b %+v", a, b)
	}
}
