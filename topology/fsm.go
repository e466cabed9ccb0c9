package topology

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/raft"
)

// Change tells a watcher that the catalogue moved to Revision.
type Change struct {
	Revision uint64      `json:"revision"`
	Type     CommandType `json:"type,omitempty"` // empty when Restored
	Key      string      `json:"key,omitempty"`  // node, site/camera, zone, user or policy node
	// Restored: the whole catalogue was replaced from a snapshot.
	Restored bool `json:"restored,omitempty"`
	// Missed: the watcher fell behind and earlier changes were dropped;
	// re-read the catalogue rather than relying on the changes seen.
	Missed bool `json:"missed,omitempty"`
}

// watchBuffer is how far a watcher may lag before changes are dropped:
// the catalogue never waits for a slow reader.
const watchBuffer = 64

type watcher struct {
	ch     chan Change
	missed bool
	stop   func() bool
}

// applyResult is what the FSM answers to one log entry.
type applyResult struct {
	rev uint64
	err error
}

// fsm is the Raft state machine: the current catalogue, replaced whole on
// every change so readers never lock.
type fsm struct {
	log *slog.Logger
	cur atomic.Pointer[Catalogue]

	mu       sync.Mutex
	changed  chan struct{} // closed and replaced on every change
	watchers map[*watcher]struct{}
	halted   error
	closed   bool
}

func newFSM(log *slog.Logger) *fsm {
	f := &fsm{log: log, changed: make(chan struct{}), watchers: map[*watcher]struct{}{}}
	f.cur.Store(emptyCatalogue())
	return f
}

func (f *fsm) catalogue() *Catalogue { return f.cur.Load() }

// Apply runs one committed command (raft.FSM).
func (f *fsm) Apply(l *raft.Log) any {
	if l.Type != raft.LogCommand {
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.halted != nil {
		return applyResult{err: f.halted}
	}
	cmd, err := DecodeCommand(l.Data)
	if err != nil {
		if v := commandVersion(l.Data); v > SchemaVersion {
			// Applying around a change this build cannot read would leave
			// this replica different from the others; stop applying and say
			// so until the node is upgraded (it replays on restart).
			f.halted = errorf(CodeUnavailable, "catalogue replica halted at revision %d: entry %d has schema v%d, this node reads up to v%d; upgrade it", f.cur.Load().revision, l.Index, v, SchemaVersion)
			f.log.Error("catalogue halted", "err", f.halted)
			return applyResult{err: f.halted}
		}
		return applyResult{err: err}
	}
	next, err := f.cur.Load().apply(cmd)
	if err != nil {
		return applyResult{err: err}
	}
	next.revision = l.Index
	f.setLocked(next, Change{Revision: l.Index, Type: cmd.Type, Key: commandKey(cmd)})
	return applyResult{rev: l.Index}
}

func commandVersion(b []byte) int {
	v, _ := version(b, "v")
	return v
}

func commandKey(c Command) string {
	switch {
	case c.Node != nil:
		return c.Node.ID
	case c.Camera != nil:
		return c.Camera.Key()
	case c.Zone != nil:
		return c.Zone.ID
	case c.User != nil:
		return c.User.Name
	case c.Policy != nil:
		return c.Policy.Node
	case c.Type == DeleteCamera:
		return CameraKey(c.Site, c.ID)
	}
	return c.ID
}

// setLocked publishes a new catalogue and tells waiters and watchers.
func (f *fsm) setLocked(c *Catalogue, ch Change) {
	f.cur.Store(c)
	close(f.changed)
	f.changed = make(chan struct{})
	for w := range f.watchers {
		c := ch
		c.Missed = w.missed
		select {
		case w.ch <- c:
			w.missed = false
			continue
		default:
		}
		// full: drop the oldest so that the newest revision always arrives
		select {
		case <-w.ch:
		default:
		}
		c.Missed = true
		select {
		case w.ch <- c:
			w.missed = false
		default:
			w.missed = true
		}
	}
}

// Snapshot captures the current catalogue (raft.FSM). It is immutable, so
// persisting it needs no lock.
func (f *fsm) Snapshot() (raft.FSMSnapshot, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.halted != nil {
		return nil, f.halted
	}
	return &fsmSnapshot{cat: f.cur.Load()}, nil
}

// Restore replaces the catalogue with a snapshot (raft.FSM).
func (f *fsm) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	c, err := readSnapshot(rc)
	if err != nil {
		return fmt.Errorf("restore catalogue: %w", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.halted = nil
	f.setLocked(c, Change{Revision: c.revision, Restored: true})
	return nil
}

// waitRevision blocks until the catalogue has reached rev.
func (f *fsm) waitRevision(ctx context.Context, rev uint64) (*Catalogue, error) {
	for {
		f.mu.Lock()
		c, ch := f.cur.Load(), f.changed
		f.mu.Unlock()
		if c.revision >= rev {
			return c, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, errorf(CodeUnavailable, "this replica has not caught up to revision %d (at %d): %v", rev, c.revision, ctx.Err())
		}
	}
}

// watch sends changes until ctx ends or the replica closes.
func (f *fsm) watch(ctx context.Context) <-chan Change {
	w := &watcher{ch: make(chan Change, watchBuffer)}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		close(w.ch)
		return w.ch
	}
	f.watchers[w] = struct{}{}
	w.stop = context.AfterFunc(ctx, func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		if _, ok := f.watchers[w]; ok {
			delete(f.watchers, w)
			close(w.ch)
		}
	})
	return w.ch
}

// close ends every watch.
func (f *fsm) close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	for w := range f.watchers {
		w.stop()
		close(w.ch)
		delete(f.watchers, w)
	}
}

type fsmSnapshot struct{ cat *Catalogue }

func (s *fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	b, err := EncodeSnapshot(s.cat)
	if err == nil {
		_, err = sink.Write(b)
	}
	if err != nil {
		sink.Cancel()
		return fmt.Errorf("persist catalogue snapshot: %w", err)
	}
	return sink.Close()
}

func (s *fsmSnapshot) Release() {}
