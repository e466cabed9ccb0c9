package plates

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/kuzet/kuzet/event"
)

func TestWithinOneEdit(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want bool
	}{
		{"123ABC02", "123ABC02", true}, {"123ABC02", "123A8C02", true}, {"123ABC02", "123ABC2", true},
		{"123ABC02", "1123ABC02", true}, {"123ABC02", "123ABC020", true}, {"123ABC02", "12ABC2", false},
		{"123ABC02", "321ABC02", false}, {"", "A", true}, {"AB", "BA", false},
	} {
		if got := withinOneEdit(c.a, c.b); got != c.want {
			t.Errorf("%q ~ %q = %v", c.a, c.b, got)
		}
	}
}

// The index follows the log, answers exact, prefix, one-edit and time-range
// queries newest first, re-files corrected reads, and survives a restart
// without indexing anything twice.
func TestIndexFollowsLogAndCorrections(t *testing.T) {
	dir := t.TempDir()
	log, err := event.OpenLog(filepath.Join(dir, "events.db"), "centre", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	t0 := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	var reads []event.Event
	for i, p := range []string{"123ABC02", "123ABD02", "123ABC02", "777KZ02", "A123BC77"} {
		e := event.New("plate.read", "Camera1", "", map[string]any{"plate": p})
		e.Origin, e.Seq, e.Time, e.Path = "site-a", uint64(i+1), t0.Add(time.Duration(i)*time.Minute), []string{"site-a"}
		reads = append(reads, e)
	}
	if _, err := log.Ingest(reads, "site-a"); err != nil {
		t.Fatal(err)
	}
	x, err := Open(filepath.Join(dir, "plates.db"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { x.Follow(ctx, log, "plate.read", nil); close(done) }()
	wait := func(pos uint64) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			if p, _ := x.Position(); p >= pos {
				return
			}
			if time.Now().After(deadline) {
				t.Fatal("index did not catch up")
			}
		}
	}
	wait(log.Last())
	ids := func(es []Entry) []string {
		var out []string
		for _, e := range es {
			out = append(out, e.ID)
		}
		return out
	}
	check := func(q Query, want ...string) {
		t.Helper()
		got, err := x.Search(q)
		if err != nil {
			t.Fatal(err)
		}
		if g := ids(got); len(g) != len(want) || (len(g) > 0 && !equal(g, want)) {
			t.Errorf("%+v: %v, want %v", q, g, want)
		}
	}
	check(Query{Plate: "123ABC02"}, "site-a/3", "site-a/1")
	check(Query{Plate: "123AB", Match: Prefix}, "site-a/3", "site-a/2", "site-a/1")
	check(Query{Plate: "123ABC02", Match: Fuzzy}, "site-a/3", "site-a/2", "site-a/1")
	check(Query{Plate: "123ABC02", From: t0.Add(time.Minute), To: t0.Add(2 * time.Minute)})
	check(Query{Plate: "123ABC02", From: t0.Add(time.Minute), To: t0.Add(3 * time.Minute)}, "site-a/3")
	check(Query{Plate: "123ABC02", Limit: 1}, "site-a/3")
	check(Query{Plate: "123ABC02", Node: "other"})
	if _, err := x.Search(Query{Plate: "X", Match: "regex"}); err == nil {
		t.Error("an unknown match mode was accepted")
	}

	// an operator corrects the 777KZ02 read
	c := event.New(KindCorrected, "Camera1", "", Correction{Read: "site-a/4", Plate: "777KZA02", Previous: "777KZ02", User: "op"})
	if _, err := log.Append(c); err != nil {
		t.Fatal(err)
	}
	wait(log.Last())
	check(Query{Plate: "777KZ02"})
	check(Query{Plate: "777KZA02"}, "site-a/4")
	if e, ok, _ := x.Lookup("site-a/4"); !ok || e.Plate != "777KZA02" || e.Corrected == nil || e.Corrected.User != "op" {
		t.Fatalf("corrected entry %+v", e)
	}
	cancel()
	<-done
	x.Close()

	// reopened: nothing indexed twice
	x, err = Open(filepath.Join(dir, "plates.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	if n, err := x.catchUp(log, "plate.read"); n != 0 || err != nil {
		t.Fatalf("after reopen catch-up read %d (%v)", n, err)
	}
	check(Query{Plate: "123ABC02"}, "site-a/3", "site-a/1")
}

func equal(a, b []string) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
