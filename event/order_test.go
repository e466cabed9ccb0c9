package event

import (
	"encoding/binary"
	"encoding/json"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// A receiver stores only the next event of an incarnation: a gap is
// reported with the mark held and nothing past it is stored, so a sender
// whose cursor skipped events cannot make the receiver skip them too.
func TestIngestRefusesGaps(t *testing.T) {
	l, err := OpenLog(filepath.Join(t.TempDir(), "events.db"), "centre", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ev := func(seq uint64) Event { return Event{Origin: "site", Seq: seq, Kind: "k", Path: []string{"site"}} }
	stored, gaps, err := l.IngestOrdered([]Event{ev(1), ev(2), ev(5), ev(3), {Origin: "other", Seq: 1, Kind: "k"}}, "region")
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) != 3 || stored[2].Origin != "other" || len(gaps) != 1 || gaps[0] != (Mark{Origin: "site", Seq: 2}) {
		t.Fatalf("stored %+v gaps %+v", stored, gaps)
	}
	// a forged far-future sequence number silences nobody
	if _, gaps, _ = l.IngestOrdered([]Event{ev(1_000_000_000)}, "region"); len(gaps) != 1 {
		t.Fatalf("forged seq: gaps %+v", gaps)
	}
	if stored, gaps, _ = l.IngestOrdered([]Event{ev(3), ev(4), ev(5)}, "region"); len(stored) != 3 || len(gaps) != 0 {
		t.Fatalf("after the gap filled: stored %d gaps %+v", len(stored), gaps)
	}
	if hw, _ := l.Held("site", 0); hw != 5 {
		t.Fatalf("held %d", hw)
	}
	pos, ok, err := l.PosOf("site", 0, 4)
	if err != nil || !ok {
		t.Fatal("site/4 not indexed", err)
	}
	if got, _ := l.Get(pos); len(got) != 1 || got[0].Seq != 4 {
		t.Fatalf("PosOf(site/4) = %d: %+v", pos, got)
	}
	if _, err := l.Ingest([]Event{{Origin: "site", Inc: 100, Seq: 100, Kind: "k"}}, "region"); err == nil {
		t.Fatal("an event at its incarnation number (not above it) was accepted")
	}
}

// A node that lost its store comes back as a new incarnation: its events
// are stored in their own sequence space beside the old one's, never taken
// for replays of it, and stragglers of the old incarnation still land.
func TestIncarnations(t *testing.T) {
	dir := t.TempDir()
	site, err := OpenLog(filepath.Join(dir, "site1.db"), "site", nil)
	if err != nil {
		t.Fatal(err)
	}
	centre, err := OpenLog(filepath.Join(dir, "centre.db"), "centre", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer centre.Close()
	var old []Event
	for range 5 {
		e, _ := site.Append(New("k", "", "", nil))
		old = append(old, e)
	}
	site.Close()
	if _, err := centre.Ingest(old[:3], "site"); err != nil {
		t.Fatal(err)
	}
	// the disk is lost: the same ID starts again, later
	site2, err := OpenLog(filepath.Join(dir, "site2.db"), "site", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer site2.Close()
	site2.inc = old[0].Inc + 7000*seqsPerMilli // as if created seven seconds later
	site2.lastSeq = site2.inc
	var fresh []Event
	for range 4 {
		e, _ := site2.Append(New("k", "", "", nil))
		fresh = append(fresh, e)
	}
	if fresh[0].Seq <= old[4].Seq {
		t.Fatalf("new incarnation's first seq %d does not follow the old one's last %d", fresh[0].Seq, old[4].Seq)
	}
	stored, err := centre.Ingest(fresh, "site")
	if err != nil || len(stored) != 4 {
		t.Fatalf("new incarnation: stored %d of 4 (%v)", len(stored), err)
	}
	stored, err = centre.Ingest(old[3:], "site")
	if err != nil || len(stored) != 2 {
		t.Fatalf("old incarnation's stragglers: stored %d of 2 (%v)", len(stored), err)
	}
	marks, _ := centre.Marks()
	got := map[uint64]uint64{}
	for _, m := range marks {
		if m.Origin == "site" {
			got[m.Inc] = m.Seq
		}
	}
	if len(got) != 2 || got[old[0].Inc] != old[4].Seq || got[fresh[0].Inc] != fresh[3].Seq {
		t.Fatalf("marks %+v", marks)
	}
}

// A log written before incarnations keeps incarnation 0 and its numbering;
// its marks and identity index are rebuilt on open.
func TestOldLogMigrates(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		evs, _ := tx.CreateBucket(bucketEvents)
		hwm, _ := tx.CreateBucket(bucketHWM)
		for i, e := range []Event{{Origin: "region", Seq: 1}, {Origin: "site", Seq: 1}, {Origin: "site", Seq: 2}, {Origin: "region", Seq: 2}} {
			b, _ := json.Marshal(e)
			if err := evs.Put(u64(uint64(i+1)), b); err != nil {
				return err
			}
		}
		_ = hwm.Put([]byte("site"), u64(2))
		return hwm.Put([]byte("region"), u64(2))
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	l, err := OpenLog(path, "region", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if l.Incarnation() != 0 || l.Fresh() {
		t.Fatalf("old log: incarnation %d fresh %v", l.Incarnation(), l.Fresh())
	}
	e, _ := l.Append(New("k", "", "", nil))
	if e.Seq != 3 || e.Inc != 0 {
		t.Fatalf("own numbering did not continue: %+v", e)
	}
	if pos, ok, _ := l.PosOf("site", 0, 2); !ok || pos != 3 {
		t.Fatalf("site/2 at %d (%v)", pos, ok)
	}
	if stored, _ := l.Ingest([]Event{{Origin: "site", Seq: 2}, {Origin: "site", Seq: 3}}, "site"); len(stored) != 1 {
		t.Fatalf("after migration: stored %d, want only site/3", len(stored))
	}
	_ = l.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketHWM).Get([]byte("site")); v != nil {
			t.Errorf("old mark left: %d", binary.BigEndian.Uint64(v))
		}
		return nil
	})
}
