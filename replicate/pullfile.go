package replicate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"

	"github.com/kuzet/kuzet/event"
)

// fetchOne pulls one file into its part file, verifies it and hands it to
// the store. A part file left by an earlier attempt is resumed from its
// end. It returns the bytes transferred.
func (p *Puller) fetchOne(ctx context.Context, src Source, f Fetch, perChild *Limiter) (int64, error) {
	part, err := p.Store.PartPath(f.Origin, f.Path)
	if err != nil {
		return 0, err
	}
	if err := p.Store.MkdirFor(part); err != nil {
		return 0, err
	}
	file, err := os.OpenFile(part, os.O_RDWR|os.O_CREATE, 0o640) // the archive's file mode
	if err != nil {
		return 0, err
	}
	defer file.Close()
	st, err := file.Stat()
	if err != nil {
		return 0, err
	}
	offset := st.Size()
	if offset > f.Bytes {
		offset = 0 // not this file: start over
		if err := file.Truncate(0); err != nil {
			return 0, err
		}
	}
	var n int64
	if offset < f.Bytes {
		n, err = p.download(ctx, src, f, file, offset, perChild)
		if err != nil {
			return n, err
		}
	}
	if err := file.Sync(); err != nil {
		return n, err
	}
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(file, 0, f.Bytes)); err != nil {
		return n, err
	}
	if sum := hex.EncodeToString(h.Sum(nil)); sum != f.SHA256 {
		_ = os.Remove(part) // corrupt: the next attempt starts clean
		return n, fmt.Errorf("sha256 %s does not match the recorded %s", sum, f.SHA256)
	}
	seg := event.Segment{Camera: f.Camera, Start: f.Start, End: f.End, Path: f.Path, Bytes: f.Bytes, SHA256: f.SHA256}
	return n, p.Store.ImportReplica(f.Origin, seg, part)
}

// download appends the bytes of f from offset on to file, under the caps.
func (p *Puller) download(ctx context.Context, src Source, f Fetch, file *os.File, offset int64, perChild *Limiter) (int64, error) {
	size, body, err := src.Fetch(ctx, f.Origin, f.Path, offset)
	if err != nil {
		return 0, err
	}
	defer body.Close()
	if size != f.Bytes {
		return 0, fmt.Errorf("child holds %d bytes, the segment has %d", size, f.Bytes)
	}
	if _, err := file.Seek(offset, io.SeekStart); err != nil {
		return 0, err
	}
	r := &LimitedReader{Ctx: ctx, R: body, Limiters: []*Limiter{perChild, p.Total}}
	n, err := io.CopyN(file, r, f.Bytes-offset)
	if err != nil {
		return n, fmt.Errorf("receive %s at %d: %w", f.Path, offset+n, err)
	}
	return n, nil
}
