package tamper

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"time"
)

// stateVersion is bumped when the file's meaning changes; an older file is
// set aside and the scene learned again.
const stateVersion = 1

// stateFile is what a detector keeps across restarts: the learned
// reference (so that a camera moved while the node was down is still
// noticed) and which alarms it has raised (so that it clears them).
type stateFile struct {
	Version   int                  `json:"version"`
	Camera    string               `json:"camera"`
	Width     int                  `json:"width"`
	Height    int                  `json:"height"`
	Grey      string               `json:"grey"` // base64 of little-endian uint16, luma x 256
	Sharpness float64              `json:"sharpness"`
	Match     float64              `json:"match"`
	Raised    map[string]time.Time `json:"raised,omitempty"` // kind -> when
	Saved     time.Time            `json:"saved"`
}

// maxStateSide bounds the reference picture a state file may describe.
const maxStateSide = 2048

// encodeState serialises a learned reference and the raised alarms.
func encodeState(camera string, r *reference, raised map[Kind]time.Time, now time.Time) ([]byte, error) {
	s := stateFile{Version: stateVersion, Camera: camera, Saved: now.UTC(), Raised: map[string]time.Time{}}
	for k, t := range raised {
		s.Raised[string(k)] = t.UTC()
	}
	if r != nil && r.learned {
		buf := make([]byte, 2*len(r.grey))
		for i, v := range r.grey {
			binary.LittleEndian.PutUint16(buf[2*i:], uint16(math.Round(float64(max(0, min(255, v)))*256)))
		}
		s.Width, s.Height, s.Grey = r.w, r.h, base64.StdEncoding.EncodeToString(buf)
		s.Sharpness, s.Match = r.sharp, r.match
	}
	return json.MarshalIndent(s, "", " ")
}

// decodeState parses a state file for camera. The reference is nil when
// the file holds none. Anything inconsistent is an error naming it.
func decodeState(b []byte, camera string) (*reference, map[Kind]time.Time, error) {
	var s stateFile
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, nil, fmt.Errorf("decode: %w", err)
	}
	if s.Version != stateVersion {
		return nil, nil, fmt.Errorf("version %d, want %d", s.Version, stateVersion)
	}
	if s.Camera != camera {
		return nil, nil, fmt.Errorf("file is for camera %q, not %q", s.Camera, camera)
	}
	raised := map[Kind]time.Time{}
	for k, t := range s.Raised {
		kind := Kind(k)
		if !kind.valid() {
			return nil, nil, fmt.Errorf("raised: unknown kind %q", k)
		}
		raised[kind] = t
	}
	if s.Grey == "" && s.Width == 0 && s.Height == 0 {
		return nil, raised, nil
	}
	if s.Width < cellsX || s.Height < cellsY || s.Width > maxStateSide || s.Height > maxStateSide {
		return nil, nil, fmt.Errorf("reference size %dx%d out of range", s.Width, s.Height)
	}
	raw, err := base64.StdEncoding.DecodeString(s.Grey)
	if err != nil {
		return nil, nil, fmt.Errorf("grey: %w", err)
	}
	if len(raw) != 2*s.Width*s.Height {
		return nil, nil, fmt.Errorf("grey: %d bytes for a %dx%d reference", len(raw), s.Width, s.Height)
	}
	if !(s.Sharpness >= 0) || math.IsInf(s.Sharpness, 0) {
		return nil, nil, fmt.Errorf("sharpness %v is not a number of at least 0", s.Sharpness)
	}
	if !(s.Match >= 0 && s.Match <= 1) {
		return nil, nil, fmt.Errorf("match %v is not a share in [0, 1]", s.Match)
	}
	r := &reference{w: s.Width, h: s.Height, grey: make([]float32, s.Width*s.Height),
		sharp: s.Sharpness, match: s.Match, learned: true}
	for i := range r.grey {
		v := float32(binary.LittleEndian.Uint16(raw[2*i:])) / 256
		if v > 255 {
			return nil, nil, fmt.Errorf("grey: level %v at %d over 255", v, i)
		}
		r.grey[i] = v
	}
	r.edges = laplacian(r.grey, r.w, r.h)
	return r, raised, nil
}

// writeFileAtomic replaces path with b so that a crash leaves the old or
// the new file, never a torn one.
func writeFileAtomic(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	_, werr := f.Write(b)
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}
