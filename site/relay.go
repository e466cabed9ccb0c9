package site

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/kuzet/kuzet/media"
)

// Feed is the live stream of a camera this node does not connect to
// itself: a descendant's camera, pulled through a link.
type Feed interface {
	Track() media.Track
	// Next blocks for the next unit; it fails when the feed ends.
	Next(ctx context.Context) (*media.Unit, error)
	Close() error
}

// RelayOptions configure the relays of remote cameras.
type RelayOptions struct {
	// Open opens origin's camera; the caller knows which link leads there.
	Open func(ctx context.Context, origin, camera string) (Feed, error)
	// Consumers take every relayed camera (the live view, the re-stream).
	Consumers []media.Consumer
	// Watched reports whether readers that do not Touch the relay still
	// watch it (RTSP sessions); nil means none do.
	Watched func(key string) bool
	Logger  *slog.Logger
}

// relayIdle is how long a relayed camera stays up after its last request.
const relayIdle = time.Minute

// Relays keep remote cameras flowing into this node's consumers while
// someone watches them (NVMS-6.20). Each relay is one more session source:
// its units go through the same bounded fan-out as a camera's, so a slow
// viewer never holds up the link.
type Relays struct {
	ctx context.Context // relays end with it
	o   RelayOptions

	mu sync.Mutex
	m  map[string]*relay
}

type relay struct {
	mu      sync.Mutex
	lastUse time.Time
	ready   chan struct{} // closed when the first session opened
	err     error         // why it is not ready yet
}

func (r *relay) touch() {
	r.mu.Lock()
	r.lastUse = time.Now()
	r.mu.Unlock()
}

func (r *relay) idle() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return time.Since(r.lastUse) > relayIdle
}

// NewRelays makes an empty set of relays; every relay ends with ctx.
func NewRelays(ctx context.Context, o RelayOptions) *Relays {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Relays{ctx: ctx, o: o, m: map[string]*relay{}}
}

// Ensure starts relaying origin's camera as key ("site-a/Camera1") if it
// is not flowing yet, and waits for its first session.
func (rs *Relays) Ensure(ctx context.Context, key, origin, camera string) error {
	rs.mu.Lock()
	r, ok := rs.m[key]
	if !ok {
		r = &relay{lastUse: time.Now(), ready: make(chan struct{})}
		rs.m[key] = r
		go rs.run(key, origin, camera, r)
	}
	rs.mu.Unlock()
	r.touch()
	select {
	case <-r.ready:
		return nil
	case <-ctx.Done():
		r.mu.Lock()
		defer r.mu.Unlock()
		return errors.Join(fmt.Errorf("camera %s did not start in time", key), r.err)
	}
}

// Touch keeps key's relay up, if one runs.
func (rs *Relays) Touch(key string) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if r, ok := rs.m[key]; ok {
		r.touch()
	}
}

// run feeds the relayed camera to the consumers until nobody asked for it
// for relayIdle, reopening it if the link drops.
func (rs *Relays) run(key, origin, camera string, r *relay) {
	ctx, cancel := context.WithCancel(rs.ctx)
	defer cancel()
	defer func() {
		rs.mu.Lock()
		delete(rs.m, key)
		rs.mu.Unlock()
	}()
	go func() { // the watchdog ends an unwatched relay
		t := time.NewTicker(5 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if r.idle() && (rs.o.Watched == nil || !rs.o.Watched(key)) {
					cancel()
				}
			}
		}
	}()
	log := rs.o.Logger.With("component", "relay", "camera", key)
	once := sync.Once{}
	backoff := time.Second
	for ctx.Err() == nil {
		feed, err := rs.o.Open(ctx, origin, camera)
		if err != nil {
			r.mu.Lock()
			r.err = err
			r.mu.Unlock()
			log.Warn("live relay not opened", "err", err, "retry_in", backoff)
			select {
			case <-ctx.Done():
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 10*time.Second)
			continue
		}
		backoff = time.Second
		rs.session(ctx, key, origin, feed, log, func() { once.Do(func() { close(r.ready) }) })
	}
	log.Info("live relay stopped")
}

// session delivers one opened feed to the consumers until it ends.
func (rs *Relays) session(ctx context.Context, key, origin string, feed Feed, log *slog.Logger, up func()) {
	defer func() { _ = feed.Close() }()
	fo := &fanout{log: log}
	track := feed.Track()
	for i := range rs.o.Consumers {
		c := &rs.o.Consumers[i]
		// a consumer that cannot take the camera leaves it to the others
		if s, err := c.Open(key, track.Clone(), "relay from "+origin); err == nil && s != nil {
			fo.add(c, s)
		}
	}
	fo.start()
	defer fo.stop()
	up()
	log.Info("live relay up")
	for {
		u, err := feed.Next(ctx)
		if err != nil {
			if ctx.Err() == nil {
				log.Warn("live relay interrupted", "err", err)
			}
			return
		}
		// viewers are not critical: a full queue drops the unit, as for a camera's
		fo.publish(u, func(*outlet) {})
	}
}
