package archive

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/kuzet/kuzet/event"
)

// Replicas of other nodes' segments live beside this node's own cameras,
// under the origin's ID: <origin>/<Camera>/<Y>/<M>/<D>/<H>/<file>.mp4, and
// are indexed under the camera key "<origin>/<Camera>".

var nodeIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`)

// CheckRel refuses a segment path that could leave the archive or is not
// a segment file: it must be relative, clean, and end in .mp4.
func CheckRel(rel string) error {
	if rel == "" || path.IsAbs(rel) || path.Clean(rel) != rel || strings.HasPrefix(rel, "../") ||
		rel == ".." || strings.Contains(rel, "\\") || !strings.HasSuffix(rel, ".mp4") {
		return fmt.Errorf("segment path %q is not a clean relative .mp4 path", rel)
	}
	return nil
}

// ReplicaCamera is the index key of origin's camera on this node.
func ReplicaCamera(origin, camera string) string { return origin + "/" + camera }

// File returns the file of segment rel recorded by origin, as held here:
// this node's own (origin == self) or a replica.
func (a *Archive) File(self, origin, rel string) (string, error) {
	if err := CheckRel(rel); err != nil {
		return "", err
	}
	if !nodeIDPattern.MatchString(origin) {
		return "", fmt.Errorf("origin %q is not a node ID", origin)
	}
	local := rel
	if origin != self {
		local = origin + "/" + rel
	}
	abs := a.Abs(local)
	if _, err := os.Stat(abs); err != nil {
		return "", fmt.Errorf("segment %s of %s: %w", rel, origin, err)
	}
	return abs, nil
}

// PartPath is where a replica is assembled before it is verified.
func (a *Archive) PartPath(origin, rel string) (string, error) {
	if err := CheckRel(rel); err != nil {
		return "", err
	}
	if !nodeIDPattern.MatchString(origin) {
		return "", fmt.Errorf("origin %q is not a node ID", origin)
	}
	return a.Abs(origin+"/"+rel) + ".part", nil
}

// ImportReplica moves a verified part file into place and indexes it; the
// caller has checked its size and sha256 against s.
func (a *Archive) ImportReplica(origin string, s Segment, part string) error {
	final := strings.TrimSuffix(part, ".part")
	want, err := a.PartPath(origin, s.Path)
	if err != nil || want != part {
		return errors.Join(err, fmt.Errorf("part file %s does not belong to %s", part, s.Path))
	}
	if err := os.Rename(part, final); err != nil {
		return fmt.Errorf("move replica into place: %w", err)
	}
	if err := syncDir(filepath.Dir(final)); err != nil {
		return fmt.Errorf("sync replica directory: %w", err)
	}
	s.Camera = ReplicaCamera(origin, s.Camera)
	s.Path = origin + "/" + s.Path
	if err := a.index.closeSegment(s); err != nil {
		return fmt.Errorf("index replica %s: %w", s.Path, err)
	}
	a.o.Metrics.SegmentsClosed.WithLabelValues(s.Camera).Inc()
	a.emit(event.New(event.KindReplicaStored, s.Camera, event.SeverityInfo, s))
	return nil
}

// MkdirFor creates the directories of a file inside the archive durably.
func (a *Archive) MkdirFor(file string) error { return mkdirDurable(a.o.Root, filepath.Dir(file)) }

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
