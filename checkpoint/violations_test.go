package checkpoint

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/plates"
)

// alarmsOf counts the alarm raises of a type in the log, with their
// severities.
func alarmsOf(t *testing.T, l *event.Log, typ string) (n int, sev []event.Severity) {
	t.Helper()
	evs, err := l.Range(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		var a event.Alarm
		if e.Kind == event.KindAlarmRaised && json.Unmarshal(e.Payload, &a) == nil && a.Type == typ {
			n++
			sev = append(sev, e.Severity)
		}
	}
	return n, sev
}

// A vehicle seen in a forbidden zone is a grave violation, raised once
// however often it is seen there and after the tracker took every
// sighting again; the node's severity rule for the type is what goes up.
func TestForbiddenZone(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir)
	x := openIdx(t, dir)
	defer x.Close()
	site := testSite
	zones := site.ZoneOf
	site.ZoneOf = func(camera string) (string, string, bool) {
		if camera == "DepotCam" {
			return "fuel-depot", "restricted", true
		}
		return zones(camera)
	}
	site.Forbidden = func(zone string) bool { return zone == "fuel-depot" }
	run := func(f func() bool) { t.Helper(); runWith(t, l, x, site, f) }
	read(t, l, "EntryCam", "123ABC02", 0)
	read(t, l, "DepotCam", "123ABC02", 5)
	read(t, l, "DepotCam", "123ABC02", 6)
	read(t, l, "CustomsCam", "123ABC02", 7)
	run(func() bool { vs, _ := x.Find(Query{}); return len(vs) == 1 && len(vs[0].Passages) == 4 })
	if n, sev := alarmsOf(t, l, AlarmForbiddenZone); n != 1 || sev[0] != event.SeverityGrave {
		t.Fatalf("%d forbidden-zone alarms %v, want 1 grave", n, sev)
	}
	// everything taken again (a kill before the cursor moved)
	if err := l.SetCursor(visitCursor, 0); err != nil {
		t.Fatal(err)
	}
	run(func() bool { c, _ := l.Cursor(visitCursor); return c > 4 })
	if n, _ := alarmsOf(t, l, AlarmForbiddenZone); n != 1 {
		t.Fatalf("%d forbidden-zone alarms after a replay", n)
	}
	// another vehicle, and the node rates the type medium
	site.Severity = func(typ string) event.Severity {
		if typ == AlarmForbiddenZone {
			return event.SeverityMedium
		}
		return ""
	}
	read(t, l, "DepotCam", "777XYZ01", 8)
	run(func() bool { n, _ := alarmsOf(t, l, AlarmForbiddenZone); return n == 2 })
	if _, sev := alarmsOf(t, l, AlarmForbiddenZone); sev[1] != event.SeverityMedium {
		t.Fatalf("severities %v", sev)
	}
}

// A vehicle that entered and has not reached customs within its time is a
// medium violation, once; one that reached it, or came in unseen, is not.
func TestAbsence(t *testing.T) {
	l, x := atCustoms(t) // 123ABC02 entered at 0 and reached customs at 10
	read(t, l, "EntryCam", "777XYZ01", 1)
	read(t, l, "CustomsCam", "999AAA09", 2) // came in unseen
	runUntil(t, l, x, func() bool { vs, _ := x.Find(Query{State: "open"}); return len(vs) == 3 })
	now := at(20)
	site := testSite
	site.Now = func() time.Time { return now }
	site.Expected = func() map[string]time.Duration { return map[string]time.Duration{"customs": 30 * time.Minute} }
	check := func() {
		t.Helper()
		if err := checkTimers(l, x, site, false); err != nil {
			t.Fatal(err)
		}
	}
	check()
	if n, _ := alarmsOf(t, l, AlarmAbsence); n != 0 {
		t.Fatalf("%d absence alarms within the time", n)
	}
	now = at(40)
	check()
	check()
	n, sev := alarmsOf(t, l, AlarmAbsence)
	if n != 1 || sev[0] != event.SeverityMedium {
		t.Fatalf("%d absence alarms %v, want 1 medium (777XYZ01)", n, sev)
	}
}

// A vehicle read going against its lane's direction is a medium
// violation, once per read, whether or not the camera watches a zone.
func TestWrongDirection(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir)
	x := openIdx(t, dir)
	defer x.Close()
	site := testSite
	site.AllowedDirection = func(camera string) string {
		switch camera {
		case "EntryCam", "LaneCam": // LaneCam watches no zone
			return "entry"
		}
		return ""
	}
	readGoing := func(camera, plate, direction string, min int) {
		t.Helper()
		e := event.New(plates.KindPlateRead, camera, event.SeverityInfo, plates.PlateRead{Plate: plate, Confidence: 0.99, Direction: direction})
		e.Time = at(min)
		if _, err := l.Append(e); err != nil {
			t.Fatal(err)
		}
	}
	readGoing("EntryCam", "123ABC02", "entry", 0)
	readGoing("EntryCam", "777XYZ01", "exit", 1) // reversing out through the entry
	readGoing("LaneCam", "999AAA09", "exit", 2)
	readGoing("ExitCam", "123ABC02", "exit", 3) // no rule there
	readGoing("LaneCam", "555BBB05", "", 4)     // direction not known: no violation
	run := func() {
		t.Helper()
		runWith(t, l, x, site, func() bool { c, _ := l.Cursor(visitCursor); return c >= 5 })
	}
	run()
	if n, sev := alarmsOf(t, l, AlarmWrongDirection); n != 2 || sev[0] != event.SeverityMedium {
		t.Fatalf("%d wrong-direction alarms %v, want 2 medium", n, sev)
	}
	if err := l.SetCursor(visitCursor, 0); err != nil {
		t.Fatal(err)
	}
	run()
	if n, _ := alarmsOf(t, l, AlarmWrongDirection); n != 2 {
		t.Fatalf("%d wrong-direction alarms after a replay", n)
	}
}

// A read whose plate crossed a lane divider is a medium violation, once
// per read, at any camera (a passage's too); a replay raises none again.
func TestLaneDivider(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir)
	x := openIdx(t, dir)
	defer x.Close()
	for i, r := range []struct {
		camera  string
		crossed bool
	}{{"EntryCam", true}, {"LaneFront", true}, {"LaneCam", false}} {
		e := event.New(plates.KindPlateRead, r.camera, event.SeverityInfo, plates.PlateRead{Plate: "123ABC02", Confidence: 0.99, CrossedDivider: r.crossed})
		e.Time = at(i)
		if _, err := l.Append(e); err != nil {
			t.Fatal(err)
		}
	}
	run := func() {
		t.Helper()
		runWith(t, l, x, testSite, func() bool { c, _ := l.Cursor(visitCursor); return c >= 3 })
	}
	run()
	if n, sev := alarmsOf(t, l, AlarmLaneDivider); n != 2 || sev[0] != event.SeverityMedium {
		t.Fatalf("%d lane-divider alarms %v, want 2 medium", n, sev)
	}
	if err := l.SetCursor(visitCursor, 0); err != nil {
		t.Fatal(err)
	}
	run()
	if n, _ := alarmsOf(t, l, AlarmLaneDivider); n != 2 {
		t.Fatalf("%d lane-divider alarms after a replay", n)
	}
}

// A fixed direction label (a camera without direction: auto) says nothing
// of how the vehicle moved: an "entry" read at the exit closes the visit
// and breaks no lane's rule.
func TestFixedDirectionLabel(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir)
	x := openIdx(t, dir)
	defer x.Close()
	site := testSite
	site.Measured = func(camera string) bool { return false }
	site.AllowedDirection = func(string) string { return "exit" }
	for i, camera := range []string{"EntryCam", "ExitCam"} {
		e := event.New(plates.KindPlateRead, camera, event.SeverityInfo, plates.PlateRead{Plate: "123ABC02", Confidence: 0.99, Direction: "entry"})
		e.Time = at(i)
		if _, err := l.Append(e); err != nil {
			t.Fatal(err)
		}
	}
	runWith(t, l, x, site, func() bool { vs, _ := x.Find(Query{}); return len(vs) == 1 && !vs[0].Open() })
	if n, _ := alarmsOf(t, l, AlarmWrongDirection); n != 0 {
		t.Fatalf("%d wrong-direction alarms from a label", n)
	}
}
