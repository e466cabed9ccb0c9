package plates

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/kuzet/kuzet/event"
)

// queueLog is a parent's log: reads of two sites (some confident, some
// not) and the parent's own reviews.
func queueLog(t *testing.T, dir string) (*event.Log, time.Time) {
	t.Helper()
	log, err := event.OpenLog(filepath.Join(dir, "events.db"), "centre", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { log.Close() })
	t0 := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	type read struct {
		camera, plate string
		conf          any // nil: the payload has no confidence
		min           int // minutes after t0
	}
	for _, site := range []struct {
		origin string
		reads  []read
	}{
		{"site-a", []read{
			{"Camera1", "123ABC02", 0.97, 0}, // site-a/1: confident
			{"Camera1", "123ABD02", 0.61, 7}, // site-a/2
			{"Camera2", "777KZ02", 0.42, 14}, // site-a/3
			{"Camera1", "A123BC77", 0.9, 21}, // site-a/4: at the threshold, not below
		}},
		{"site-b", []read{
			{"Camera1", "AA1234BB", 0.55, 1}, // site-b/1
			{"Camera1", "456KTA05", nil, 3},  // site-b/2: no confidence: uncertain
		}},
	} {
		var evs []event.Event
		for i, r := range site.reads {
			p := map[string]any{"plate": r.plate}
			if r.conf != nil {
				p["confidence"] = r.conf
			}
			e := event.New("plate.read", r.camera, "", p)
			e.Origin, e.Seq, e.Path, e.Time = site.origin, uint64(i+1), []string{site.origin}, t0.Add(time.Duration(r.min)*time.Minute)
			evs = append(evs, e)
		}
		if _, err := log.Ingest(evs, site.origin); err != nil {
			t.Fatal(err)
		}
	}
	return log, t0
}

func queueIDs(t *testing.T, x *Index, q UncertainQuery) ([]string, int) {
	t.Helper()
	es, total, err := x.Uncertain(q)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range es {
		ids = append(ids, e.ID)
	}
	return ids, total
}

func checkQueue(t *testing.T, x *Index, q UncertainQuery, total int, want ...string) {
	t.Helper()
	got, n := queueIDs(t, x, q)
	if !reflect.DeepEqual(got, want) || n != total {
		t.Errorf("%+v: %v (total %d), want %v (total %d)", q, got, n, want, total)
	}
}

// The queue holds the unreviewed reads below the threshold of every
// origin this node indexes, newest first, filtered by node, camera and
// time; a confirmation or a correction takes a read out, whichever node
// stored it, even one that arrives before its read.
func TestUncertainQueue(t *testing.T) {
	dir := t.TempDir()
	log, t0 := queueLog(t, dir)
	x, err := OpenWith(filepath.Join(dir, "plates.db"), Options{ReviewBelow: 0.9})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	if err := x.Sync(log, "plate.read"); err != nil {
		t.Fatal(err)
	}
	checkQueue(t, x, UncertainQuery{}, 4, "site-a/3", "site-a/2", "site-b/2", "site-b/1")
	checkQueue(t, x, UncertainQuery{Limit: 2}, 4, "site-a/3", "site-a/2")
	checkQueue(t, x, UncertainQuery{CountOnly: true}, 4)
	checkQueue(t, x, UncertainQuery{Node: "site-b"}, 2, "site-b/2", "site-b/1")
	checkQueue(t, x, UncertainQuery{Node: "site-a", Camera: "Camera1"}, 1, "site-a/2")
	checkQueue(t, x, UncertainQuery{Camera: "Camera1", Limit: 1}, 3, "site-a/2")
	checkQueue(t, x, UncertainQuery{From: t0.Add(3 * time.Minute), To: t0.Add(14 * time.Minute)}, 2, "site-a/2", "site-b/2")
	checkQueue(t, x, UncertainQuery{From: t0.Add(3 * time.Minute), CountOnly: true}, 3)
	checkQueue(t, x, UncertainQuery{Node: "site-c"}, 0)
	if e, ok, _ := x.Lookup("site-a/2"); !ok || e.Confidence != 0.61 || e.Reviewed || !x.Queued(e) {
		t.Errorf("site-a/2 indexed as %+v", e)
	}
	if e, _, _ := x.Lookup("site-a/4"); x.Queued(e) {
		t.Error("a read at the threshold is queued")
	}

	// the centre confirms site-a/3 and corrects site-b/1
	for _, c := range []Correction{
		{Read: "site-a/3", Plate: "777KZ02", Previous: "777KZ02", User: "olga", Confirmed: true},
		{Read: "site-b/1", Plate: "AA1284BB", Previous: "AA1234BB", User: "olga"},
	} {
		if _, err := log.Append(event.New(KindCorrected, "Camera1", "", c)); err != nil {
			t.Fatal(err)
		}
	}
	if err := x.Sync(log, "plate.read"); err != nil {
		t.Fatal(err)
	}
	checkQueue(t, x, UncertainQuery{}, 2, "site-a/2", "site-b/2")
	e, _, _ := x.Lookup("site-a/3")
	if !e.Reviewed || e.Corrected == nil || !e.Corrected.Confirmed || e.Plate != "777KZ02" {
		t.Errorf("confirmed read: %+v", e)
	}
	if got, _ := x.Search(Query{Plate: "AA1284BB"}); len(got) != 1 || !got[0].Reviewed {
		t.Errorf("corrected read: %+v", got)
	}

	// a correction whose read is not indexed yet waits for it
	if err := x.db.Update(func(tx *bolt.Tx) error {
		return x.correct(tx, Correction{Read: "site-b/3", Plate: "KZ001", Previous: "KZ00I", User: "site-op"})
	}); err != nil {
		t.Fatal(err)
	}
	late := event.New("plate.read", "Camera1", "", map[string]any{"plate": "KZ00I", "confidence": 0.3})
	late.Origin, late.Seq, late.Time, late.Path = "site-b", 3, t0.Add(30*time.Minute), []string{"site-b"}
	if _, err := log.Ingest([]event.Event{late}, "site-b"); err != nil {
		t.Fatal(err)
	}
	if err := x.Sync(log, "plate.read"); err != nil {
		t.Fatal(err)
	}
	checkQueue(t, x, UncertainQuery{}, 2, "site-a/2", "site-b/2")
	if e, ok, _ := x.Lookup("site-b/3"); !ok || e.Plate != "KZ001" || !e.Reviewed {
		t.Errorf("read corrected before it arrived: %+v", e)
	}
}

// A lost index file is rebuilt from the log with the same queue; an index
// of the older layout is rebuilt too; another threshold re-files the
// queue from the entries.
func TestUncertainQueueRebuilt(t *testing.T) {
	dir := t.TempDir()
	log, _ := queueLog(t, dir)
	if _, err := log.Append(event.New(KindCorrected, "Camera1", "", Correction{Read: "site-a/2", Plate: "123ABC02", Previous: "123ABD02", User: "olga"})); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "plates.db")
	snapshot := func(x *Index) ([]Entry, int) {
		t.Helper()
		es, n, err := x.Uncertain(UncertainQuery{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		return es, n
	}
	x, err := OpenWith(path, Options{ReviewBelow: 0.9})
	if err != nil {
		t.Fatal(err)
	}
	if err := x.Sync(log, "plate.read"); err != nil {
		t.Fatal(err)
	}
	before, n := snapshot(x)
	if n != 3 {
		t.Fatalf("queue of %d, want 3: %+v", n, before)
	}
	x.Close()

	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	x, err = OpenWith(path, Options{ReviewBelow: 0.9})
	if err != nil {
		t.Fatal(err)
	}
	if es, n := snapshot(x); n != 0 || len(es) != 0 {
		t.Fatalf("a new index has a queue: %+v", es)
	}
	if err := x.Sync(log, "plate.read"); err != nil {
		t.Fatal(err)
	}
	if after, n2 := snapshot(x); n2 != n || !reflect.DeepEqual(after, before) {
		t.Errorf("rebuilt queue differs:\n%+v\n%+v", after, before)
	}

	// an index of the first layout (no confidences): emptied and rebuilt
	if err := x.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Delete(keySchema) }); err != nil {
		t.Fatal(err)
	}
	x.Close()
	x, err = OpenWith(path, Options{ReviewBelow: 0.9})
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := x.Position(); p != 0 {
		t.Errorf("old layout kept at position %d", p)
	}
	if err := x.Sync(log, "plate.read"); err != nil {
		t.Fatal(err)
	}
	if after, _ := snapshot(x); !reflect.DeepEqual(after, before) {
		t.Errorf("queue after a layout change differs:\n%+v\n%+v", after, before)
	}
	x.Close()

	// another threshold: the queue is filed again without the log
	x, err = OpenWith(path, Options{ReviewBelow: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	checkQueue(t, x, UncertainQuery{}, 2, "site-a/3", "site-b/2")
	x.Close()
	x, err = OpenWith(path, Options{ReviewBelow: 1})
	if err != nil {
		t.Fatal(err)
	}
	checkQueue(t, x, UncertainQuery{}, 5, "site-a/4", "site-a/3", "site-b/2", "site-b/1", "site-a/1")
	x.Close()
	x, err = OpenWith(path, Options{ReviewBelow: 0})
	if err != nil {
		t.Fatal(err)
	}
	checkQueue(t, x, UncertainQuery{}, 0)
	var stored uint64
	_ = x.db.View(func(tx *bolt.Tx) error {
		stored = binary.BigEndian.Uint64(tx.Bucket(bucketMeta).Get(keyReviewBelow))
		return nil
	})
	if stored != 0 {
		t.Errorf("threshold stored as %x", stored)
	}
	x.Close()
	for _, bad := range []float64{-0.1, 1.5} {
		if _, err := OpenWith(path, Options{ReviewBelow: bad}); err == nil {
			t.Errorf("threshold %v accepted", bad)
		}
	}
}
