package event

import (
	"context"
	"time"
)

// followIdle is how long a follower waits for the log to grow before it
// looks again anyway.
const followIdle = 5 * time.Second

// Follow runs step until ctx ends: again at once while it makes progress
// (it read events), else once the log grows or followIdle has passed. An
// error goes to onErr and counts as no progress. Indexes that keep their
// own position in the log follow it this way.
func (l *Log) Follow(ctx context.Context, step func() (int, error), onErr func(error)) {
	wake, stop := l.Watch(16)
	defer stop()
	for {
		n, err := step()
		if err != nil {
			onErr(err)
		}
		if n > 0 && err == nil {
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-time.After(followIdle):
		}
	}
}
