package replicate

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/kuzet/kuzet/event"
)

// Store is where a parent assembles and keeps its children's segments:
// its own disk, or object storage shared by the replicas of its tier.
type Store interface {
	// OpenPart opens where origin's segment s is assembled, resumed from
	// what an earlier attempt stored — here, or at another replica sharing
	// the store. A part whose Offset is s.Bytes is held whole already (the
	// shared store has it). An error wrapping event.ErrReplicaRefused
	// means never.
	OpenPart(ctx context.Context, origin string, s event.Segment) (Part, error)
}

// StoreFunc is a Store of one function: an archive whose parts are of
// its own (identical) interface type.
type StoreFunc func(ctx context.Context, origin string, s event.Segment) (Part, error)

// OpenPart calls f.
func (f StoreFunc) OpenPart(ctx context.Context, origin string, s event.Segment) (Part, error) {
	return f(ctx, origin, s)
}

// Part is one segment being assembled.
type Part interface {
	// Offset is how many bytes are held; the transfer resumes there.
	Offset() int64
	// Write appends bytes from Offset on.
	Write(p []byte) (int, error)
	// Import verifies the whole (size, sha256) and takes it as the
	// replica; bytes that do not match are dropped, so the next attempt
	// starts clean.
	Import(ctx context.Context) error
	// Close releases the part, keeping what it holds for a later attempt.
	Close() error
}

// Source is one child link as the puller reads the child's files over it.
type Source interface {
	// Fetch asks the child for origin's segment rel from offset on: size
	// is the whole file's as the child holds it, body the bytes from
	// offset to its end. Closing body releases the request.
	Fetch(ctx context.Context, origin, rel string, offset int64) (size int64, body io.ReadCloser, err error)
	// Index lists the segments the child holds, its own and its
	// subtree's replicas, that started at or after since.
	Index(ctx context.Context, since time.Time) ([]Listed, error)
}

// Listed is one segment of a child's index, in its origin's layout.
type Listed struct {
	Origin  string
	Segment event.Segment
}

// Puller pulls children's segment files into this node's store
// (NVMS-6.7, NVMS-6.19): from the durable queue, one file at a time per
// child link, resumed from what its part file holds, verified by sha256,
// under a cap per child and one over all children.
type Puller struct {
	Queue    *Queue
	Store    Store
	PerChild float64  // bytes per second per child link (0: unlimited)
	Total    *Limiter // over all children (nil: unlimited)
	// Planner reconciles a child's index after every link-up and queues
	// what this node lacks (NVMS-6.9; nil: no back-fill); Backfill is
	// how far back it looks (0: everything).
	Planner  *Planner
	Backfill time.Duration
	// Self is this node's ID: its own segments are never pulled.
	Self string
	// Local is where this node holds origin's segment rel, or an error
	// when it does not hold it (needed for back-fill and on demand).
	Local func(origin, rel string) (string, error)
	// Routes maps each origin reachable through a linked child to that
	// child (nil: none is known).
	Routes func() map[string]string
	// OnFail, if set, hears of every fetch that failed (it is retried).
	OnFail  func(origin string, err error)
	Logger  *slog.Logger
	Metrics *PullMetrics

	once sync.Once
}

func (p *Puller) init() {
	p.once.Do(func() {
		if p.Logger == nil {
			p.Logger = slog.New(slog.DiscardHandler)
		}
		if p.Metrics == nil {
			p.Metrics = NewPullMetrics(nil)
		}
	})
}

// Pull pulls child's queued files over src, and back-fills what its
// index lists, until ctx (the link) ends.
func (p *Puller) Pull(ctx context.Context, child string, src Source) {
	p.init()
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Add(1)
	go func() {
		defer wg.Done()
		p.backfill(ctx, child, src)
	}()
	p.fetchLoop(ctx, child, src)
}

// fetchLoop pulls the child's queued files one at a time until ctx ends.
func (p *Puller) fetchLoop(ctx context.Context, child string, src Source) {
	perChild := NewLimiter(p.PerChild)
	log := p.Logger.With("child", child)
	for {
		f, ok, err := p.Queue.Next(child)
		if err != nil {
			log.Error("read fetch queue", "err", err)
			return
		}
		if !ok {
			select {
			case <-ctx.Done():
				return
			case <-p.Queue.Wake(child):
			case <-time.After(5 * time.Second):
			}
			continue
		}
		start := time.Now()
		n, err := p.fetchOne(ctx, src, f, perChild)
		p.Metrics.FragmentBytes.WithLabelValues(child).Add(float64(n))
		if err == nil {
			if derr := p.Queue.Done(f); derr != nil {
				log.Error("dequeue fetch", "err", derr)
			}
			p.Metrics.Fragments.WithLabelValues(child).Inc()
			log.Info("fragment stored", "origin", f.Origin, "path", f.Path, "bytes", f.Bytes,
				"resumed_from", f.Bytes-n, "seconds", time.Since(start).Seconds())
			continue
		}
		if ctx.Err() != nil {
			return
		}
		if errors.Is(err, event.ErrReplicaRefused) {
			// the file conflicts with what this node holds: retrying would
			// only download it again to refuse it again
			log.Error("fragment refused", "origin", f.Origin, "path", f.Path, "err", err)
			if derr := p.Queue.Done(f); derr != nil {
				log.Error("dequeue fetch", "err", derr)
			}
			continue
		}
		log.Warn("fragment fetch failed", "origin", f.Origin, "path", f.Path, "err", err)
		if p.OnFail != nil {
			p.OnFail(f.Origin, err)
		}
		if p.rebind(f) {
			continue
		}
		_ = p.Queue.Failed(f)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

// route is the linked child leading to origin.
func (p *Puller) route(origin string) (string, bool) {
	if p.Routes == nil {
		return "", false
	}
	child, ok := p.Routes()[origin]
	return child, ok
}

// rebind moves a failed fetch to the child that now leads to its origin,
// when that is another one: the replica whose link announced the segment
// may have lost it with its disk, or never held it, while the origin now
// links through a sibling replica of its tier that does.
func (p *Puller) rebind(f Fetch) bool {
	child, ok := p.route(f.Origin)
	if !ok || child == f.Child {
		return false
	}
	moved := f
	moved.Child, moved.Tries = child, 0
	if err := p.Queue.Add(moved); err != nil {
		p.Logger.Error("move fetch", "origin", f.Origin, "path", f.Path, "to", child, "err", err)
		return false
	}
	if err := p.Queue.Done(f); err != nil {
		p.Logger.Error("dequeue moved fetch", "origin", f.Origin, "path", f.Path, "err", err)
	}
	p.Logger.Info("fetch moved to the child that now leads to its origin", "origin", f.Origin, "path", f.Path,
		"from", f.Child, "to", child)
	return true
}
