package replicate

import (
	"context"
	"fmt"
	"io"

	"github.com/kuzet/kuzet/event"
)

// fetchOne pulls one file into its part, has the store verify and import
// it. A part left by an earlier attempt — this node's, or another
// replica's in a shared store — is resumed from its offset. It returns
// the bytes transferred.
func (p *Puller) fetchOne(ctx context.Context, src Source, f Fetch, perChild *Limiter) (int64, error) {
	seg := event.Segment{Camera: f.Camera, Start: f.Start, End: f.End, Path: f.Path, Bytes: f.Bytes, SHA256: f.SHA256}
	part, err := p.Store.OpenPart(ctx, f.Origin, seg)
	if err != nil {
		return 0, err
	}
	defer part.Close()
	var n int64
	if offset := part.Offset(); offset < f.Bytes {
		n, err = p.download(ctx, src, f, part, offset, perChild)
		if err != nil {
			return n, err
		}
	}
	return n, part.Import(ctx)
}

// download appends the bytes of f from offset on to the part, under the
// caps.
func (p *Puller) download(ctx context.Context, src Source, f Fetch, part Part, offset int64, perChild *Limiter) (int64, error) {
	size, body, err := src.Fetch(ctx, f.Origin, f.Path, offset)
	if err != nil {
		return 0, err
	}
	defer body.Close()
	if size != f.Bytes {
		return 0, fmt.Errorf("child holds %d bytes, the segment has %d", size, f.Bytes)
	}
	r := &LimitedReader{Ctx: ctx, R: body, Limiters: []*Limiter{perChild, p.Total}}
	n, err := io.CopyN(part, r, f.Bytes-offset)
	if err != nil {
		return n, fmt.Errorf("receive %s at %d: %w", f.Path, offset+n, err)
	}
	return n, nil
}
