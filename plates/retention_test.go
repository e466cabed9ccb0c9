package plates

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/kuzet/kuzet/event"
)

// The index drops what the event log dropped: reads below the log's
// first position go, with their queue entries and counts; the rest stay
// searchable, corrected ones included, and the index's file stops growing.
func TestPruneFollowsTheLog(t *testing.T) {
	dir := t.TempDir()
	log, err := event.OpenLog(filepath.Join(dir, "events.db"), "centre", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	x, err := OpenWith(filepath.Join(dir, "plates.db"), Options{ReviewBelow: 0.9})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { x.Close() }()
	t0 := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	var reads []event.Event
	for i := range 12000 {
		e := event.New("plate.read", "Camera1", "", map[string]any{"plate": fmt.Sprintf("%03dABC02", i%7), "confidence": 0.5 + float64(i%2)/2})
		e.Origin, e.Seq, e.Time, e.Path = "site-a", uint64(i+1), t0.Add(time.Duration(i)*time.Second), []string{"site-a"}
		reads = append(reads, e)
	}
	if _, err := log.Ingest(reads, "site-a"); err != nil {
		t.Fatal(err)
	}
	if err := x.Sync(log, "plate.read"); err != nil {
		t.Fatal(err)
	}
	// an index written before reads were kept by position gets them
	// filed when it opens
	x.Close()
	db, err := bolt.Open(filepath.Join(dir, "plates.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		if err := tx.DeleteBucket(bucketByPos); err != nil {
			return err
		}
		if err := tx.Bucket(bucketMeta).Delete(keyByPosDone); err != nil {
			return err
		}
		_, err := tx.CreateBucket(bucketByPos)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if x, err = OpenWith(filepath.Join(dir, "plates.db"), Options{ReviewBelow: 0.9}); err != nil {
		t.Fatal(err)
	}
	n, err := x.Prune(10001) // more than one transaction's worth
	if err != nil || n != 10000 {
		t.Fatalf("pruned %d %v, want 10000", n, err)
	}
	var all []Entry
	for p := range 7 {
		got, err := x.Search(Query{Match: Exact, Plate: fmt.Sprintf("%03dABC02", p), Limit: 100000})
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, got...)
	}
	if len(all) != 2000 {
		t.Fatalf("%d reads left, want 2000", len(all))
	}
	for _, e := range all {
		if e.Pos < 10001 {
			t.Fatalf("read at position %d kept", e.Pos)
		}
	}
	if _, ok, _ := x.Lookup("site-a/1"); ok {
		t.Fatal("a pruned read is still found by its ID")
	}
	q, total, err := x.Uncertain(UncertainQuery{Limit: 100000})
	if err != nil || len(q) != 1000 || total != 1000 {
		t.Fatalf("uncertain queue: %d (total %d) %v, want 1000", len(q), total, err)
	}
	if again, _ := x.Prune(10001); again != 0 {
		t.Fatalf("pruned %d again", again)
	}
}

// Ten weeks of a centre's plate reads at two weeks' event retention, the
// index pruned after each daily sweep of the log: plates.db stops
// growing once retention drops as much as arrives.
func TestIndexLevelsOffWithTheLog(t *testing.T) {
	dir := t.TempDir()
	log, err := event.OpenLog(filepath.Join(dir, "events.db"), "centre", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	path := filepath.Join(dir, "plates.db")
	x, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	clk := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	ret := &event.Retainer{Log: log, Keep: 14 * 24 * time.Hour, Now: func() time.Time { return clk }}
	log.Hold("plate index", x.Position)
	seq := uint64(0)
	sizes := map[int]int64{}
	for hour := 0; hour < 10*7*24; hour++ {
		clk = clk.Add(time.Hour)
		var batch []event.Event
		for i := range 60 { // a read a minute
			seq++
			e := event.New("plate.read", "Camera1", "", map[string]any{"plate": fmt.Sprintf("%03dKZ%02d", seq%997, i%20), "confidence": 0.97})
			e.Origin, e.Seq, e.Time, e.Path = "site-a", seq, clk.Add(time.Duration(i)*time.Minute-time.Hour), []string{"site-a"}
			batch = append(batch, e)
		}
		if _, err := log.Ingest(batch, "site-a"); err != nil {
			t.Fatal(err)
		}
		if err := x.Sync(log, "plate.read"); err != nil {
			t.Fatal(err)
		}
		if hour%24 == 23 {
			s, err := ret.Sweep()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := x.Prune(s.First); err != nil {
				t.Fatal(err)
			}
		}
		if hour%(7*24) == 7*24-1 {
			st, _ := os.Stat(path)
			sizes[hour/(7*24)] = st.Size()
		}
	}
	t.Logf("plates.db at the end of each week (bytes): %v", sizes)
	if sizes[9] > sizes[3]*11/10 {
		t.Fatalf("the index keeps growing: %v", sizes)
	}
	got, err := x.Search(Query{Plate: "001KZ01", Match: Exact, Limit: 10000})
	if err != nil || len(got) == 0 {
		t.Fatalf("recent reads not found: %d %v", len(got), err)
	}
	for _, e := range got {
		if clk.Sub(e.Time) > 16*24*time.Hour {
			t.Fatalf("a read of %v kept at %v", e.Time, clk)
		}
	}
}
