// Package site owns camera ingest: one RTSP session per camera with
// reconnects and health, the relays of descendants' cameras pulled through
// the links (Relays), and the bounded fan-out of either source's access
// units to the recorder and other consumers, none of which can stall
// ingest.
//
// Of the node's packages it imports only config, event and media. It may
// not import federation (a relay's remote stream comes in as a Feed from
// the caller) nor any consumer (each is a media.Consumer value).
package site

import (
	"context"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kuzet/kuzet/config"
	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/media"
)

// Options configure the site's cameras.
type Options struct {
	Cameras    []config.Camera
	Consumers  []media.Consumer
	Events     event.Emitter
	Logger     *slog.Logger
	Registerer prometheus.Registerer
	BackoffMin time.Duration // first retry delay (default 1s)
	BackoffMax time.Duration // cap (default 30s)
	// QualityWindow is how long frame rate and packet loss are measured
	// over before they are judged (default 10s; tests shorten it).
	QualityWindow time.Duration
}

// Site runs every configured camera; the set can change while it runs
// (a camera added in the catalogue starts without a restart).
type Site struct {
	o Options
	m *metrics

	mu   sync.Mutex
	cams []*Camera
	runs map[*Camera]*camRun
	ctx  context.Context // set by Run
	wg   sync.WaitGroup
}

type camRun struct {
	cancel context.CancelFunc
	done   chan struct{}
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
	s := &Site{o: o, m: newMetrics(o.Registerer), runs: map[*Camera]*camRun{}}
	for _, cfg := range withSubRecordings(o.Cameras) {
		s.cams = append(s.cams, newCamera(cfg, &s.o, s.m))
	}
	return s
}

// withSubRecordings adds, after each camera whose sub-stream is recorded
// (config.Camera.RecordsSub), that sub-stream as a session of its own.
func withSubRecordings(cams []config.Camera) []config.Camera {
	out := make([]config.Camera, 0, len(cams))
	for _, c := range cams {
		out = append(out, c)
		if c.RecordsSub() {
			out = append(out, c.SubRecording())
		}
	}
	return out
}

// isSub reports whether a session key is a recorded sub-stream.
func isSub(id string) bool { return strings.HasSuffix(id, config.SubStreamSuffix) }

// Run runs all cameras until ctx ends and every consumer has closed.
func (s *Site) Run(ctx context.Context) {
	s.mu.Lock()
	s.ctx = ctx
	for _, c := range s.cams {
		s.start(c)
	}
	s.mu.Unlock()
	<-ctx.Done() // a site with no enabled camera still lives as long as the node
	s.wg.Wait()
}

// start runs one camera under the site's context; s.mu held.
func (s *Site) start(c *Camera) {
	ctx, cancel := context.WithCancel(s.ctx)
	r := &camRun{cancel: cancel, done: make(chan struct{})}
	s.runs[c] = r
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer close(r.done)
		c.run(ctx)
	}()
}

// Apply changes the camera set: new cameras start, removed ones stop
// (closing their files), changed ones restart with their new settings;
// unchanged ones are not touched. It returns the IDs in each group.
func (s *Site) Apply(cams []config.Camera) (added, removed, changed []string) {
	s.mu.Lock()
	old := map[string]*Camera{}
	for _, c := range s.cams {
		old[c.cfg.ID] = c
	}
	var next []*Camera
	var stop []*Camera
	keep := map[*Camera]bool{}
	for _, cfg := range withSubRecordings(cams) {
		c, ok := old[cfg.ID]
		switch {
		case !ok:
			added = append(added, cfg.ID)
			c = newCamera(cfg, &s.o, s.m)
		case !reflect.DeepEqual(c.cfg, cfg):
			changed = append(changed, cfg.ID)
			stop = append(stop, c)
			c = newCamera(cfg, &s.o, s.m)
		default:
			keep[c] = true
		}
		next = append(next, c)
	}
	for id, c := range old {
		if !keep[c] && !contains(changed, id) {
			removed = append(removed, id)
			stop = append(stop, c)
		}
	}
	s.cams = next
	running := s.ctx != nil && s.ctx.Err() == nil
	var waits []chan struct{}
	for _, c := range stop {
		if r, ok := s.runs[c]; ok {
			r.cancel()
			waits = append(waits, r.done)
			delete(s.runs, c)
		}
	}
	s.mu.Unlock()
	for _, w := range waits { // a replaced camera closes its file before its successor opens one
		<-w
	}
	if running {
		s.mu.Lock()
		for _, c := range s.cams {
			if _, ok := s.runs[c]; !ok && s.ctx.Err() == nil {
				s.start(c)
			}
		}
		s.mu.Unlock()
	}
	return added, removed, changed
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// Status lists every camera in configuration order, each with the
// session of its recorded sub-stream, if any.
func (s *Site) Status() []Status {
	s.mu.Lock()
	cams := append([]*Camera(nil), s.cams...)
	s.mu.Unlock()
	out := make([]Status, 0, len(cams))
	for _, c := range cams {
		st := c.Status()
		if n := len(out); isSub(st.ID) && n > 0 {
			out[n-1].Sub = &st
			continue
		}
		out = append(out, st)
	}
	return out
}
