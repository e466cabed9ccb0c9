package event

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// Sequence numbers are gap-free, survive a restart and order Range.
func TestLogSequenceSurvivesRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	l, err := OpenLog(path, "site-a", nil)
	if err != nil {
		t.Fatal(err)
	}
	ch, cancel := l.Watch(4)
	defer cancel()
	inc := l.Incarnation()
	if !l.Fresh() || inc == 0 || IncarnationTime(inc).Before(time.Now().Add(-time.Minute)) {
		t.Fatalf("new store: fresh %v incarnation %d (%v)", l.Fresh(), inc, IncarnationTime(inc))
	}
	for i := 0; i < 3; i++ {
		e, err := l.Append(New(KindCameraState, "Camera1", SeverityInfo, map[string]int{"i": i}))
		if err != nil {
			t.Fatal(err)
		}
		if e.Seq != inc+uint64(i+1) || e.Inc != inc || e.ID() != fmt.Sprintf("site-a/%d", inc+uint64(i+1)) || e.Path[0] != "site-a" {
			t.Fatalf("event %d = %+v", i, e)
		}
	}
	if got := <-ch; got.Seq != inc+1 {
		t.Fatalf("watch got %+v", got)
	}
	l.Close()

	l, err = OpenLog(path, "site-a", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if l.Fresh() || l.Incarnation() != inc {
		t.Fatalf("reopened store: fresh %v incarnation %d, want %d", l.Fresh(), l.Incarnation(), inc)
	}
	if l.Last() != 3 {
		t.Fatalf("last after reopen = %d", l.Last())
	}
	e, _ := l.Append(New(KindAlarmRaised, "", SeverityGrave, Alarm{Key: "k", Type: "t", Message: "m"}))
	if e.Seq != inc+4 {
		t.Fatalf("seq after reopen = %d", e.Seq)
	}
	got, err := l.Range(1, 2)
	if err != nil || len(got) != 2 || got[0].Seq != inc+2 || got[1].Seq != inc+3 {
		t.Fatalf("range = %+v %v", got, err)
	}
	all, _ := l.Range(0, 0)
	if len(all) != 4 || all[3].Severity != SeverityGrave {
		t.Fatalf("all = %+v", all)
	}
}

// Ingest stores foreign events once, in order, and extends their path;
// replays and our own events coming back are discarded.
func TestIngestDedupesByHighWaterMark(t *testing.T) {
	l, err := OpenLog(filepath.Join(t.TempDir(), "events.db"), "region", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	batch := []Event{
		{Origin: "site", Seq: 1, Kind: "k", Path: []string{"site"}},
		{Origin: "site", Seq: 2, Kind: "k", Path: []string{"site"}},
		{Origin: "region", Seq: 7, Kind: "k"},
	}
	got, err := l.Ingest(batch, "site")
	if err != nil || len(got) != 2 || got[1].Pos != 2 || len(got[0].Path) != 2 || got[0].Path[1] != "region" {
		t.Fatalf("first ingest %+v %v", got, err)
	}
	got, err = l.Ingest(append(batch[:2:2], Event{Origin: "site", Seq: 3, Kind: "k"}), "site")
	if err != nil || len(got) != 1 || got[0].Seq != 3 {
		t.Fatalf("replay stored %+v %v", got, err)
	}
	if hw, _ := l.HighWater("site"); hw != 3 {
		t.Fatalf("high-water mark %d", hw)
	}
	own, _ := l.Append(New("x", "", "", nil))
	if own.Seq != l.Incarnation()+1 || own.Pos != 4 {
		t.Fatalf("own event %+v", own)
	}
	if _, err := l.Ingest([]Event{{Kind: "no origin"}}, "site"); err == nil {
		t.Fatal("event without origin accepted")
	}
}

// An urgent event is kept once when it arrives ahead of its ordered copy,
// and not at all when the ordered copy is already here.
func TestStoreUrgent(t *testing.T) {
	l, err := OpenLog(filepath.Join(t.TempDir(), "events.db"), "region", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ch, cancel := l.WatchUrgent(4)
	defer cancel()
	alarm := Event{Origin: "site", Seq: 6, Kind: KindAlarmRaised, Severity: SeverityGrave, Path: []string{"site"}}
	if ok, err := l.StoreUrgent(alarm, "site"); !ok || err != nil {
		t.Fatalf("first: %v %v", ok, err)
	}
	if ok, _ := l.StoreUrgent(alarm, "site"); ok {
		t.Fatal("stored twice")
	}
	if got := <-ch; got.ID() != "site/6" {
		t.Fatalf("watch got %v", got.ID())
	}
	for i := uint64(1); i <= 6; i++ {
		if _, err := l.Ingest([]Event{{Origin: "site", Seq: i, Kind: "k"}}, "site"); err != nil {
			t.Fatal(err)
		}
	}
	if ok, _ := l.StoreUrgent(Event{Origin: "site", Seq: 6, Kind: KindAlarmRaised, Severity: SeverityGrave}, "site"); ok {
		t.Fatal("stored an urgent copy of an event already here in order")
	}
	own, _ := l.Append(New(KindAlarmRaised, "", SeverityMedium, nil))
	if got := <-ch; got.ID() != own.ID() || !Urgent(got) {
		t.Fatalf("own urgent alarm not watched: %v", got.ID())
	}
	if Urgent(Event{Kind: KindAlarmRaised, Severity: SeverityMinor}) {
		t.Fatal("a minor alarm is urgent")
	}
	u, _ := l.UrgentEvents()
	if len(u) != 1 || u[0].Path[len(u[0].Path)-1] != "region" {
		t.Fatalf("urgent store %+v", u)
	}
}

// MarksAt's position and marks agree while events are being stored: no
// event at or before the position is beyond the marks, and none after it
// is within them.
func TestMarksAtIsOneView(t *testing.T) {
	site, err := OpenLog(filepath.Join(t.TempDir(), "site.db"), "site", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer site.Close()
	var events []Event
	for range 400 {
		e, err := site.Append(New("test.tick", "", "", nil))
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, e)
	}
	l, err := OpenLog(filepath.Join(t.TempDir(), "region.db"), "region", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	done := make(chan error, 1)
	go func() {
		for i := 0; i < len(events); i += 4 {
			if _, err := l.Ingest(events[i:i+4], "site"); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	for range 300 {
		marks, last, err := l.MarksAt()
		if err != nil {
			t.Fatal(err)
		}
		held := site.Incarnation()
		for _, m := range marks {
			if m.Origin == "site" {
				held = m.Seq
			}
		}
		all, err := l.Range(0, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range all {
			if (e.Pos <= last) != (e.Seq <= held) {
				t.Fatalf("position %d and mark %d disagree on %s at %d", last, held, e.ID(), e.Pos)
			}
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
