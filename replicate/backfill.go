package replicate

import (
	"context"
	"time"

	"github.com/kuzet/kuzet/event"
)

// backfill asks a newly linked child for its index and queues what this
// node lacks, so that whatever it missed is pulled under the caps.
func (p *Puller) backfill(ctx context.Context, child string, src Source) {
	if p.Planner == nil {
		return
	}
	since := time.Now().Add(-p.Backfill)
	if p.Backfill <= 0 {
		since = time.Time{}
	}
	listed, err := src.Index(ctx, since)
	if err != nil {
		if ctx.Err() == nil {
			p.Logger.Warn("back-fill: child index not read", "child", child, "err", err)
		}
		return
	}
	n, err := p.reconcile(child, listed)
	if err != nil {
		p.Logger.Error("back-fill: reconcile", "child", child, "err", err)
		return
	}
	p.Logger.Info("back-fill compared indexes", "child", child, "listed", len(listed), "queued", n)
}

// reconcile queues what a child holds and this node lacks. Listings come
// from another node: segments without a usable path or checksum are
// skipped, and so are this node's own.
func (p *Puller) reconcile(child string, listed []Listed) (int, error) {
	fs := make([]Fetch, 0, len(listed))
	for _, e := range listed {
		s := e.Segment
		if e.Origin == p.Self || event.CheckRel(s.Path) != nil || s.SHA256 == "" {
			continue
		}
		fs = append(fs, Fetch{Origin: e.Origin, Camera: s.Camera, Start: s.Start, End: s.End,
			Path: s.Path, Bytes: s.Bytes, SHA256: s.SHA256})
	}
	return p.Planner.Reconcile(child, fs, p.holds)
}

// holds reports whether this node holds origin's segment rel.
func (p *Puller) holds(origin, rel string) bool {
	_, err := p.Local(origin, rel)
	return err == nil
}
