package sftppush

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/kuzet/kuzet/archive"
)

var (
	bucketItems = []byte("items") // sequence -> item, oldest first
	bucketPaths = []byte("paths") // segment path -> sequence, so a replay is not queued twice
	bucketState = []byte("state") // alarm state
	keyAlarm    = []byte("alarm")
)

// item is one segment waiting to be pushed.
type item struct {
	Seg   archive.Segment `json:"segment"`
	Event string          `json:"event"`           // the segment.closed event, for logs
	Tries int             `json:"tries,omitempty"` // failed attempts while the target was reachable
}

// queue is the durable list of segments to push, in its own bbolt file.
type queue struct {
	db   *bolt.DB
	wake chan struct{}

	mu    sync.Mutex
	files int
	bytes int64
}

func openQueue(path string) (*queue, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("open sftp push queue %s: %w", path, err)
	}
	q := &queue{db: db, wake: make(chan struct{}, 1)}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketItems, bucketPaths, bucketState} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return tx.Bucket(bucketItems).ForEach(func(_, v []byte) error {
			var it item
			if err := json.Unmarshal(v, &it); err != nil {
				return err
			}
			q.files++
			q.bytes += it.Seg.Bytes
			return nil
		})
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("read sftp push queue %s: %w", path, err)
	}
	return q, nil
}

func (q *queue) close() error { return q.db.Close() }

// add queues items durably, skipping paths already queued; it returns
// how many were new.
func (q *queue) add(items []item) (int, error) {
	var added int
	var bytes int64
	err := q.db.Update(func(tx *bolt.Tx) error {
		added, bytes = 0, 0
		ib, pb := tx.Bucket(bucketItems), tx.Bucket(bucketPaths)
		for _, it := range items {
			if pb.Get([]byte(it.Seg.Path)) != nil {
				continue
			}
			seq, err := ib.NextSequence()
			if err != nil {
				return err
			}
			raw, err := json.Marshal(it)
			if err != nil {
				return err
			}
			if err := ib.Put(u64(seq), raw); err != nil {
				return err
			}
			if err := pb.Put([]byte(it.Seg.Path), u64(seq)); err != nil {
				return err
			}
			added++
			bytes += it.Seg.Bytes
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("queue %d segments: %w", len(items), err)
	}
	q.mu.Lock()
	q.files += added
	q.bytes += bytes
	q.mu.Unlock()
	if added > 0 {
		select {
		case q.wake <- struct{}{}:
		default:
		}
	}
	return added, nil
}

// first returns the oldest queued item.
func (q *queue) first() (uint64, item, bool, error) {
	var key uint64
	var it item
	found := false
	err := q.db.View(func(tx *bolt.Tx) error {
		k, v := tx.Bucket(bucketItems).Cursor().First()
		if k == nil {
			return nil
		}
		found = true
		key = binary.BigEndian.Uint64(k)
		return json.Unmarshal(v, &it)
	})
	if err != nil {
		return 0, it, false, fmt.Errorf("read sftp push queue: %w", err)
	}
	return key, it, found, nil
}

// done removes a pushed (or abandoned) item.
func (q *queue) done(key uint64, it item) error {
	removed := false
	err := q.db.Update(func(tx *bolt.Tx) error {
		removed = false
		ib := tx.Bucket(bucketItems)
		if ib.Get(u64(key)) == nil {
			return nil
		}
		removed = true
		if err := ib.Delete(u64(key)); err != nil {
			return err
		}
		return tx.Bucket(bucketPaths).Delete([]byte(it.Seg.Path))
	})
	if err != nil {
		return fmt.Errorf("dequeue %s: %w", it.Seg.Path, err)
	}
	if removed {
		q.mu.Lock()
		q.files--
		q.bytes -= it.Seg.Bytes
		q.mu.Unlock()
	}
	return nil
}

// requeue moves an item that failed on a reachable target to the back,
// so one file the target refuses does not hold up the others.
func (q *queue) requeue(key uint64, it item) error {
	it.Tries++
	err := q.db.Update(func(tx *bolt.Tx) error {
		ib := tx.Bucket(bucketItems)
		if ib.Get(u64(key)) == nil {
			return nil
		}
		seq, err := ib.NextSequence()
		if err != nil {
			return err
		}
		raw, err := json.Marshal(it)
		if err != nil {
			return err
		}
		if err := ib.Delete(u64(key)); err != nil {
			return err
		}
		if err := ib.Put(u64(seq), raw); err != nil {
			return err
		}
		return tx.Bucket(bucketPaths).Put([]byte(it.Seg.Path), u64(seq))
	})
	if err != nil {
		return fmt.Errorf("requeue %s: %w", it.Seg.Path, err)
	}
	return nil
}

// size is the number of queued files and their bytes.
func (q *queue) size() (int, int64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.files, q.bytes
}

func (q *queue) alarmed() (bool, error) {
	var on bool
	err := q.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketState).Get(keyAlarm)
		on = len(v) == 1 && v[0] == 1
		return nil
	})
	return on, err
}

func (q *queue) setAlarmed(on bool) error {
	v := []byte{0}
	if on {
		v[0] = 1
	}
	return q.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketState).Put(keyAlarm, v)
	})
}

func u64(n uint64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], n)
	return b[:]
}
