// Package site owns camera ingest: one RTSP session per camera with
// reconnects and health, and the fan-out of its access units to the
// recorder and other consumers, none of which can stall ingest.
package site

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kuzet/kuzet/config"
	"github.com/kuzet/kuzet/event"
)

// Options configure the site's cameras.
type Options struct {
	Cameras    []config.Camera
	Consumers  []Consumer
	Events     event.Emitter
	Logger     *slog.Logger
	Registerer prometheus.Registerer
	BackoffMin time.Duration // first retry delay (default 1s)
	BackoffMax time.Duration // cap (default 30s)
}

// Site runs every configured camera.
type Site struct {
	cams []*Camera
}

// New prepares the cameras; Run starts them.
func New(o Options) *Site {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.BackoffMin == 0 {
		o.BackoffMin = time.Second
	}
	if o.BackoffMax == 0 {
		o.BackoffMax = 30 * time.Second
	}
	m := newMetrics(o.Registerer)
	s := &Site{}
	for _, cfg := range o.Cameras {
		s.cams = append(s.cams, newCamera(cfg, &o, m))
	}
	return s
}

// Run runs all cameras until ctx ends and every consumer has closed.
func (s *Site) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, c := range s.cams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.run(ctx)
		}()
	}
	wg.Wait()
	<-ctx.Done() // a site with no enabled camera still lives as long as the node
}

// Status lists every camera in configuration order.
func (s *Site) Status() []Status {
	out := make([]Status, 0, len(s.cams))
	for _, c := range s.cams {
		out = append(out, c.Status())
	}
	return out
}
