package event

import (
	"path/filepath"
	"testing"
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
	for i := 0; i < 3; i++ {
		e, err := l.Append(New(KindCameraState, "Camera1", SeverityInfo, map[string]int{"i": i}))
		if err != nil {
			t.Fatal(err)
		}
		if e.Seq != uint64(i+1) || e.ID() != "site-a/"+string(rune('1'+i)) || e.Path[0] != "site-a" {
			t.Fatalf("event %d = %+v", i, e)
		}
	}
	if got := <-ch; got.Seq != 1 {
		t.Fatalf("watch got %+v", got)
	}
	l.Close()

	l, err = OpenLog(path, "site-a", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if l.Last() != 3 {
		t.Fatalf("last after reopen = %d", l.Last())
	}
	e, _ := l.Append(New(KindAlarmRaised, "", SeverityGrave, Alarm{Key: "k", Type: "t", Message: "m"}))
	if e.Seq != 4 {
		t.Fatalf("seq after reopen = %d", e.Seq)
	}
	got, err := l.Range(1, 2)
	if err != nil || len(got) != 2 || got[0].Seq != 2 || got[1].Seq != 3 {
		t.Fatalf("range = %+v %v", got, err)
	}
	all, _ := l.Range(0, 0)
	if len(all) != 4 || all[3].Severity != SeverityGrave {
		t.Fatalf("all = %+v", all)
	}
}
