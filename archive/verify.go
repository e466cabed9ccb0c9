package archive

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

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

// Verify checks every indexed segment under root against its record:
// present, of the recorded size and, unless quick, of the recorded sha256.
// The index's own structure is checked first.
func Verify(root string, x *Index, quick bool) (VerifyReport, error) {
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
			if p, ok := verifySegment(root, s, quick); !ok {
				r.Problems = append(r.Problems, p)
				continue
			}
			r.Bytes += s.Bytes
		}
	}
	return r, nil
}

func verifySegment(root string, s Segment, quick bool) (Problem, bool) {
	if err := event.CheckRel(s.Path); err != nil {
		return Problem{s, "unreadable", err.Error()}, false
	}
	if why := layoutProblem(s); why != "" {
		return Problem{s, "layout", why}, false
	}
	f, err := os.Open(filepath.Join(root, filepath.FromSlash(s.Path)))
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
