package agent

import (
	"context"
	"fmt"
	"time"
)

// Alive checks that the node's stores still answer, for a service
// manager's watchdog: the event log and the archive index can be read.
// A node stuck on a dead disk or a lock fails it (or never returns, which
// the watchdog counts the same).
func (a *Agent) Alive(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		a.events.Last()
		_, err := a.archive.Index().Cameras()
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("the archive index: %w", err)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("the event log or the archive index does not answer: %w", ctx.Err())
	}
}
