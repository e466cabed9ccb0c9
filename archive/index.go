package archive

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/kuzet/kuzet/event"
)

// Segment is a closed archive file as listed by the index. Its
// description is shared with the nodes that replicate it.
type Segment = event.Segment

// Gap is an interval of a camera's timeline without video.
type Gap struct {
	Camera string    `json:"camera"`
	Start  time.Time `json:"start"`
	End    time.Time `json:"end"`
	Reason string    `json:"reason"`
}

// openSegment is written before the first byte of a file, so a crash
// always leaves a record saying which file to repair.
type openSegment struct {
	Camera string    `json:"camera"`
	Start  time.Time `json:"start"`
	Path   string    `json:"path"`
	Codec  string    `json:"codec"`
	Size   int64     `json:"-"` // bytes of whole boxes written so far (Archive.Open)
}

var (
	bucketSegments = []byte("segments") // camera -> start -> Segment
	bucketGaps     = []byte("gaps")     // camera -> start -> Gap
	bucketOpen     = []byte("open")     // path -> openSegment
	bucketMeta     = []byte("meta")     // settings of the archive itself
)

// keyLayout holds the archive's layout version: absent means the first
// one (replicas beside own cameras), layoutReplicaDir the replicas'
// own namespace (see ReplicaDir).
var keyLayout = []byte("layout")

const layoutReplicaDir = "2"

// Index is the bbolt catalogue of closed segments, gaps and open files.
type Index struct {
	db *bolt.DB
}

// OpenIndex opens or creates the index file.
func OpenIndex(path string) (*Index, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("open archive index %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketSegments, bucketGaps, bucketOpen, bucketMeta} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("init archive index %s: %w", path, err)
	}
	return &Index{db: db}, nil
}

// Close closes the index.
func (x *Index) Close() error { return x.db.Close() }

func timeKey(t time.Time) []byte {
	var k [8]byte
	binary.BigEndian.PutUint64(k[:], uint64(t.UnixNano()))
	return k[:]
}

func putJSON(b *bolt.Bucket, k []byte, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(k, raw)
}

// markOpen records a file about to be written.
func (x *Index) markOpen(o openSegment) error {
	return x.db.Update(func(tx *bolt.Tx) error {
		return putJSON(tx.Bucket(bucketOpen), []byte(o.Path), o)
	})
}

// closeSegment indexes s and forgets its open record in one transaction.
func (x *Index) closeSegment(s Segment) error {
	return x.db.Update(func(tx *bolt.Tx) error {
		cam, err := tx.Bucket(bucketSegments).CreateBucketIfNotExists([]byte(s.Camera))
		if err != nil {
			return err
		}
		if err := putJSON(cam, timeKey(s.Start), s); err != nil {
			return err
		}
		return tx.Bucket(bucketOpen).Delete([]byte(s.Path))
	})
}

// replicaHeld checks a replica segment s (its index camera and path)
// against the index: held is true when the index has s's path with s's
// sha256 already; an error wrapping ErrReplicaConflict when it has another
// segment at that path or at s's start.
func (x *Index) replicaHeld(s Segment) (held bool, err error) {
	err = x.db.View(func(tx *bolt.Tx) error {
		held, err = checkReplica(tx, s)
		return err
	})
	return held, err
}

// putReplica indexes a replica unless the index has it already (added is
// then false), with the same checks as replicaHeld in one transaction.
func (x *Index) putReplica(s Segment) (added bool, err error) {
	err = x.db.Update(func(tx *bolt.Tx) error {
		held, err := checkReplica(tx, s)
		if err != nil || held {
			return err
		}
		cam, err := tx.Bucket(bucketSegments).CreateBucketIfNotExists([]byte(s.Camera))
		if err != nil {
			return err
		}
		added = true
		return putJSON(cam, timeKey(s.Start), s)
	})
	return added, err
}

func checkReplica(tx *bolt.Tx, s Segment) (bool, error) {
	cam := tx.Bucket(bucketSegments).Bucket([]byte(s.Camera))
	if cam == nil {
		return false, nil
	}
	old, found, err := segmentAtPath(cam, s.Path)
	if err != nil {
		return false, err
	}
	if found {
		if old.SHA256 != s.SHA256 || old.Bytes != s.Bytes {
			return false, fmt.Errorf("replica %s: the index holds another segment there (%d bytes, sha256 %s; offered %d bytes, sha256 %s): %w",
				s.Path, old.Bytes, old.SHA256, s.Bytes, s.SHA256, ErrReplicaConflict)
		}
		return true, nil
	}
	if v := cam.Get(timeKey(s.Start)); v != nil {
		var o Segment
		if err := json.Unmarshal(v, &o); err != nil {
			return false, fmt.Errorf("decode segment of %s at %s: %w", s.Camera, s.Start, err)
		}
		return false, fmt.Errorf("replica %s: the index holds %s of %s at the same start %s: %w",
			s.Path, o.Path, s.Camera, s.Start.Format(time.RFC3339Nano), ErrReplicaConflict)
	}
	return false, nil
}

// segmentAtPath finds the segment of a camera bucket recorded at path.
// Records are keyed by start, so it scans them, decoding only those whose
// JSON holds the path.
func segmentAtPath(cam *bolt.Bucket, path string) (Segment, bool, error) {
	return segmentAtPathNear(cam, path, time.Time{})
}

// segmentAtPathNear is segmentAtPath looking only at records within
// zoneSpan of near, when near is set: when the path's layout says it
// starts, in a zone unknown here.
func segmentAtPathNear(cam *bolt.Bucket, path string, near time.Time) (Segment, bool, error) {
	jp, err := json.Marshal(path)
	if err != nil {
		return Segment{}, false, err
	}
	needle := append([]byte(`"path":`), jp...)
	var s Segment
	c := cam.Cursor()
	k, v := c.First()
	var end []byte
	if !near.IsZero() {
		k, v = c.Seek(timeKey(near.Add(-zoneSpan)))
		end = timeKey(near.Add(zoneSpan + time.Hour))
	}
	for ; k != nil && (end == nil || bytes.Compare(k, end) < 0); k, v = c.Next() {
		if !bytes.Contains(v, needle) {
			continue
		}
		if err := json.Unmarshal(v, &s); err != nil {
			return s, false, fmt.Errorf("decode segment record %x: %w", k, err)
		}
		if s.Path == path {
			return s, true, nil
		}
	}
	return Segment{}, false, nil
}

// dropOpen forgets an open record whose file held nothing recoverable.
func (x *Index) dropOpen(path string) error {
	return x.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketOpen).Delete([]byte(path)) })
}

func (x *Index) openRecords() ([]openSegment, error) {
	var out []openSegment
	err := x.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketOpen).ForEach(func(_, v []byte) error {
			var o openSegment
			if err := json.Unmarshal(v, &o); err != nil {
				return fmt.Errorf("decode open record: %w", err)
			}
			out = append(out, o)
			return nil
		})
	})
	return out, err
}

// AddGap records an interval without video.
func (x *Index) AddGap(g Gap) error {
	return x.db.Update(func(tx *bolt.Tx) error {
		cam, err := tx.Bucket(bucketGaps).CreateBucketIfNotExists([]byte(g.Camera))
		if err != nil {
			return err
		}
		return putJSON(cam, timeKey(g.Start), g)
	})
}

// LastSegment returns the camera's newest closed segment.
func (x *Index) LastSegment(camera string) (Segment, bool, error) { return x.endSegment(camera, true) }

// FirstSegment returns the camera's oldest segment held: how far back its
// archive reaches.
func (x *Index) FirstSegment(camera string) (Segment, bool, error) {
	return x.endSegment(camera, false)
}

// endSegment is the camera's newest (last) or oldest segment.
func (x *Index) endSegment(camera string, last bool) (Segment, bool, error) {
	var s Segment
	found := false
	err := x.db.View(func(tx *bolt.Tx) error {
		cam := tx.Bucket(bucketSegments).Bucket([]byte(camera))
		if cam == nil {
			return nil
		}
		c := cam.Cursor()
		_, v := c.First()
		if last {
			_, v = c.Last()
		}
		if v == nil {
			return nil
		}
		found = true
		return json.Unmarshal(v, &s)
	})
	return s, found, err
}

// PathTaken reports whether a closed or open segment already uses rel.
func (x *Index) PathTaken(camera, rel string, start time.Time) (bool, error) {
	taken := false
	err := x.db.View(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketOpen).Get([]byte(rel)) != nil {
			taken = true
			return nil
		}
		cam := tx.Bucket(bucketSegments).Bucket([]byte(camera))
		if cam == nil {
			return nil
		}
		// A same-named file starts in the same minute: look a minute back.
		c := cam.Cursor()
		for k, v := c.Seek(timeKey(start.Add(-time.Minute))); k != nil; k, v = c.Next() {
			var s Segment
			if err := json.Unmarshal(v, &s); err != nil {
				return err
			}
			if s.Start.After(start.Add(time.Minute)) {
				break
			}
			if s.Path == rel {
				taken = true
				return nil
			}
		}
		return nil
	})
	return taken, err
}

// Segments lists a camera's segments overlapping [from, to), oldest first.
// A zero to means "up to now".
func (x *Index) Segments(camera string, from, to time.Time) ([]Segment, error) {
	return scanRange(x.db, bucketSegments, camera, from, to, func(s Segment) (time.Time, time.Time) { return s.Start, s.End })
}

// Gaps lists a camera's gaps overlapping [from, to), oldest first.
func (x *Index) Gaps(camera string, from, to time.Time) ([]Gap, error) {
	return scanRange(x.db, bucketGaps, camera, from, to, func(g Gap) (time.Time, time.Time) { return g.Start, g.End })
}

// scanRange lists records keyed by start overlapping [from, to); zero
// bounds are open. Records of
// one camera never overlap, so only the one just before from can reach into
// the range: the scan starts there, not at the beginning.
func scanRange[T any](db *bolt.DB, bucket []byte, camera string, from, to time.Time, span func(T) (time.Time, time.Time)) ([]T, error) {
	var out []T
	err := db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucket).Bucket([]byte(camera))
		if b == nil {
			return nil
		}
		c := b.Cursor()
		var k, v []byte
		if from.IsZero() {
			k, v = c.First()
		} else if k, _ = c.Seek(timeKey(from)); k == nil {
			k, v = c.Last()
		} else if pk, pv := c.Prev(); pk != nil {
			k, v = pk, pv
		} else {
			k, v = c.First()
		}
		for ; k != nil; k, v = c.Next() {
			var r T
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("decode %s record of %s: %w", bucket, camera, err)
			}
			start, end := span(r)
			if !to.IsZero() && !start.Before(to) {
				break
			}
			if end.After(from) {
				out = append(out, r)
			}
		}
		return nil
	})
	return out, err
}

// Cameras lists cameras that have segments.
func (x *Index) Cameras() ([]string, error) {
	var out []string
	err := x.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketSegments).ForEach(func(k, _ []byte) error {
			out = append(out, string(k))
			return nil
		})
	})
	return out, err
}

// oldest returns the oldest segment over all cameras.
func (x *Index) oldest(skip func(Segment) bool) (Segment, bool, error) {
	var best Segment
	found := false
	err := x.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketSegments).ForEach(func(k, _ []byte) error {
			cam := tx.Bucket(bucketSegments).Bucket(k)
			if cam == nil {
				return nil
			}
			_, v := cam.Cursor().First()
			if v == nil {
				return nil
			}
			var s Segment
			if err := json.Unmarshal(v, &s); err != nil {
				return err
			}
			if skip != nil && skip(s) {
				return nil // the camera's files are elsewhere
			}
			if !found || s.Start.Before(best.Start) {
				best, found = s, true
			}
			return nil
		})
	})
	return best, found, err
}

// removeSegment deletes the index entry of s.
func (x *Index) removeSegment(s Segment) error {
	return x.db.Update(func(tx *bolt.Tx) error {
		cam := tx.Bucket(bucketSegments).Bucket([]byte(s.Camera))
		if cam == nil {
			return errors.New("camera not indexed")
		}
		return cam.Delete(timeKey(s.Start))
	})
}

// expired returns a camera's segments that ended before cutoff and deletes
// its gaps that ended before cutoff.
func (x *Index) expired(camera string, cutoff time.Time) ([]Segment, error) {
	var out []Segment
	err := x.db.Update(func(tx *bolt.Tx) error {
		if cam := tx.Bucket(bucketSegments).Bucket([]byte(camera)); cam != nil {
			c := cam.Cursor()
			for k, v := c.First(); k != nil; k, v = c.Next() {
				var s Segment
				if err := json.Unmarshal(v, &s); err != nil {
					return err
				}
				if !s.End.Before(cutoff) {
					break
				}
				out = append(out, s)
			}
		}
		if gaps := tx.Bucket(bucketGaps).Bucket([]byte(camera)); gaps != nil {
			c := gaps.Cursor()
			for k, v := c.First(); k != nil; k, v = c.First() {
				var g Gap
				if err := json.Unmarshal(v, &g); err != nil {
					return err
				}
				if !g.End.Before(cutoff) {
					break
				}
				if err := c.Delete(); err != nil {
					return err
				}
			}
		}
		return nil
	})
	return out, err
}

// Check verifies the index file's internal consistency (bbolt's page
// checks) and that no record fails to decode.
func (x *Index) Check() error {
	return x.db.View(func(tx *bolt.Tx) error {
		var first error
		for err := range tx.Check() { // drain: the checker goroutine sends them all
			if first == nil {
				first = fmt.Errorf("index corrupt: %w", err)
			}
		}
		if first != nil {
			return first
		}
		for _, name := range [][]byte{bucketSegments, bucketGaps} {
			err := tx.Bucket(name).ForEachBucket(func(cam []byte) error {
				return tx.Bucket(name).Bucket(cam).ForEach(func(k, v []byte) error {
					var m map[string]any
					if err := json.Unmarshal(v, &m); err != nil {
						return fmt.Errorf("%s/%s record %x: %w", name, cam, k, err)
					}
					return nil
				})
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
}
