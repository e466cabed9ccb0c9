package plates

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kuzet/kuzet/event"
)

func TestCheckWatch(t *testing.T) {
	e := WatchEntry{Plate: " 123 abc-02 ", Reason: " stolen "}
	if err := CheckWatch(&e); err != nil || e.Plate != "123ABC02" || e.Match != "exact" || e.Severity != event.SeverityMedium || e.Reason != "stolen" {
		t.Fatalf("%+v %v", e, err)
	}
	for _, bad := range []struct {
		e    WatchEntry
		says string
	}{
		{WatchEntry{Plate: "1", Reason: "x"}, "plate:"},
		{WatchEntry{Plate: "123ABC02", Reason: "x", Match: "regex"}, "match:"},
		{WatchEntry{Plate: "12", Reason: "x", Match: "prefix"}, "prefix needs"},
		{WatchEntry{Plate: "123ABC02", Reason: "x", Severity: "fatal"}, "severity:"},
		{WatchEntry{Plate: "123ABC02"}, "reason:"},
		{WatchEntry{Plate: "123ABC02", Reason: strings.Repeat("x", 301)}, "reason:"},
	} {
		if err := CheckWatch(&bad.e); err == nil || !strings.Contains(err.Error(), bad.says) {
			t.Errorf("%+v: %v, want %q", bad.e, err, bad.says)
		}
	}
}

func TestWatchMatches(t *testing.T) {
	exp := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		e     WatchEntry
		plate string
		at    time.Time
		want  bool
	}{
		{WatchEntry{Plate: "123ABC02", Match: "exact"}, "123ABC02", exp, true},
		{WatchEntry{Plate: "123ABC02", Match: "exact"}, "123ABC03", exp, false},
		{WatchEntry{Plate: "123ABC", Match: "prefix"}, "123ABC02", exp, true},
		{WatchEntry{Plate: "123ABC", Match: "prefix"}, "23ABC02", exp, false},
		{WatchEntry{Plate: "123ABC02", Match: "fuzzy"}, "123A8C02", exp, true},
		{WatchEntry{Plate: "123ABC02", Match: "fuzzy"}, "12ABC2", exp, false},
		{WatchEntry{Plate: "123ABC02", Match: "exact", Expires: exp}, "123ABC02", exp.Add(-time.Second), true},
		{WatchEntry{Plate: "123ABC02", Match: "exact", Expires: exp}, "123ABC02", exp, false},
	} {
		if got := c.e.Matches(c.plate, c.at); got != c.want {
			t.Errorf("%+v ~ %s at %v = %v", c.e, c.plate, c.at, got)
		}
	}
}

// The list is folded from the owner's log in order: an entry matches the
// reads stored after it (the subtree's too), reads from before the list
// started are history, another node's list is not this one's, a removed
// entry matches nothing more, and each hit waits until it is raised.
func TestWatchListFoldsAndHits(t *testing.T) {
	dir := t.TempDir()
	log, err := event.OpenLog(filepath.Join(dir, "events.db"), "centre", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	x, err := Open(filepath.Join(dir, "plates.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	seq := uint64(0)
	read := func(plate string) event.Event {
		t.Helper()
		seq++
		e := event.New(KindPlateRead, "Camera1", "", map[string]any{"plate": plate, "confidence": 0.9})
		e.Origin, e.Seq, e.Time, e.Path = "site-a", seq, time.Now().UTC(), []string{"site-a"}
		if _, err := log.Ingest([]event.Event{e}, "site-a"); err != nil {
			t.Fatal(err)
		}
		return e
	}
	own := func(kind string, p any) {
		t.Helper()
		if _, err := log.Append(event.New(kind, "", "", p)); err != nil {
			t.Fatal(err)
		}
	}
	sync := func() {
		t.Helper()
		if err := x.Sync(log, KindPlateRead); err != nil {
			t.Fatal(err)
		}
	}
	// a watched plate read before the list started, with the entry set
	// before it: history
	own(KindWatchSet, WatchEntry{ID: "w1", Plate: "123ABC02", Match: "fuzzy", Reason: "stolen", Severity: event.SeverityGrave})
	read("123ABC02")
	if err := x.SetOwner("centre", log.Last()); err != nil {
		t.Fatal(err)
	}
	sync()
	if hits, _, _ := x.PendingHits(10); len(hits) != 0 {
		t.Fatalf("history raised %d hits", len(hits))
	}
	list, _ := x.Watchlist()
	if len(list) != 1 || list[0].Hits != 1 {
		t.Fatalf("list after history: %+v", list)
	}
	// now: a fuzzy hit, a plate that does not match, another node's list
	read("123A8C02")
	read("777KZA02")
	ev := event.New(KindWatchSet, "", "", WatchEntry{ID: "w9", Plate: "777KZA02", Reason: "the site's own"})
	ev.Origin, ev.Seq, ev.Time, ev.Path = "site-a", 99, time.Now().UTC(), []string{"site-a"}
	if _, err := log.Ingest([]event.Event{ev}, "site-a"); err != nil {
		t.Fatal(err)
	}
	read("777KZA02")
	sync()
	hits, keys, err := x.PendingHits(10)
	if err != nil || len(hits) != 1 || hits[0].Read != "site-a/2" || hits[0].Entry.ID != "w1" || hits[0].Plate != "123A8C02" || hits[0].Origin != "site-a" {
		t.Fatalf("hits: %+v %v", hits, err)
	}
	if err := x.HitRaised(keys[0]); err != nil {
		t.Fatal(err)
	}
	if hits, _, _ := x.PendingHits(10); len(hits) != 0 {
		t.Fatalf("a raised hit is still pending: %+v", hits)
	}
	// removed: no more hits
	own(KindWatchRemoved, map[string]string{"id": "w1"})
	read("123ABC02")
	sync()
	if hits, _, _ := x.PendingHits(10); len(hits) != 0 {
		t.Fatalf("a removed entry hit: %+v", hits)
	}
	if list, _ := x.Watchlist(); len(list) != 0 {
		t.Fatalf("list after removal: %+v", list)
	}
}
