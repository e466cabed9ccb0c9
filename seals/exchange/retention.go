package exchange

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The store keeps what the exchange needs for Options.Keep (default a
// year): the log and its dedupe keys (a partner's retry is recognised for
// that long), readings, tracking records, crossings and the shipments
// whose tracking ended. A message still waiting in an outbox is kept
// however old. Pruning runs hourly, in batches, so that a large store
// never holds one long write transaction.

// DefaultKeep is how long the exchange keeps what it stored.
const DefaultKeep = 365 * 24 * time.Hour

// pruneBatch bounds the deletions of one transaction.
const pruneBatch = 5000

func (x *Exchange) pruneLoop(ctx context.Context) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if n, err := x.Prune(); err != nil {
			x.log.Error("seal exchange: pruning the store failed", "err", err)
		} else if n > 0 {
			x.log.Info("seal exchange: store pruned", "deleted", n, "older_than", x.opt.Keep)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Prune deletes what is older than Options.Keep and returns how many
// entries went.
func (x *Exchange) Prune() (int, error) {
	cutoff := x.opt.Now().Add(-x.opt.Keep)
	total := 0
	for _, step := range []func(*bolt.Tx, time.Time) (int, bool, error){pruneLog, pruneTimed(bucketReadings, 1), pruneTimed(bucketTracks, 1),
		pruneTimed(bucketSealCrossings, 1), pruneEnded} {
		for {
			var n int
			var more bool
			err := x.db.Update(func(tx *bolt.Tx) error {
				var err error
				n, more, err = step(tx, cutoff)
				return err
			})
			if err != nil {
				return total, err
			}
			total += n
			if !more {
				break
			}
		}
	}
	return total, nil
}

// pruneLog deletes log records older than cutoff, oldest first, with
// their dedupe and sent keys; a queued one is passed over.
func pruneLog(tx *bolt.Tx, cutoff time.Time) (int, bool, error) {
	n := 0
	c := tx.Bucket(bucketLog).Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if n == pruneBatch {
			return n, true, nil
		}
		var r Record
		if err := json.Unmarshal(v, &r); err != nil {
			continue
		}
		if !r.At.Before(cutoff) {
			break // the log is in the order things were stored
		}
		if r.Status == StatusQueued {
			continue
		}
		if r.Dir == "in" {
			if err := tx.Bucket(bucketSeen).Delete(key([]byte(r.Peer), []byte(r.Message.ID))); err != nil {
				return n, false, err
			}
		} else if err := tx.Bucket(bucketSent).Delete([]byte(r.Message.ID)); err != nil {
			return n, false, err
		}
		if err := c.Delete(); err != nil {
			return n, false, err
		}
		n++
	}
	return n, false, nil
}

// pruneTimed deletes the entries of a bucket keyed "id NUL unix nanos
// ..." (the field-th after the ID) older than cutoff.
func pruneTimed(bucket []byte, field int) func(*bolt.Tx, time.Time) (int, bool, error) {
	return func(tx *bolt.Tx, cutoff time.Time) (int, bool, error) {
		b := tx.Bucket(bucket)
		var old [][]byte
		c := b.Cursor()
		for k, _ := c.First(); k != nil && len(old) < pruneBatch; k, _ = c.Next() {
			if at, ok := keyTime(k, field); ok && at.Before(cutoff) {
				old = append(old, append([]byte(nil), k...))
			}
		}
		for _, k := range old {
			if bytes.Equal(bucket, bucketSealCrossings) {
				if ck := b.Get(k); ck != nil {
					if err := tx.Bucket(bucketCrossings).Delete(ck); err != nil {
						return 0, false, err
					}
				}
			}
			if err := b.Delete(k); err != nil {
				return 0, false, err
			}
		}
		return len(old), len(old) == pruneBatch, nil
	}
}

// keyTime reads the 8-byte time after the field-th NUL of a key (IDs
// hold no NUL; a time may).
func keyTime(k []byte, field int) (time.Time, bool) {
	i := 0
	for f := 0; f < field; f++ {
		j := bytes.IndexByte(k[i:], 0)
		if j < 0 {
			return time.Time{}, false
		}
		i += j + 1
	}
	if len(k) < i+8 {
		return time.Time{}, false
	}
	return time.Unix(0, int64(binary.BigEndian.Uint64(k[i:i+8]))), true
}

// pruneEnded deletes shipments whose tracking ended before cutoff, with
// their plates and anomalies.
func pruneEnded(tx *bolt.Tx, cutoff time.Time) (int, bool, error) {
	var ended []Binding
	c := tx.Bucket(bucketBindings).Cursor()
	for k, v := c.First(); k != nil && len(ended) < pruneBatch; k, v = c.Next() {
		var bd Binding
		if json.Unmarshal(v, &bd) == nil && bd.Until != nil && bd.Until.Before(cutoff) {
			ended = append(ended, bd)
		}
	}
	for _, bd := range ended {
		if err := indexPlates(tx, &bd, &Binding{}); err != nil {
			return 0, false, err
		}
		if err := closeAll(tx, bd.Seal, bd.Shipment); err != nil {
			return 0, false, err
		}
		if err := tx.Bucket(bucketBindings).Delete(key([]byte(bd.Seal), []byte(bd.Shipment))); err != nil {
			return 0, false, err
		}
	}
	return len(ended), len(ended) == pruneBatch, nil
}
