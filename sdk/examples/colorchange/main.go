// Command colorchange is a Kuzet analytics plugin that raises
// color_change when the mean colour of a camera's picture moves from the
// colour it had settled on: a light left on, a screen or sign changing,
// a camera covered or turned.
//
// The node starts it; see docs/plugins.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/kuzet/kuzet/sdk/plugin"
)

type config struct {
	threshold float64
	cooldown  time.Duration
	smooth    int
}

// retry is the wait before asking again for a stream that ended.
const retry = time.Second

func main() {
	var cfg config
	flag.Float64Var(&cfg.threshold, "threshold", 40, "change of mean colour that raises an event: Euclidean distance in 0..255 RGB")
	flag.DurationVar(&cfg.cooldown, "cooldown", 10*time.Second, "least time between two events of one camera")
	flag.IntVar(&cfg.smooth, "smooth", 4, "frames the mean colour is smoothed over")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if cfg.threshold <= 0 || cfg.cooldown < 0 || cfg.smooth < 1 {
		log.Error("bad flags: -threshold must be > 0, -cooldown >= 0, -smooth >= 1")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, log); err != nil {
		log.Error("fatal", "err", err)
		os.Exit(1) // the node starts the plugin again
	}
}

// run watches every granted camera until ctx ends or one of them fails
// for good.
func run(ctx context.Context, cfg config, log *slog.Logger) error {
	c, err := plugin.Connect()
	if err != nil {
		return err
	}
	hello, err := c.Hello(ctx)
	if err != nil {
		return err
	}
	log.Info("started", "plugin", hello.Name, "node", hello.Node, "cameras", hello.Cameras,
		"frames", fmt.Sprintf("%+v", hello.Frames), "threshold", cfg.threshold, "cooldown", cfg.cooldown)
	if len(hello.Cameras) == 0 {
		// Exiting would only have the node start it again.
		log.Warn("no cameras granted: nothing to watch")
		<-ctx.Done()
		return nil
	}
	limit := snapshotMax
	if kb := hello.Limits.SnapshotKB; kb > 0 {
		limit = min(limit, kb<<10)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	for _, cam := range hello.Cameras {
		w := &watcher{c: c, camera: cam, det: newDetector(cfg.threshold, cfg.cooldown, cfg.smooth), snapLimit: limit,
			log: log.With("camera", cam)}
		wg.Go(func() {
			if err := w.run(ctx); err != nil {
				cancel(err)
			}
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}
