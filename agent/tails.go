package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/kuzet/kuzet/archive"
	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/federation"
)

// The last minutes of a descendant's camera are in a file the site is
// still writing: not indexed, so not replicated yet. A range reaching into
// them is played from a tail (archive.TailDir), the whole fragments of
// that file fetched through the links on demand; each fetch appends only
// what was written since the last one, and each node between keeps its
// own tail, so the next ancestor's fetch is served from there.

// tailLocks serialises the fetches of one camera's tail: two players
// asking at once append to the file one after the other.
type tailLocks struct {
	mu sync.Mutex
	m  map[string]*sync.Mutex
}

func (t *tailLocks) lock(key string) func() {
	t.mu.Lock()
	if t.m == nil {
		t.m = map[string]*sync.Mutex{}
	}
	l, ok := t.m[key]
	if !ok {
		l = &sync.Mutex{}
		t.m[key] = l
	}
	t.mu.Unlock()
	l.Lock()
	return l.Unlock
}

// openFile resolves origin's open file of camera for a parent: this
// node's own file being written, or a descendant's, fetched into this
// node's tail first.
func (a *Agent) openFile(ctx context.Context, origin, camera string) (federation.OpenFile, error) {
	if origin == a.cfg.Node.ID {
		f, ok := a.archive.Open(camera)
		if !ok {
			return federation.OpenFile{}, fmt.Errorf("camera %s is writing no file now", camera)
		}
		return federation.OpenFile{Local: a.archive.Abs(f.Path), Path: f.Path, Start: f.Start, Size: f.Size}, nil
	}
	f, err := a.fetchTail(ctx, origin, camera, false)
	if err != nil {
		return federation.OpenFile{}, err
	}
	p, err := a.archive.TailPath(origin, f.Path)
	if err != nil {
		return federation.OpenFile{}, err
	}
	return federation.OpenFile{Local: p, Path: f.Path, Start: f.Start, Size: f.Size}, nil
}

// fetchTail brings this node's tail of origin's open file of camera up to
// what the child leading to origin holds, and returns it. When the site has
// moved on to its next file, the new tail replaces the old one; a player's
// fetch (pullClosed) first pulls the file that closed as a segment, so
// that what the old tail held stays playable here throughout (the range
// pulled before this fetch may have missed it by moments).
func (a *Agent) fetchTail(ctx context.Context, origin, camera string, pullClosed bool) (archive.OpenFile, error) {
	if a.fedSrv == nil {
		return archive.OpenFile{}, fmt.Errorf("open file of %s/%s: %w", origin, camera, federation.ErrNoRoute)
	}
	key := event.ReplicaCamera(origin, camera)
	defer a.tails.lock(key)()
	prev, hadPrev := a.archive.Tail(origin, camera)
	have, ok := prev, hadPrev
	if ok {
		// resume only from a tail still whole on disk
		p, err := a.archive.TailPath(origin, have.Path)
		if st, serr := os.Stat(p); err != nil || serr != nil || st.Size() < have.Size {
			have = archive.OpenFile{}
		}
	}
	head, body, err := a.fedSrv.FetchOpen(ctx, origin, camera, have.Path, have.Size)
	if err != nil {
		return archive.OpenFile{}, err
	}
	defer body.Close()
	p, err := a.archive.TailPath(origin, head.Path)
	if err != nil {
		return archive.OpenFile{}, err
	}
	if err := a.archive.MkdirFor(p); err != nil {
		return archive.OpenFile{}, err
	}
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o640) // the archive's file mode
	if err != nil {
		return archive.OpenFile{}, err
	}
	defer f.Close()
	if _, err := f.Seek(head.From, io.SeekStart); err != nil {
		return archive.OpenFile{}, err
	}
	n, err := io.CopyN(f, &ctxReader{ctx: ctx, r: body}, head.Size-head.From)
	if err != nil {
		return archive.OpenFile{}, fmt.Errorf("receive open file %s of %s at %d: %w", head.Path, origin, head.From+n, err)
	}
	if err := f.Truncate(head.Size); err != nil {
		return archive.OpenFile{}, err
	}
	tl := archive.OpenFile{Path: head.Path, Start: head.Start, Size: head.Size}
	if pullClosed && hadPrev && prev.Path != head.Path && head.Start.After(prev.Start) {
		// the site indexes a file before it opens the next one
		if n, err := a.FetchRange(ctx, key, prev.Start, head.Start); err != nil {
			a.log.Warn("the file closed at the site not pulled", "camera", key, "path", prev.Path, "err", err)
		} else if n > 0 {
			a.log.Info("the file closed at the site pulled before its tail is dropped", "camera", key, "path", prev.Path)
		}
	}
	if err := a.archive.SetTail(origin, tl); err != nil {
		return archive.OpenFile{}, err
	}
	a.log.Debug("open file fetched", "origin", origin, "path", head.Path, "from", head.From, "bytes", n)
	return tl, nil
}

// ctxReader stops a copy when its context ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// tailWindow is how far back a range's end may lie for the file being
// written to matter: a segment closes within minutes.
const tailWindow = time.Hour

// pullTail fetches the open file of a descendant's camera when the range
// ends, in the last hour, after every segment known here: only then can
// the file the site is still writing hold its end. A range ending in a gap
// between closed segments fetches nothing (the open file would be a whole
// segment's worth of bytes over the uplink for nothing).
func (a *Agent) pullTail(ctx context.Context, key string, to time.Time) error {
	origin, camera := a.splitCamera(key)
	if origin == a.cfg.Node.ID || a.fedSrv == nil || to.Before(time.Now().Add(-tailWindow)) {
		return nil
	}
	switch st, _ := a.tree.CameraState(origin, camera); st {
	case "failed", "stopped", "disabled":
		return nil // a camera that does not stream writes no file
	}
	end := to.Add(-time.Nanosecond)
	segs, err := a.archive.Index().Segments(key, end, to.Add(tailWindow))
	if err != nil || len(segs) > 0 {
		return err
	}
	if a.fetchQ != nil {
		known, err := a.fetchQ.Known(origin, camera, end, to.Add(tailWindow))
		if err != nil || len(known) > 0 {
			return err
		}
	}
	_, err = a.fetchTail(ctx, origin, camera, true)
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}
