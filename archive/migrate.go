package archive

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/kuzet/kuzet/archive/objstore"
)

// The first layout kept a replica of origin O's Camera1/... at O/Camera1/...,
// beside this node's own cameras, where an origin named like an own camera
// shared (and could overwrite) its directory. migrateReplicas moves such
// replicas into ReplicaDir when the archive opens:
//
//   - every index record of a replica camera ("O/Camera1") whose path is
//     not under ReplicaDir has its file renamed (never over another file)
//     to .replicas/O/..., the directories of both places fsynced, and then
//     its path rewritten in the index, in batches;
//   - a record whose path is also an own segment's (an origin named like an
//     own camera wrote over it) leaves the file to the own camera and is
//     dropped: the replica is fetched again into its own place;
//   - part files of unfinished fetches (*.mp4.part: own recordings never
//     make them) are moved beside their new final place, or removed when
//     that place is taken;
//   - the layout version is recorded in the index last.
//
// Every step can be repeated: a crash anywhere leaves files either at the
// old place (with the index still naming it) or at the new one (the index
// naming either), and the next Open finishes from there.

// migrateBatch is how many files move between a directory fsync and an
// index commit.
const migrateBatch = 256

// relocation rewrites one index record: its path becomes to, or the record
// is dropped when to is empty.
type relocation struct {
	start    time.Time
	from, to string
}

type migrateStats struct {
	moved, already, lost, dropped, parts, failed int
}

func (a *Archive) migrateReplicas() error {
	v, err := a.index.layout()
	if err != nil {
		return err
	}
	if v == layoutReplicaDir {
		return nil
	}
	log := a.o.Logger.With("step", "replica layout migration")
	var st migrateStats
	cams, err := a.index.Cameras()
	if err != nil {
		return fmt.Errorf("list cameras: %w", err)
	}
	for _, key := range cams {
		origin, _, ok := strings.Cut(key, "/")
		if !ok {
			continue // an own camera
		}
		if err := a.migrateCamera(key, origin, &st); err != nil {
			return err
		}
	}
	if err := a.migrateParts(&st); err != nil {
		return err
	}
	if st.failed > 0 {
		log.Warn("replica layout migration left files behind; it runs again at the next start",
			"failed", st.failed, "moved", st.moved)
		return nil
	}
	if err := a.index.setLayout(layoutReplicaDir); err != nil {
		return err
	}
	if st != (migrateStats{}) {
		log.Info("replicas moved to their own namespace", "dir", ReplicaDir, "moved", st.moved,
			"already_moved", st.already, "missing", st.lost, "dropped", st.dropped, "parts", st.parts)
	}
	return nil
}

// migrateCamera moves the old-layout replicas of one replica camera key.
func (a *Archive) migrateCamera(key, origin string, st *migrateStats) error {
	log := a.o.Logger.With("camera", key)
	segs, err := a.index.Segments(key, time.Time{}, time.Time{})
	if err != nil {
		return fmt.Errorf("list segments of %s: %w", key, err)
	}
	var old []Segment
	for _, s := range segs {
		if !strings.HasPrefix(s.Path, ReplicaDir+"/") {
			old = append(old, s)
		}
	}
	if len(old) == 0 {
		return nil
	}
	// an own camera named like the origin: its files are not replicas
	own, err := a.index.pathsOf(origin)
	if err != nil {
		return fmt.Errorf("list segments of %s: %w", origin, err)
	}
	for len(old) > 0 {
		n := min(len(old), migrateBatch)
		batch := old[:n]
		old = old[n:]
		var rel []relocation
		dirs := map[string]bool{}
		for _, s := range batch {
			orel, ok := strings.CutPrefix(s.Path, origin+"/")
			if checkOrigin(origin) != nil || !ok || checkOriginRel(orel) != nil {
				log.Error("replica record with a path outside its origin's directory; left as it is", "path", s.Path)
				st.failed++
				continue
			}
			if own[s.Path] {
				log.Warn("replica record names a file of this node's own camera; the record is dropped and the file left to the camera",
					"path", s.Path, "origin", origin)
				rel = append(rel, relocation{start: s.Start, from: s.Path})
				st.dropped++
				continue
			}
			to := ReplicaPath(origin, orel)
			switch err := a.moveFile(s.Path, to, dirs); {
			case err == nil:
				st.moved++
			case errors.Is(err, errAlreadyMoved):
				st.already++
			case errors.Is(err, fs.ErrNotExist):
				st.lost++ // the index now names where it belongs; verify reports it
			default:
				log.Error("replica not moved", "from", s.Path, "to", to, "err", err)
				st.failed++
				continue
			}
			rel = append(rel, relocation{start: s.Start, from: s.Path, to: to})
		}
		if err := syncDirs(dirs); err != nil {
			return err
		}
		if err := a.index.relocate(key, rel); err != nil {
			return fmt.Errorf("rewrite replica paths of %s: %w", key, err)
		}
		for _, r := range rel {
			if r.to != "" {
				a.removeEmptyDirs(filepath.Dir(a.Abs(r.from)))
			}
		}
	}
	return nil
}

var errAlreadyMoved = errors.New("already at its new place")

// moveFile renames the archive file from to to without replacing
// anything. It gives errAlreadyMoved when only to exists, or both exist
// with the same bytes (the old name is then removed), and fs.ErrNotExist
// when neither exists. The directories touched are added to dirs, to be
// fsynced before the index is told.
func (a *Archive) moveFile(from, to string, dirs map[string]bool) error {
	oldAbs, newAbs := a.Abs(from), a.Abs(to)
	_, oerr := os.Lstat(oldAbs)
	_, nerr := os.Lstat(newAbs)
	switch {
	case oerr != nil && !errors.Is(oerr, fs.ErrNotExist):
		return oerr
	case nerr != nil && !errors.Is(nerr, fs.ErrNotExist):
		return nerr
	case oerr != nil && nerr != nil:
		return fs.ErrNotExist
	case oerr != nil:
		return errAlreadyMoved
	}
	if nerr != nil {
		if err := a.MkdirFor(newAbs); err != nil {
			return fmt.Errorf("create directory of %s: %w", to, err)
		}
		err := objstore.RenameNoReplace(oldAbs, newAbs)
		if err == nil {
			dirs[filepath.Dir(oldAbs)], dirs[filepath.Dir(newAbs)] = true, true
			return nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return err
		}
	}
	// both names exist: a link+unlink move cut short, or something else
	same, why, err := sameBytes(oldAbs, newAbs)
	if err != nil {
		return err
	}
	if !same {
		return fmt.Errorf("%s exists with other bytes (%s): both kept", to, why)
	}
	if err := os.Remove(oldAbs); err != nil {
		return err
	}
	dirs[filepath.Dir(oldAbs)] = true
	return errAlreadyMoved
}

// migrateParts moves part files of the old layout (ORIGIN/Camera1/...mp4.part
// outside ReplicaDir) beside their new final place so fetches resume.
func (a *Archive) migrateParts(st *migrateStats) error {
	root := a.o.Root
	var parts []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == root {
				return err
			}
			return nil // vanished meanwhile
		}
		if d.IsDir() && p == filepath.Join(root, ReplicaDir) {
			return filepath.SkipDir
		}
		if d.Type().IsRegular() && strings.HasSuffix(p, ".mp4.part") {
			parts = append(parts, p)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("look for part files: %w", err)
	}
	dirs := map[string]bool{}
	for _, p := range parts {
		r, err := filepath.Rel(root, p)
		if err != nil {
			continue
		}
		origin, orel, _ := strings.Cut(filepath.ToSlash(r), "/")
		orel = strings.TrimSuffix(orel, ".part")
		newPart, err := a.PartPath(origin, orel)
		if err != nil {
			a.o.Logger.Warn("part file outside the replica layout; left as it is", "path", p, "err", err)
			continue
		}
		_, ferr := os.Lstat(strings.TrimSuffix(newPart, ".part"))
		_, perr := os.Lstat(newPart)
		if errors.Is(ferr, fs.ErrNotExist) && errors.Is(perr, fs.ErrNotExist) {
			if err := a.MkdirFor(newPart); err != nil {
				return fmt.Errorf("create directory of %s: %w", newPart, err)
			}
			if err := objstore.RenameNoReplace(p, newPart); err == nil {
				dirs[filepath.Dir(p)], dirs[filepath.Dir(newPart)] = true, true
				st.parts++
				a.removeEmptyDirs(filepath.Dir(p))
				continue
			}
		}
		// the replica or a newer part is there: this one is of no use
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			a.o.Logger.Error("remove old part file", "path", p, "err", err)
			st.failed++
			continue
		}
		dirs[filepath.Dir(p)] = true
		st.parts++
		a.removeEmptyDirs(filepath.Dir(p))
	}
	return syncDirs(dirs)
}

// removeEmptyDirs removes dir and its parents while they are empty,
// stopping below the archive root.
func (a *Archive) removeEmptyDirs(dir string) {
	root := filepath.Clean(a.o.Root)
	for d := filepath.Clean(dir); strings.HasPrefix(d, root+string(filepath.Separator)); d = filepath.Dir(d) {
		if d == filepath.Join(root, ReplicaDir) || os.Remove(d) != nil {
			return
		}
	}
}

// syncDirs fsyncs directories, those that still exist.
func syncDirs(dirs map[string]bool) error {
	list := make([]string, 0, len(dirs))
	for d := range dirs {
		list = append(list, d)
	}
	sort.Strings(list)
	for _, d := range list {
		if err := syncDir(d); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("sync directory %s: %w", d, err)
		}
	}
	return nil
}

// layout reads the archive's layout version ("" for the first).
func (x *Index) layout() (string, error) {
	var v string
	err := x.db.View(func(tx *bolt.Tx) error {
		v = string(tx.Bucket(bucketMeta).Get(keyLayout))
		return nil
	})
	return v, err
}

func (x *Index) setLayout(v string) error {
	return x.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put(keyLayout, []byte(v)) })
}

// pathsOf lists the paths of a camera's segments.
func (x *Index) pathsOf(camera string) (map[string]bool, error) {
	out := map[string]bool{}
	segs, err := x.Segments(camera, time.Time{}, time.Time{})
	for _, s := range segs {
		out[s.Path] = true
	}
	return out, err
}

// relocate rewrites (or drops) index records of camera that still name
// their old paths.
func (x *Index) relocate(camera string, rs []relocation) error {
	if len(rs) == 0 {
		return nil
	}
	return x.db.Update(func(tx *bolt.Tx) error {
		cam := tx.Bucket(bucketSegments).Bucket([]byte(camera))
		if cam == nil {
			return nil
		}
		for _, r := range rs {
			k := timeKey(r.start)
			v := cam.Get(k)
			if v == nil {
				continue
			}
			var s Segment
			if err := json.Unmarshal(v, &s); err != nil {
				return fmt.Errorf("decode segment of %s at %s: %w", camera, r.start, err)
			}
			if s.Path != r.from {
				continue
			}
			if r.to == "" {
				if err := cam.Delete(k); err != nil {
					return err
				}
				continue
			}
			s.Path = r.to
			if err := putJSON(cam, k, s); err != nil {
				return err
			}
		}
		return nil
	})
}
