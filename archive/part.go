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
	"strings"
)

// Part is one replica being assembled: resumed from Offset, verified and
// indexed by Import.
type Part interface {
	Offset() int64
	Write(p []byte) (int, error)
	Import(ctx context.Context) error
	Close() error
}

// OpenPart opens where origin's segment s (s.Path and s.Camera as at the
// origin) is assembled: a part file beside its final place on this disk,
// or, with a Store, an upload to it that any replica of the tier can
// resume. A part whose Offset is s.Bytes is held whole already. Errors
// wrapping event.ErrReplicaRefused mean never: a path not in the origin's
// layout, or a place that holds another segment.
func (a *Archive) OpenPart(ctx context.Context, origin string, s Segment) (Part, error) {
	part, err := a.PartPath(origin, s.Path)
	if err != nil {
		return nil, err
	}
	if cam, _, _ := strings.Cut(s.Path, "/"); cam != s.Camera {
		return nil, fmt.Errorf("segment path %s does not belong to camera %q of %s: %w", s.Path, s.Camera, origin, ErrReplicaConflict)
	}
	if a.o.Store != nil {
		return a.openStorePart(ctx, origin, s)
	}
	if err := a.MkdirFor(part); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(part, os.O_RDWR|os.O_CREATE, FileMode)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	off := st.Size()
	if off > s.Bytes {
		off = 0 // not this file: start over
		if err := f.Truncate(0); err != nil {
			f.Close()
			return nil, err
		}
	}
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	return &filePart{a: a, origin: origin, s: s, f: f, off: off}, nil
}

// filePart assembles a replica in a file beside its final place.
type filePart struct {
	a      *Archive
	origin string
	s      Segment
	f      *os.File
	off    int64
	closed bool
}

func (p *filePart) Offset() int64 { return p.off }

func (p *filePart) Write(b []byte) (int, error) {
	n, err := p.f.Write(b)
	p.off += int64(n)
	return n, err
}

func (p *filePart) Close() error {
	if p.closed {
		return nil
	}
	p.closed = true
	return p.f.Close()
}

// Import syncs and hashes the whole part; bytes that do not match the
// segment are dropped, so the next attempt starts clean.
func (p *filePart) Import(context.Context) error {
	if err := p.f.Sync(); err != nil {
		return err
	}
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(p.f, 0, p.s.Bytes)); err != nil {
		return err
	}
	name := p.f.Name()
	sum := hex.EncodeToString(h.Sum(nil))
	if err := p.Close(); err != nil {
		return err
	}
	if sum != p.s.SHA256 || p.off != p.s.Bytes {
		if err := os.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
			p.a.o.Logger.Warn("remove corrupt replica part", "path", name, "err", err)
		}
		return fmt.Errorf("%d bytes with sha256 %s do not match the recorded %d bytes, sha256 %s", p.off, sum, p.s.Bytes, p.s.SHA256)
	}
	return p.a.ImportReplica(p.origin, p.s, name)
}
