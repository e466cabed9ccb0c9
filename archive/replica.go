package archive

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/kuzet/kuzet/archive/objstore"
	"github.com/kuzet/kuzet/event"
)

// Replicas of other nodes' segments live in their own namespace under the
// archive root, one directory per origin:
//
//	.replicas/<origin>/<Camera>/<Y>/<M>/<D>/<H>/<file>.mp4
//
// and are indexed under the camera key "<origin>/<Camera>"
// (event.ReplicaCamera). Camera IDs and node IDs start with a letter or a
// digit and hold only letters, digits, '-' and '_' (config, topology,
// federation certificates), so no camera of this node can be named
// ".replicas" and no origin can reach outside its own directory in it: a
// replica can never land on this node's own recordings, nor one origin's
// on another's. An index key with a '/' is a replica's for the same
// reason: a camera ID never holds one.

// ReplicaDir is the top directory of replicas under the archive root.
const ReplicaDir = ".replicas"

// ErrReplicaConflict means a replica was refused because something else
// is already held at its place: a file with other bytes, or an index
// record of another segment. It matches event.ErrReplicaRefused too.
var ErrReplicaConflict = fmt.Errorf("%w: it conflicts with what this archive holds", event.ErrReplicaRefused)

// idPattern is the form of camera IDs and node IDs.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`)

// validKey reports whether key names what the archive records: a camera
// ID, or a camera's recorded sub-stream (ID~sub).
func validKey(key string) bool { return idPattern.MatchString(strings.TrimSuffix(key, SubSuffix)) }

// checkOriginRel refuses a segment path in its origin's layout that does
// not start with a camera ID: event.CheckRel, and a first element such as
// "Camera1" (never ".replicas", "." or "..").
func checkOriginRel(rel string) error {
	if err := event.CheckRel(rel); err != nil {
		return err
	}
	cam, _, ok := strings.Cut(rel, "/")
	if !ok || !validKey(cam) {
		return fmt.Errorf("segment path %q does not start with a camera ID", rel)
	}
	return nil
}

func checkOrigin(origin string) error {
	if !idPattern.MatchString(origin) {
		return fmt.Errorf("origin %q is not a node ID", origin)
	}
	return nil
}

// ReplicaPath is the archive-relative path (as indexed) of origin's
// segment rel, given in the origin's layout. It does not check its
// arguments: File, PartPath and ImportReplica do.
func ReplicaPath(origin, rel string) string { return ReplicaDir + "/" + origin + "/" + rel }

// StoreKey is the object key in Options.Store of the replica indexed at
// local (".replicas/<origin>/<rel>" -> "<origin>/<rel>"); ok is false for
// a path outside the replicas.
func StoreKey(local string) (key string, ok bool) {
	key, ok = strings.CutPrefix(local, ReplicaDir+"/")
	return key, ok
}

// ReplicaRel turns the indexed path of a replica of origin's back into the
// origin's layout (Camera1/2025/...); ok is false when local is not in
// origin's replica directory.
func ReplicaRel(origin, local string) (rel string, ok bool) {
	rel, ok = strings.CutPrefix(local, ReplicaDir+"/"+origin+"/")
	return rel, ok && checkOrigin(origin) == nil && checkOriginRel(rel) == nil
}

// File returns the file of segment rel recorded by origin, as held here:
// this node's own (origin == self) or a replica.
func (a *Archive) File(self, origin, rel string) (string, error) {
	if err := event.CheckRel(rel); err != nil {
		return "", err
	}
	if err := checkOrigin(origin); err != nil {
		return "", err
	}
	local := rel
	if origin != self {
		if err := checkOriginRel(rel); err != nil {
			return "", err
		}
		local = ReplicaPath(origin, rel)
	} else if strings.HasPrefix(rel, ReplicaDir+"/") || strings.HasPrefix(rel, TailDir+"/") {
		return "", fmt.Errorf("segment path %q of %s lies among the replicas", rel, origin)
	}
	abs := a.Abs(local)
	st, err := os.Stat(abs)
	if err != nil {
		return "", fmt.Errorf("segment %s of %s: %w", rel, origin, err)
	}
	if !st.Mode().IsRegular() {
		return "", fmt.Errorf("segment %s of %s: not a regular file: %w", rel, origin, fs.ErrNotExist)
	}
	return abs, nil
}

// PartPath is where a replica is assembled before it is verified: beside
// its final place, with ".part" added. An origin or path not valid here is
// refused with an error wrapping event.ErrReplicaRefused.
func (a *Archive) PartPath(origin, rel string) (string, error) {
	if err := checkOrigin(origin); err != nil {
		return "", fmt.Errorf("%w: %w", event.ErrReplicaRefused, err)
	}
	if err := checkOriginRel(rel); err != nil {
		return "", fmt.Errorf("%w: %w", event.ErrReplicaRefused, err)
	}
	return a.Abs(ReplicaPath(origin, rel)) + ".part", nil
}

// ImportReplica moves a verified part file into place and indexes it; the
// caller has checked its size and sha256 against s (s.Path and s.Camera
// as at the origin). It never replaces a file: when the final path exists
// already with the part's bytes, the part is dropped and the import
// succeeds (idempotent); with other bytes, or when the index holds
// another segment at that path or start, it is refused with an error
// wrapping ErrReplicaConflict, the part removed and the original left
// untouched.
func (a *Archive) ImportReplica(origin string, s Segment, part string) error {
	want, err := a.PartPath(origin, s.Path)
	if err != nil {
		return err
	}
	if want != part {
		return fmt.Errorf("part file %s does not belong to %s of %s: %w", part, s.Path, origin, event.ErrReplicaRefused)
	}
	if cam, _, _ := strings.Cut(s.Path, "/"); cam != s.Camera {
		_ = os.Remove(part)
		return fmt.Errorf("segment path %s does not belong to camera %q of %s: %w", s.Path, s.Camera, origin, event.ErrReplicaRefused)
	}
	local := ReplicaPath(origin, s.Path)
	final := a.Abs(local)
	rs := s
	rs.Camera = event.ReplicaCamera(origin, s.Camera)
	rs.Path = local

	// one import at a time: the checks below and the move stay together
	a.importMu.Lock()
	defer a.importMu.Unlock()
	refuse := func(err error) error {
		if rerr := os.Remove(part); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
			a.o.Logger.Warn("remove refused replica part", "path", part, "err", rerr)
		}
		return err
	}
	if _, err := a.index.replicaHeld(rs); err != nil {
		return refuse(err)
	}
	// a fetch may have made the part readable by anyone: a replica is a
	// recording like the node's own
	if err := a.own(part, FileMode); err != nil {
		return fmt.Errorf("replica %s: %w", part, err)
	}
	err = objstore.RenameNoReplace(part, final)
	switch {
	case errors.Is(err, fs.ErrExist):
		same, why, cerr := sameBytes(part, final)
		if cerr != nil {
			return fmt.Errorf("replica %s exists; compare it with %s: %w", final, part, cerr)
		}
		if !same {
			return refuse(fmt.Errorf("replica %s exists with other bytes (%s): refused, the file is kept: %w",
				final, why, ErrReplicaConflict))
		}
		if err := os.Remove(part); err != nil {
			return fmt.Errorf("drop part %s of a replica already held: %w", part, err)
		}
	case err != nil:
		return fmt.Errorf("move replica %s into place: %w", final, err)
	}
	if err := syncDir(filepath.Dir(final)); err != nil {
		return fmt.Errorf("sync replica directory of %s: %w", final, err)
	}
	added, err := a.index.putReplica(rs)
	if err != nil {
		return fmt.Errorf("index replica %s: %w", rs.Path, err)
	}
	if added {
		a.replicaStored(rs)
	}
	return nil
}

// replicaStored counts a replica this node pulled and says so once.
func (a *Archive) replicaStored(rs Segment) {
	a.o.Metrics.SegmentsClosed.WithLabelValues(rs.Camera).Inc()
	a.emit(event.New(event.KindReplicaStored, rs.Camera, event.SeverityInfo, rs))
}

// checkReplicaOf refuses origin's segment s (in the origin's layout) when
// the origin or path is not valid here, or the path is not its camera's.
func checkReplicaOf(origin string, s Segment) error {
	if err := checkOrigin(origin); err != nil {
		return fmt.Errorf("%w: %w", event.ErrReplicaRefused, err)
	}
	if err := checkOriginRel(s.Path); err != nil {
		return fmt.Errorf("%w: %w", event.ErrReplicaRefused, err)
	}
	if cam, _, _ := strings.Cut(s.Path, "/"); cam != s.Camera {
		return fmt.Errorf("segment path %s does not belong to camera %q of %s: %w", s.Path, s.Camera, origin, event.ErrReplicaRefused)
	}
	return nil
}

// sameBytes compares two files by size, then sha256. why describes a
// difference.
func sameBytes(a, b string) (same bool, why string, err error) {
	sa, err := os.Stat(a)
	if err != nil {
		return false, "", err
	}
	sb, err := os.Stat(b)
	if err != nil {
		return false, "", err
	}
	if sa.Size() != sb.Size() {
		return false, fmt.Sprintf("%d bytes held, %d offered", sb.Size(), sa.Size()), nil
	}
	ha, err := fileSHA256(a)
	if err != nil {
		return false, "", err
	}
	hb, err := fileSHA256(b)
	if err != nil {
		return false, "", err
	}
	if ha != hb {
		return false, fmt.Sprintf("sha256 %s held, %s offered", hb, ha), nil
	}
	return true, "", nil
}

func fileSHA256(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hash %s: %w", p, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// MkdirFor creates the directories of a file inside the archive durably.
func (a *Archive) MkdirFor(file string) error { return a.mkdirDurable(filepath.Dir(file)) }

// Locate names the file holding camera's video at t — the one being
// written or a closed one — and how far into it t lies.
func (a *Archive) Locate(camera string, t time.Time) (rel string, offset time.Duration, ok bool) {
	a.mu.Lock()
	cur, open := a.current[camera]
	a.mu.Unlock()
	if open && !t.Before(cur.Start) {
		return cur.Path, t.Sub(cur.Start), true
	}
	segs, err := a.index.Segments(camera, t, t.Add(time.Nanosecond))
	if err != nil || len(segs) == 0 {
		// a descendant's file still being written, as fetched so far
		if f, rel, ok := a.locateTail(camera, t); ok {
			return rel, t.Sub(f.Start), true
		}
		return "", 0, false
	}
	return segs[0].Path, t.Sub(segs[0].Start), true
}

func (a *Archive) setCurrent(camera string, o *openSegment) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if o == nil {
		delete(a.current, camera)
		return
	}
	a.current[camera] = *o
}
