package archive

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kuzet/kuzet/event"
)

// A segment is indexed, and so replicated, only once it closes: 1 to 5
// minutes after its first frame. So that an ancestor can play the last
// minutes too, a node serves the whole fragments of each file it is
// writing (Open), and an ancestor keeps what it fetched of a descendant's
// open file as a tail:
//
//	.tails/<origin>/<Camera>/<Y>/<M>/<D>/<H>/<file>.mp4
//
// A tail is a cache, never a replica: it is not indexed, every fetch
// appends the fragments written since, Locate finds it for playback until
// the closed segment is indexed here, and it is removed then, when the
// camera opens its next file, when no one asked for it for TailTTL, and
// when the archive opens.

// TailDir is the top directory of tails under the archive root.
const TailDir = ".tails"

// TailTTL is how long a tail nobody fetched again is kept.
const TailTTL = 10 * time.Minute

// OpenFile is a segment file still being written.
type OpenFile struct {
	Path  string    // in its origin's layout: Camera1/2025/08/18/14/Camera1_2025_08_18_14_05.mp4
	Start time.Time // wall clock of its first frame
	Size  int64     // bytes of whole boxes: ftyp+moov and complete moof+mdat fragments
}

// tail is a descendant's open file as held here.
type tail struct {
	OpenFile
	origin string
	set    time.Time // last fetch
}

// Open is camera's file being written by this node and how many of its
// bytes are whole fragments: a copy of that many bytes plays.
func (a *Archive) Open(camera string) (OpenFile, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	cur, ok := a.current[camera]
	if !ok || cur.Size == 0 {
		return OpenFile{}, false
	}
	return OpenFile{Path: cur.Path, Start: cur.Start, Size: cur.Size}, true
}

// grown notes that camera's open file holds size bytes of whole boxes.
func (a *Archive) grown(camera string, size int64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if cur, ok := a.current[camera]; ok {
		cur.Size = size
		a.current[camera] = cur
	}
}

// TailRel is the archive-relative path of the tail of origin's open file
// rel; it does not check its arguments (TailPath does).
func TailRel(origin, rel string) string { return TailDir + "/" + origin + "/" + rel }

// TailPath is where this node keeps what it fetched of origin's open file
// rel. An origin or path not valid here is refused.
func (a *Archive) TailPath(origin, rel string) (string, error) {
	if err := checkOrigin(origin); err != nil {
		return "", err
	}
	if err := checkOriginRel(rel); err != nil {
		return "", err
	}
	return a.Abs(TailRel(origin, rel)), nil
}

// Tail is what this node holds of origin's open file of camera.
func (a *Archive) Tail(origin, camera string) (OpenFile, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	t, ok := a.tails[event.ReplicaCamera(origin, camera)]
	return t.OpenFile, ok
}

// SetTail notes that TailPath(origin, f.Path) holds f.Size bytes of
// origin's open file f. The tail of an earlier file of the same camera is
// removed: its segment has closed and is fetched as a segment.
func (a *Archive) SetTail(origin string, f OpenFile) error {
	if _, err := a.TailPath(origin, f.Path); err != nil {
		return err
	}
	cam, _, _ := strings.Cut(f.Path, "/")
	key := event.ReplicaCamera(origin, cam)
	a.mu.Lock()
	old, had := a.tails[key]
	a.tails[key] = tail{OpenFile: f, origin: origin, set: a.o.Now()}
	a.mu.Unlock()
	if had && old.Path != f.Path {
		a.removeTail(old)
	}
	return nil
}

// locateTail is the tail of camera (an "origin/Camera" key) holding t,
// unless the index holds a segment starting where the tail starts.
func (a *Archive) locateTail(camera string, t time.Time) (OpenFile, string, bool) {
	a.mu.Lock()
	tl, ok := a.tails[camera]
	a.mu.Unlock()
	if !ok || t.Before(tl.Start) {
		return OpenFile{}, "", false
	}
	if a.tailIndexed(camera, tl.Start) {
		return OpenFile{}, "", false
	}
	return tl.OpenFile, TailRel(tl.origin, tl.Path), true
}

// tailIndexed reports whether the index holds camera's segment at start:
// the tail's file closed and was fetched whole.
func (a *Archive) tailIndexed(camera string, start time.Time) bool {
	segs, err := a.index.Segments(camera, start, start.Add(time.Second))
	if err != nil {
		return false
	}
	for _, s := range segs {
		if !s.Start.After(start.Add(holeTolerance)) && !s.Start.Before(start.Add(-holeTolerance)) {
			return true
		}
	}
	return false
}

// holeTolerance is how far a closed segment's start may lie from the
// tail's and still be the same file.
const holeTolerance = 100 * time.Millisecond

// sweepTails removes tails nobody fetched for TailTTL and those whose
// segment is indexed here.
func (a *Archive) sweepTails() {
	now := a.o.Now()
	a.mu.Lock()
	var gone []tail
	for key, t := range a.tails {
		if now.Sub(t.set) > TailTTL {
			gone = append(gone, t)
			delete(a.tails, key)
		}
	}
	keep := make(map[string]tail, len(a.tails))
	for k, t := range a.tails {
		keep[k] = t
	}
	a.mu.Unlock()
	for key, t := range keep {
		if a.tailIndexed(key, t.Start) {
			a.mu.Lock()
			if cur, ok := a.tails[key]; ok && cur.Path == t.Path {
				delete(a.tails, key)
				gone = append(gone, t)
			}
			a.mu.Unlock()
		}
	}
	for _, t := range gone {
		a.removeTail(t)
	}
}

func (a *Archive) removeTail(t tail) {
	p := a.Abs(TailRel(t.origin, t.Path))
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		a.o.Logger.Warn("remove tail of an open file", "path", p, "err", err)
	}
}

// dropAllTails removes the tails a previous run left: they are a cache.
func (a *Archive) dropAllTails() error {
	if err := os.RemoveAll(filepath.Join(a.o.Root, TailDir)); err != nil {
		return fmt.Errorf("remove %s: %w", TailDir, err)
	}
	return nil
}
