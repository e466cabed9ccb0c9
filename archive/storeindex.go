package archive

import (
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/kuzet/kuzet/event"
)

// IndexStoredReplica indexes origin's segment s (s.Path and s.Camera as
// at the origin) as a replica whose bytes are in Options.Store under
// StoreKey(ReplicaPath(origin, s.Path)), stored and verified by the
// caller, as if this replica had pulled it. The checks are
// ImportReplica's: an origin or path not valid here is refused with an
// error wrapping event.ErrReplicaRefused, another segment indexed at that
// path or start with one wrapping ErrReplicaConflict; indexing the same
// segment again does nothing.
func (a *Archive) IndexStoredReplica(origin string, s Segment) error {
	if a.o.Store == nil {
		return fmt.Errorf("replica %s of %s: this archive keeps no store", s.Path, origin)
	}
	_, err := a.indexReplica(origin, s, true)
	return err
}

// Held says where this node holds origin's segment rel: the file's path
// (as File), or, for a replica kept in Options.Store and indexed here,
// the store's name and the object's key. It reads the index, not the
// store, so that a parent's back-fill can ask for every segment a child
// lists without a request to the store each.
func (a *Archive) Held(self, origin, rel string) (string, error) {
	p, err := a.File(self, origin, rel)
	if err == nil || origin == self || a.o.Store == nil || !errors.Is(err, fs.ErrNotExist) {
		return p, err
	}
	local := ReplicaPath(origin, rel)
	cam, _, _ := strings.Cut(rel, "/")
	at, _ := layoutTime(strings.Split(rel, "/")[1:])
	held, ierr := a.index.hasPath(event.ReplicaCamera(origin, cam), local, at)
	if ierr != nil {
		return "", errors.Join(err, ierr)
	}
	if !held {
		return "", err
	}
	key, _ := StoreKey(local)
	return a.o.Store.Name() + ": " + key, nil
}

// hasPath reports whether camera has a segment at path. near, if not
// zero, is when the path's layout says it starts: only records within a
// day of it are looked at.
func (x *Index) hasPath(camera, path string, near time.Time) (found bool, err error) {
	err = x.db.View(func(tx *bolt.Tx) error {
		cam := tx.Bucket(bucketSegments).Bucket([]byte(camera))
		if cam == nil {
			return nil
		}
		_, found, err = segmentAtPathNear(cam, path, near)
		return err
	})
	return found, err
}

// zoneSpan covers the difference between the wall clock a path is laid
// out in (the origin's zone) and UTC: at most 14 hours.
const zoneSpan = 15 * time.Hour

// layoutTime reads the Y/M/D/H directories of a segment path (after the
// camera) as a UTC time: the start of the year, month, day or hour they
// name, with how long that is. ok is false when they are not the layout's.
func layoutTime(els []string) (t time.Time, ok bool) {
	t, _, ok = layoutSpan(els)
	return t, ok
}

func layoutSpan(els []string) (time.Time, time.Duration, bool) {
	var v [4]int
	widths := [4]int{4, 2, 2, 2}
	n := 0
	for ; n < len(els) && n < 4; n++ {
		if len(els[n]) != widths[n] {
			break
		}
		x, err := strconv.Atoi(els[n])
		if err != nil || x < 0 {
			break
		}
		v[n] = x
	}
	if n == 0 {
		return time.Time{}, 0, false
	}
	y, mo, d, h := v[0], time.Month(max(v[1], 1)), max(v[2], 1), v[3]
	t := time.Date(y, mo, d, h, 0, 0, 0, time.UTC)
	if (n > 1 && (v[1] < 1 || v[1] > 12)) || (n > 2 && (v[2] < 1 || v[2] > 31)) || (n > 3 && v[3] > 23) {
		return time.Time{}, 0, false
	}
	switch n {
	case 1:
		return t, t.AddDate(1, 0, 0).Sub(t), true
	case 2:
		return t, t.AddDate(0, 1, 0).Sub(t), true
	case 3:
		return t, 24 * time.Hour, true
	}
	return t, time.Hour, true
}
