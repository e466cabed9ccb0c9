package plates

import (
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/kuzet/kuzet/event"
)

// The one-edit search by lookups finds exactly what comparing the query
// with every indexed plate finds, plates with characters beyond A–Z and
// 0–9 included.
func TestOneEditAwayMatchesTheScan(t *testing.T) {
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
	rng := rand.New(rand.NewPCG(1, 2))
	chars := []rune("ABCEHKMOPTX0123456789京蒙")
	plate := func() string {
		n := 5 + rng.IntN(4)
		rs := make([]rune, n)
		for i := range rs {
			rs[i] = chars[rng.IntN(len(chars))]
		}
		return string(rs)
	}
	var reads []event.Event
	var stored []string
	for i := range 3000 {
		p := plate()
		if i%3 == 0 && len(stored) > 0 {
			// near misses of plates already there
			rs := []rune(stored[rng.IntN(len(stored))])
			rs[rng.IntN(len(rs))] = chars[rng.IntN(len(chars))]
			p = string(rs)
		}
		stored = append(stored, p)
		e := event.New("plate.read", "Camera1", "", map[string]any{"plate": p})
		e.Origin, e.Seq, e.Time, e.Path = "site-a", uint64(i+1), time.Unix(int64(i), 0), []string{"site-a"}
		reads = append(reads, e)
	}
	if _, err := log.Ingest(reads, "site-a"); err != nil {
		t.Fatal(err)
	}
	if err := x.Sync(log, "plate.read"); err != nil {
		t.Fatal(err)
	}
	var distinct []string
	_ = x.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketDistinct).ForEach(func(k, _ []byte) error { distinct = append(distinct, string(k)); return nil })
	})
	for i := range 300 {
		q := stored[rng.IntN(len(stored))]
		switch i % 3 {
		case 1: // a character dropped
			rs := []rune(q)
			j := rng.IntN(len(rs))
			q = string(append(rs[:j:j], rs[j+1:]...))
		case 2: // one added
			q = string(chars[rng.IntN(len(chars))]) + q
		}
		var want []string
		for _, d := range distinct {
			if withinOneEdit(d, q) {
				want = append(want, d)
			}
		}
		var got []string
		_ = x.db.View(func(tx *bolt.Tx) error { got = oneEditAway(tx, q); return nil })
		slices.Sort(want)
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Fatalf("%q: lookups found %v, the scan %v", q, got, want)
		}
	}
}
