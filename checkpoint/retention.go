package checkpoint

import (
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// pruneStep bounds one pruning transaction.
const pruneStep = 2000

// PruneVisits removes the visits that closed before before (the event
// log's retention: their events are gone too), with what finds them by
// time, plate and sighting. Open visits stay, however old. It returns how
// many it removed.
func (x *Index) PruneVisits(before time.Time) (int, error) {
	n := 0
	for {
		more := false
		err := x.db.Update(func(tx *bolt.Tx) error {
			visits, byTime, open := tx.Bucket(bucketVisits), tx.Bucket(bucketByTime), tx.Bucket(bucketOpen)
			var gone [][]byte // by_time keys of the visits removed
			c := byTime.Cursor()
			limit := timeKey(before, "")
			for k, _ := c.First(); k != nil && string(k) < string(limit); k, _ = c.Next() {
				if len(gone) == pruneStep {
					more = true
					break
				}
				id := k[8:]
				if open.Get(id) != nil {
					continue
				}
				var v Visit
				if raw := visits.Get(id); raw != nil {
					if err := json.Unmarshal(raw, &v); err != nil {
						return fmt.Errorf("visit %s: %w", id, err)
					}
					if v.Closed == nil || !v.Closed.Before(before) {
						continue
					}
					if err := forget(tx, v); err != nil {
						return err
					}
				}
				gone = append(gone, append([]byte(nil), k...))
			}
			for _, k := range gone {
				if err := byTime.Delete(k); err != nil {
					return err
				}
			}
			n += len(gone)
			return nil
		})
		if err != nil {
			return n, fmt.Errorf("prune visits closed before %s: %w", before.Format(time.RFC3339), err)
		}
		if !more {
			return n, nil
		}
	}
}

// forget deletes a visit and its plate and sighting keys.
func forget(tx *bolt.Tx, v Visit) error {
	byPlate, sightings := tx.Bucket(bucketByPlate), tx.Bucket(bucketSightings)
	plates := []string{v.Tractor, v.Trailer}
	for _, p := range v.Passages {
		plates = append(plates, p.Tractor, p.Trailer)
		if p.Sighting != "" {
			if err := sightings.Delete([]byte(p.Sighting)); err != nil {
				return err
			}
		}
	}
	for _, p := range plates {
		if p != "" {
			if err := byPlate.Delete(plateKey(p, v.ID)); err != nil {
				return err
			}
		}
	}
	return tx.Bucket(bucketVisits).Delete([]byte(v.ID))
}
