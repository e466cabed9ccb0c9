package event

import (
	"bytes"
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Marks lists how far this log holds every incarnation of every origin,
// its own included.
func (l *Log) Marks() ([]Mark, error) {
	var out []Mark
	err := l.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketHWM).ForEach(func(k, v []byte) error {
			if o, inc, ok := parseMarkKey(k); ok && len(v) == 8 {
				out = append(out, Mark{Origin: o, Inc: inc, Seq: binary.BigEndian.Uint64(v)})
			}
			return nil
		})
	})
	return out, err
}

// MarksAt is Marks together with the last position they cover, read in
// one transaction: every event at or before that position is within the
// marks, and any event stored later lies after it. A sender that reads the
// two apart can take an event stored in between for one already held.
func (l *Log) MarksAt() ([]Mark, uint64, error) {
	var out []Mark
	var last uint64
	err := l.db.View(func(tx *bolt.Tx) error {
		if k, _ := tx.Bucket(bucketEvents).Cursor().Last(); len(k) == 8 {
			last = binary.BigEndian.Uint64(k)
		}
		return tx.Bucket(bucketHWM).ForEach(func(k, v []byte) error {
			if o, inc, ok := parseMarkKey(k); ok && len(v) == 8 {
				out = append(out, Mark{Origin: o, Inc: inc, Seq: binary.BigEndian.Uint64(v)})
			}
			return nil
		})
	})
	return out, last, err
}

// Held returns how far this log holds origin's incarnation inc (inc
// itself when it holds none of it).
func (l *Log) Held(origin string, inc uint64) (uint64, error) {
	m := inc
	err := l.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketHWM).Get(markKey(origin, inc)); len(v) == 8 {
			m = binary.BigEndian.Uint64(v)
		}
		return nil
	})
	return m, err
}

// PosOf returns the local position of origin's event seq of incarnation
// inc; ok is false when this log does not hold it.
func (l *Log) PosOf(origin string, inc, seq uint64) (pos uint64, ok bool, err error) {
	err = l.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketSeqPos).Get(seqPosKey(origin, inc, seq)); len(v) == 8 {
			pos, ok = binary.BigEndian.Uint64(v), true
		}
		return nil
	})
	return pos, ok, err
}

// migrateMarks rewrites high-water marks kept by origin alone (logs made
// before incarnations) as marks of incarnation 0.
func migrateMarks(tx *bolt.Tx) error {
	b := tx.Bucket(bucketHWM)
	var old [][]byte
	if err := b.ForEach(func(k, _ []byte) error {
		if bytes.IndexByte(k, 0) < 0 {
			old = append(old, bytes.Clone(k))
		}
		return nil
	}); err != nil {
		return err
	}
	for _, k := range old {
		v := bytes.Clone(b.Get(k))
		if err := b.Put(markKey(string(k), 0), v); err != nil {
			return fmt.Errorf("migrate high-water mark of %s: %w", k, err)
		}
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

const allIndexed = ^uint64(0)

// indexSeqs fills the identity index of a log made before it existed,
// in bounded transactions, resuming where a previous open stopped.
func (l *Log) indexSeqs() error {
	const step = 10000
	for {
		var from uint64
		err := l.db.View(func(tx *bolt.Tx) error {
			if v := tx.Bucket(bucketMeta).Get([]byte("seqpos-indexed")); len(v) == 8 {
				from = binary.BigEndian.Uint64(v)
			}
			return nil
		})
		if err != nil || from == allIndexed {
			return err
		}
		if from >= l.lastPos {
			// from here on every write indexes its own events
			return l.db.Update(func(tx *bolt.Tx) error {
				return tx.Bucket(bucketMeta).Put([]byte("seqpos-indexed"), u64(allIndexed))
			})
		}
		page, err := l.Range(from, step)
		if err != nil {
			return err
		}
		err = l.db.Update(func(tx *bolt.Tx) error {
			b := tx.Bucket(bucketSeqPos)
			for _, e := range page {
				if err := b.Put(seqPosKey(e.Origin, e.Inc, e.Seq), u64(e.Pos)); err != nil {
					return err
				}
			}
			next := l.lastPos
			if len(page) > 0 {
				next = page[len(page)-1].Pos
			}
			return tx.Bucket(bucketMeta).Put([]byte("seqpos-indexed"), u64(next))
		})
		if err != nil {
			return err
		}
	}
}
