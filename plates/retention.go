package plates

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// The index follows the event log's retention: a read whose plate.read
// event the log no longer holds is taken out of the index too, so search
// never finds what it could not show, and plates.db levels off with
// events.db.

// pruneStep bounds one pruning transaction.
const pruneStep = 5000

// Prune removes the reads indexed at log positions below first (the log's
// first position after its retention ran), with their uncertain-queue
// entries and counts. It returns how many it removed.
func (x *Index) Prune(first uint64) (int, error) {
	// an index written before reads were filed by position is filed here,
	// in the retention's loop, not when the node starts
	if err := x.fillByPos(); err != nil {
		return 0, fmt.Errorf("file the plate index's reads by position: %w", err)
	}
	n := 0
	for {
		more := false
		err := x.db.Update(func(tx *bolt.Tx) error {
			byPos, byRead, byPlate := tx.Bucket(bucketByPos), tx.Bucket(bucketByRead), tx.Bucket(bucketByPlate)
			c := byPos.Cursor()
			i := 0
			for k, id := c.First(); len(k) == 8 && binary.BigEndian.Uint64(k) < first; k, id = c.First() {
				if i == pruneStep {
					more = true
					return nil
				}
				i++
				if pk := byRead.Get(id); pk != nil {
					var e Entry
					if err := json.Unmarshal(byPlate.Get(pk), &e); err != nil {
						return fmt.Errorf("decode indexed read %s: %w", id, err)
					}
					for _, del := range []struct {
						b *bolt.Bucket
						k []byte
					}{{byPlate, pk}, {byRead, id}, {tx.Bucket(bucketQueue), queueKey(e)}} {
						if err := del.b.Delete(append([]byte(nil), del.k...)); err != nil {
							return err
						}
					}
					if err := count(tx, e.Plate, -1); err != nil {
						return err
					}
				}
				if err := c.Delete(); err != nil {
					return err
				}
				n++
			}
			return nil
		})
		if err != nil {
			return n, fmt.Errorf("prune plate index below %d: %w", first, err)
		}
		if !more {
			return n, nil
		}
	}
}

var (
	keyByPosAfter = []byte("by_pos_after") // the last read filed by position so far
	keyByPosDone  = []byte("by_pos_done")  // every read is filed by position
)

// fillStep bounds one transaction of fillByPos: a national centre's
// index holds tens of millions of reads.
const fillStep = 50000

// fillByPos files by position the reads of an index written before reads
// were kept by position, in bounded transactions that resume where a
// previous run stopped (once: every read indexed meanwhile is put there
// as it is indexed). 10 M reads take about 6 minutes.
func (x *Index) fillByPos() error {
	for done := false; !done; {
		err := x.db.Update(func(tx *bolt.Tx) error {
			meta := tx.Bucket(bucketMeta)
			if meta.Get(keyByPosDone) != nil {
				done = true
				return nil
			}
			byPos := tx.Bucket(bucketByPos)
			c := tx.Bucket(bucketByPlate).Cursor()
			k, v := c.First()
			if after := meta.Get(keyByPosAfter); after != nil {
				if k, v = c.Seek(after); bytes.Equal(k, after) {
					k, v = c.Next()
				}
			}
			var last []byte
			for n := 0; k != nil && n < fillStep; k, v = c.Next() {
				var e Entry
				if err := json.Unmarshal(v, &e); err != nil {
					return fmt.Errorf("decode indexed read: %w", err)
				}
				if err := byPos.Put(binary.BigEndian.AppendUint64(nil, e.Pos), []byte(e.ID)); err != nil {
					return err
				}
				last, n = k, n+1
			}
			if k == nil {
				done = true
				if err := meta.Delete(keyByPosAfter); err != nil {
					return err
				}
				return meta.Put(keyByPosDone, []byte{1})
			}
			return meta.Put(keyByPosAfter, append([]byte(nil), last...))
		})
		if err != nil {
			return err
		}
	}
	return nil
}
