package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/kuzet/kuzet/sdk/plugin"
)

// watcher reads one camera's frames and posts its colour changes.
type watcher struct {
	c         *plugin.Client
	camera    string
	det       *detector
	snapLimit int
	log       *slog.Logger
}

// run reads frames until ctx ends, asking again 1 s after a stream ends.
// A refusal of the request itself (4xx: the camera is no longer granted)
// is fatal, so that the restarted plugin reads its grants afresh.
func (w *watcher) run(ctx context.Context) error {
	for {
		err := w.stream(ctx)
		if ctx.Err() != nil {
			return nil
		}
		var e *plugin.Error
		if errors.As(err, &e) && e.Status >= 400 && e.Status < 500 {
			return fmt.Errorf("camera %s: %w", w.camera, err)
		}
		w.log.Warn("frames stream ended; asking again", "err", err, "in", retry)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(retry):
		}
	}
}

func (w *watcher) stream(ctx context.Context) error {
	fs, err := w.c.Frames(ctx, w.camera)
	if err != nil {
		return err
	}
	defer fs.Close()
	var dropped uint64
	for {
		f, err := fs.Next()
		if err != nil {
			return err
		}
		if f.Dropped > dropped+10 {
			w.log.Info("falling behind: frames dropped", "dropped", f.Dropped)
			dropped = f.Dropped
		}
		mean, ok := meanColor(f)
		if !ok {
			continue
		}
		if ch, ok := w.det.observe(time.Now(), mean); ok {
			w.post(ctx, f, ch)
		}
	}
}

// post sends the event; a refusal is logged, not fatal: the detector has
// already moved on, and the next change will be posted.
func (w *watcher) post(ctx context.Context, f plugin.Frame, ch change) {
	snap, err := snapshot(f, w.snapLimit)
	if err != nil {
		w.log.Warn("event without snapshot", "err", err)
	}
	out := colorEvent(w.camera, f, ch, snap)
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	err = w.c.Post(ctx, out)
	var e *plugin.Error
	switch {
	case err == nil:
		w.log.Info("posted", "message", out.Message, "snapshot_bytes", len(snap))
	case errors.Is(err, plugin.ErrRateLimited):
		w.log.Warn("event refused: over events_per_minute", "message", out.Message)
	case errors.As(err, &e) && e.Status == http.StatusRequestEntityTooLarge:
		w.log.Warn("event refused: snapshot too large", "snapshot_bytes", len(snap))
	default:
		w.log.Error("event not posted", "err", err)
	}
}
