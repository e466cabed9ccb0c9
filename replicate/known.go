package replicate

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// A parent remembers every segment its subtree announced, fetched or not,
// so that a range kept only at a child can be pulled on demand, and the
// times that plate reads and alarms point to, for the referenced policy.
var (
	bucketKnown = []byte("known") // origin\0camera\0start -> Fetch
	bucketRefs  = []byte("refs")  // origin\0camera\0from -> to
)

// longestSegment bounds how far before a range a segment overlapping it
// may start; archive segments are cut well before this.
const longestSegment = 2 * time.Hour

func rangeKey(origin, camera string, t time.Time) []byte {
	k := make([]byte, 0, len(origin)+len(camera)+10)
	k = append(k, origin...)
	k = append(k, 0)
	k = append(k, camera...)
	k = append(k, 0)
	return binary.BigEndian.AppendUint64(k, nanos(t))
}

// nanos orders times as keys; ones outside UnixNano's range (the zero time
// of an open-ended query) are clamped to its ends.
func nanos(t time.Time) uint64 {
	switch {
	case t.Before(time.Unix(0, 0)):
		return 0
	case t.After(time.Unix(0, math.MaxInt64)):
		return math.MaxInt64
	}
	return uint64(t.UnixNano())
}

func keyTime(k []byte) time.Time {
	return time.Unix(0, int64(binary.BigEndian.Uint64(k[len(k)-8:]))).UTC()
}

// Remember records segments announced by the subtree.
func (q *Queue) Remember(fs ...Fetch) error {
	if len(fs) == 0 {
		return nil
	}
	return q.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketKnown)
		for _, f := range fs {
			f.Tries = 0
			raw, err := json.Marshal(f)
			if err != nil {
				return err
			}
			if err := b.Put(rangeKey(f.Origin, f.Camera, f.Start), raw); err != nil {
				return fmt.Errorf("remember segment %s: %w", f.Key(), err)
			}
		}
		return nil
	})
}

// Known lists remembered segments of origin's camera overlapping [from, to),
// oldest first.
func (q *Queue) Known(origin, camera string, from, to time.Time) ([]Fetch, error) {
	var out []Fetch
	err := q.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketKnown).Cursor()
		prefix := rangeKey(origin, camera, time.Unix(0, 0))[:len(origin)+len(camera)+2]
		for k, v := c.Seek(rangeKey(origin, camera, from.Add(-longestSegment))); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			if !keyTime(k).Before(to) {
				break
			}
			var f Fetch
			if err := json.Unmarshal(v, &f); err != nil {
				return fmt.Errorf("decode known segment: %w", err)
			}
			if f.End.After(from) {
				out = append(out, f)
			}
		}
		return nil
	})
	return out, err
}

// AddRef records that something of interest (a plate read, an alarm)
// happened on origin's camera during [from, to].
func (q *Queue) AddRef(origin, camera string, from, to time.Time) error {
	return q.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketRefs).Put(rangeKey(origin, camera, from), binary.BigEndian.AppendUint64(nil, nanos(to)))
	})
}

// Referenced reports whether a recorded reference overlaps [from, to).
func (q *Queue) Referenced(origin, camera string, from, to time.Time) (bool, error) {
	found := false
	err := q.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketRefs).Cursor()
		prefix := rangeKey(origin, camera, time.Unix(0, 0))[:len(origin)+len(camera)+2]
		for k, v := c.Seek(rangeKey(origin, camera, from.Add(-longestSegment))); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			if !keyTime(k).Before(to) {
				break
			}
			if len(v) == 8 && binary.BigEndian.Uint64(v) > nanos(from) {
				found = true
				return nil
			}
		}
		return nil
	})
	return found, err
}

// Forget drops remembered segments and references that started before t.
func (q *Queue) Forget(before time.Time) (int, error) {
	n := 0
	err := q.db.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketKnown, bucketRefs} {
			c := tx.Bucket(name).Cursor()
			for k, _ := c.First(); k != nil; {
				if len(k) >= 8 && keyTime(k).Before(before) {
					if err := c.Delete(); err != nil {
						return err
					}
					n++
					k, _ = c.Seek(k)
					continue
				}
				k, _ = c.Next()
			}
		}
		return nil
	})
	return n, err
}

// KnownPath finds a remembered segment by its path in origin's archive.
func (q *Queue) KnownPath(origin, rel string) (Fetch, bool, error) {
	camera, _, _ := strings.Cut(rel, "/")
	var found Fetch
	ok := false
	err := q.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketKnown).Cursor()
		prefix := rangeKey(origin, camera, time.Unix(0, 0))[:len(origin)+len(camera)+2]
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			var f Fetch
			if json.Unmarshal(v, &f) == nil && f.Path == rel {
				found, ok = f, true
				return nil
			}
		}
		return nil
	})
	return found, ok, err
}
