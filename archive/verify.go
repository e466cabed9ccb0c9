package archive

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kuzet/kuzet/archive/objstore"
	"github.com/kuzet/kuzet/event"
)

// Problem is a segment whose file does not match its index record.
type Problem struct {
	Segment Segment
	What    string // missing | size | sha256 | unreadable | layout
	Detail  string
}

func (p Problem) String() string {
	return fmt.Sprintf("%s (%s): %s: %s", p.Segment.Path, p.Segment.Camera, p.What, p.Detail)
}

// VerifyReport sums up a verification.
type VerifyReport struct {
	Segments int
	Bytes    int64
	Problems []Problem
}

// Verify checks every indexed segment under root — or, for a replica not
// on this disk, in store (nil: none) — against its record: present, of
// the recorded size and, unless quick, of the recorded sha256 (an object
// is read whole and hashed; quick compares the sha256 stored with it).
// The index's own structure is checked first.
func Verify(root string, x *Index, quick bool, store objstore.Store) (VerifyReport, error) {
	var r VerifyReport
	if err := x.Check(); err != nil {
		return r, err
	}
	cams, err := x.Cameras()
	if err != nil {
		return r, err
	}
	for _, cam := range cams {
		segs, err := x.Segments(cam, time.Time{}, time.Time{})
		if err != nil {
			return r, err
		}
		for _, s := range segs {
			r.Segments++
			if p, ok := verifySegment(root, s, quick, store); !ok {
				r.Problems = append(r.Problems, p)
				continue
			}
			r.Bytes += s.Bytes
		}
	}
	return r, nil
}

func verifySegment(root string, s Segment, quick bool, store objstore.Store) (Problem, bool) {
	if err := event.CheckRel(s.Path); err != nil {
		return Problem{s, "unreadable", err.Error()}, false
	}
	if why := layoutProblem(s); why != "" {
		return Problem{s, "layout", why}, false
	}
	f, err := os.Open(filepath.Join(root, filepath.FromSlash(s.Path)))
	if key, replica := StoreKey(s.Path); replica && store != nil && errors.Is(err, fs.ErrNotExist) {
		return verifyStored(store, key, s, quick)
	}
	if err != nil {
		if os.IsNotExist(err) {
			return Problem{s, "missing", "the file is gone"}, false
		}
		return Problem{s, "unreadable", err.Error()}, false
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return Problem{s, "unreadable", err.Error()}, false
	}
	if st.Size() != s.Bytes {
		return Problem{s, "size", fmt.Sprintf("%d bytes on disk, %d recorded", st.Size(), s.Bytes)}, false
	}
	if quick || s.SHA256 == "" {
		return Problem{}, true
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return Problem{s, "unreadable", err.Error()}, false
	}
	if sum := hex.EncodeToString(h.Sum(nil)); sum != s.SHA256 {
		return Problem{s, "sha256", fmt.Sprintf("%s on disk, %s recorded", sum, s.SHA256)}, false
	}
	return Problem{}, true
}

// layoutProblem says why a segment's path is not where its camera key puts
// it: an own camera's (no '/') outside ReplicaDir, a replica camera's
// ("ORIGIN/Camera1") at .replicas/ORIGIN/Camera1/....
func layoutProblem(s Segment) string {
	origin, cam, replica := strings.Cut(s.Camera, "/")
	if !replica {
		if strings.HasPrefix(s.Path, ReplicaDir+"/") {
			return "an own camera's segment lies among the replicas"
		}
		return ""
	}
	if !strings.HasPrefix(s.Path, ReplicaDir+"/") {
		return fmt.Sprintf("a replica outside %s/ (the node has not migrated it yet: start it once)", ReplicaDir)
	}
	if !strings.HasPrefix(s.Path, ReplicaPath(origin, cam)+"/") {
		return fmt.Sprintf("a replica of %s outside %s/", s.Camera, ReplicaPath(origin, cam))
	}
	return ""
}

// verifyStored checks a replica held in the store.
func verifyStored(store objstore.Store, key string, s Segment, quick bool) (Problem, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	st, err := store.Stat(ctx, key)
	switch {
	case errors.Is(err, objstore.ErrNotFound):
		return Problem{s, "missing", "the object is gone from " + store.Name()}, false
	case err != nil:
		return Problem{s, "unreadable", err.Error()}, false
	case st.Size != s.Bytes:
		return Problem{s, "size", fmt.Sprintf("%d bytes in the store, %d recorded", st.Size, s.Bytes)}, false
	case st.SHA256 != s.SHA256:
		return Problem{s, "sha256", fmt.Sprintf("stored with sha256 %s, %s recorded", st.SHA256, s.SHA256)}, false
	case quick:
		return Problem{}, true
	}
	r, err := store.Open(ctx, key, 0, -1)
	if err != nil {
		return Problem{s, "unreadable", err.Error()}, false
	}
	defer r.Close()
	h := sha256.New()
	n, err := io.Copy(h, r)
	if err != nil {
		return Problem{s, "unreadable", err.Error()}, false
	}
	if sum := hex.EncodeToString(h.Sum(nil)); sum != s.SHA256 || n != s.Bytes {
		return Problem{s, "sha256", fmt.Sprintf("%d bytes in the store hash to %s, %s recorded (altered outside this node)", n, sum, s.SHA256)}, false
	}
	return Problem{}, true
}
