package agent

import (
	"context"
	"sync"
	"time"
)

// snapshotPullTimeout bounds one pull of a descendant's snapshot.
const snapshotPullTimeout = 30 * time.Second

// snapshotPulls runs at most one pull per snapshot, for every request that
// wants it, and lets it finish (and keep the file) when the request that
// started it goes away: a console that re-renders its alarm list every few
// seconds drops each photo request before a slow link has delivered it,
// and a pull cancelled with each would never be kept.
type snapshotPulls struct {
	mu sync.Mutex
	m  map[string]*snapshotPull
}

type snapshotPull struct {
	done chan struct{}
	err  error
}

// do waits for the pull of key, started with pull in ctx (bounded by
// snapshotPullTimeout) unless one is running, or for wait to end.
func (s *snapshotPulls) do(wait, ctx context.Context, key string, pull func(context.Context) error) error {
	s.mu.Lock()
	if s.m == nil {
		s.m = map[string]*snapshotPull{}
	}
	p, running := s.m[key]
	if !running {
		p = &snapshotPull{done: make(chan struct{})}
		s.m[key] = p
		go func() {
			ctx, cancel := context.WithTimeout(ctx, snapshotPullTimeout)
			defer cancel()
			p.err = pull(ctx)
			s.mu.Lock()
			delete(s.m, key)
			s.mu.Unlock()
			close(p.done)
		}()
	}
	s.mu.Unlock()
	select {
	case <-p.done:
		return p.err
	case <-wait.Done():
		return wait.Err()
	}
}
