package plates

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The uncertain-reads queue holds every read this node indexes (its own
// and, on a parent, its descendants') whose confidence is below the
// threshold and that no operator has confirmed or corrected. A read
// leaves it when a plate.corrected event for it reaches this node's log:
// one stored here, or one from a descendant. Events travel up the tree
// only, so a review at a centre empties the centre's queue and its
// ancestors', never the site's below it.

// UncertainQuery selects from the queue; zero fields do not filter.
type UncertainQuery struct {
	From   time.Time // inclusive
	To     time.Time // exclusive
	Camera string
	Node   string
	// Limit bounds the entries returned (default 100); CountOnly returns
	// none, only the total.
	Limit     int
	CountOnly bool
}

// Uncertain returns the queued reads that match, newest first, at most
// Limit of them, and how many match in all.
func (x *Index) Uncertain(q UncertainQuery) ([]Entry, int, error) {
	if q.Limit <= 0 {
		q.Limit = 100
	}
	if q.CountOnly {
		q.Limit = 0
	}
	var out []Entry
	total := 0
	err := x.db.View(func(tx *bolt.Tx) error {
		qb := tx.Bucket(bucketQueue)
		unfiltered := q.From.IsZero() && q.To.IsZero() && q.Camera == "" && q.Node == ""
		if unfiltered {
			total = qb.Stats().KeyN
		}
		c := qb.Cursor()
		var k, v []byte
		if q.To.IsZero() {
			k, v = c.Last()
		} else {
			end := queueKey(Entry{Time: q.To})
			if k, _ = c.Seek(end); k == nil {
				k, v = c.Last()
			} else {
				k, v = c.Prev()
			}
		}
		byPlate := tx.Bucket(bucketByPlate)
		for ; k != nil; k, v = c.Prev() {
			if unfiltered && len(out) >= q.Limit {
				break // the total is known; nothing more to collect
			}
			if !q.From.IsZero() && bytes.Compare(k, queueKey(Entry{Time: q.From})) < 0 {
				break
			}
			raw := byPlate.Get(v)
			if raw == nil {
				return fmt.Errorf("uncertain queue: %x names no indexed read", v)
			}
			var e Entry
			if err := json.Unmarshal(raw, &e); err != nil {
				return fmt.Errorf("decode indexed read: %w", err)
			}
			if (q.Camera != "" && e.Camera != q.Camera) || (q.Node != "" && e.Origin != q.Node) {
				continue
			}
			if !unfiltered {
				total++
			}
			if len(out) < q.Limit {
				out = append(out, e)
			}
		}
		return nil
	})
	return out, total, err
}
