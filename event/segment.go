package event

import (
	"errors"
	"fmt"
	"path"
	"strings"
	"time"
)

// Segment is a closed recording file as a node's archive lists it and as
// it travels between nodes: in segment.closed events, in a child's index
// listing and in the fetch that pulls it up.
type Segment struct {
	Camera   string    `json:"camera"`
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
	Path     string    `json:"path"` // relative to the archive root, '/'-separated
	Bytes    int64     `json:"bytes"`
	SHA256   string    `json:"sha256"`
	Codec    string    `json:"codec"`
	Width    int       `json:"width,omitempty"`
	Height   int       `json:"height,omitempty"`
	Repaired bool      `json:"repaired,omitempty"` // truncated to its last complete fragment after a crash
}

// Duration of the segment.
func (s Segment) Duration() time.Duration { return s.End.Sub(s.Start) }

// CheckRel refuses a segment path that could leave the archive or is not
// a segment file: it must be relative, clean, and end in .mp4. Paths come
// from other nodes' events and listings, so every stage checks them.
func CheckRel(rel string) error {
	if rel == "" || path.IsAbs(rel) || path.Clean(rel) != rel || strings.HasPrefix(rel, "../") ||
		rel == ".." || strings.Contains(rel, "\\") || !strings.HasSuffix(rel, ".mp4") {
		return fmt.Errorf("segment path %q is not a clean relative .mp4 path", rel)
	}
	return nil
}

// ReplicaCamera is the index key of origin's camera on a node that holds
// replicas of it: "site-a/Camera1". A camera ID never holds a '/', so the
// key cannot be taken for one of the node's own cameras.
func ReplicaCamera(origin, camera string) string { return origin + "/" + camera }

// ErrReplicaRefused means a store will never take a replica as described:
// its origin or path is not valid there, or it conflicts with what is
// held. Retrying cannot help; a fetch failing with it should be dropped,
// not retried.
var ErrReplicaRefused = errors.New("replica refused")
