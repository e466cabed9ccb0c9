package checkpoint

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/kuzet/kuzet/event"
)

// Visits closed before the horizon leave the index with their plate and
// sighting keys; open ones stay however old, and later ones stay.
func TestPruneVisits(t *testing.T) {
	dir := t.TempDir()
	l, err := event.OpenLog(filepath.Join(dir, "centre.db"), "centre", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	x := openIdx(t, dir)
	defer x.Close()
	var in []event.Event
	seq := uint64(0)
	step := func(kind string, st Step) {
		seq++
		e := event.New(kind, st.Camera, event.SeverityInfo, st)
		e.Origin, e.Seq, e.Time = "site-a", seq, st.Time
		in = append(in, e)
	}
	// visits v0..v2999 open at minute i and close at minute i+2; v3000
	// opens first of all and never closes
	step(KindVisitOpened, Step{Visit: "site-a/open", Sighting: "site-a/open", Zone: "gate-in", ZoneKind: ZoneEntry, Tractor: "OPEN01", Time: at(-10), EntrySeen: true})
	for i := range 3000 {
		id := fmt.Sprintf("site-a/v%d", i)
		plate := fmt.Sprintf("%03dABC02", i%500)
		step(KindVisitOpened, Step{Visit: id, Sighting: id, Zone: "gate-in", ZoneKind: ZoneEntry, Tractor: plate, Time: at(i), EntrySeen: true})
		step(KindVisitClosed, Step{Visit: id, Sighting: id + "x", Zone: "gate-out", ZoneKind: ZoneExit, Tractor: plate, Time: at(i + 2)})
	}
	if _, err := l.Ingest(in, "site-a"); err != nil {
		t.Fatal(err)
	}
	if err := x.Sync(l); err != nil {
		t.Fatal(err)
	}
	// closed before minute 2502: v0..v2499
	n, err := x.PruneVisits(at(2502))
	if err != nil || n != 2500 {
		t.Fatalf("pruned %d %v, want 2500", n, err)
	}
	all, _ := x.Find(Query{Limit: 10000})
	if len(all) != 501 {
		t.Fatalf("%d visits left, want 501", len(all))
	}
	if got, _ := x.Find(Query{Plate: "000ABC02", Limit: 100}); len(got) != 1 || got[0].ID != "site-a/v2500" {
		t.Fatalf("by plate: %+v", got)
	}
	if got, _ := x.Find(Query{Plate: "OPEN01"}); len(got) != 1 || !got[0].Open() {
		t.Fatal("the open visit was pruned")
	}
	if ok, _ := x.Handled("site-a/v0"); ok {
		t.Fatal("a pruned visit's sighting is still known")
	}
	if again, _ := x.PruneVisits(at(2502)); again != 0 {
		t.Fatalf("pruned %d again", again)
	}
}
