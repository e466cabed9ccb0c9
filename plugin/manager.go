package plugin

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"

	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/media"
)

// Units is one camera's running stream as a plugin's frames are decoded
// from it.
type Units interface {
	Track() media.Track
	Next(ctx context.Context) (*media.Unit, error)
	Close() error
}

// File is an archive file opened for a plugin.
type File interface {
	io.ReadSeeker
	io.Closer
	Stat() (fs.FileInfo, error)
}

// Options configure the plugins of a node.
type Options struct {
	Specs []Spec
	Node  string // this node's ID
	// Dir holds the plugins' sockets (DATA_DIR/plugins).
	Dir string
	// SnapshotDir keeps the JPEGs plugins attach, laid out as tamper
	// frames (Camera/Y/M/D/time_type.jpg), so alarms show them at every
	// tier the way they show tamper frames.
	SnapshotDir string
	Log         *event.Log
	// Frames attaches to a camera's running stream (nil: no frames).
	Frames func(camera string) (Units, error)
	// Segments and OpenFile read the archive (nil: none).
	Segments func(camera string, from, to time.Time) ([]event.Segment, error)
	OpenFile func(rel string) (File, error)
	FFmpeg   string
	Logger   *slog.Logger
	Metrics  *Metrics
	Now      func() time.Time
	// Restart backoff: from Backoff (default 1 s) doubling to MaxBackoff
	// (1 min). FailAfter exits within FailWindow (5 in 10 min) raise
	// plugin_failed, cleared once the plugin has run for FailWindow.
	Backoff, MaxBackoff time.Duration
	FailAfter           int
	FailWindow          time.Duration
	// Hold is the longest a post over the rate waits before its 429
	// (default 1 s).
	Hold time.Duration
	// Stall without reading a frame of an open stream raises
	// plugin_stalled (default 1 min).
	Stall time.Duration
	// Remote plugins connect to Listen over TLS (the node's certificate,
	// clients' checked by it); Identify names the plugin of a verified
	// handshake. Silence away raises plugin_failed (default 2 min).
	Listen   string
	TLS      *tls.Config
	Identify func(tls.ConnectionState) (string, error)
	Silence  time.Duration
	// DialTLS is the node's side of a connection it opens to a remote
	// plugin's service (Spec.Connect), checking that it is that plugin.
	DialTLS func(name string) *tls.Config
}

func (o *Options) defaults() {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics(nil)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.FFmpeg == "" {
		o.FFmpeg = "ffmpeg"
	}
	if o.Backoff == 0 {
		o.Backoff = time.Second
	}
	if o.MaxBackoff == 0 {
		o.MaxBackoff = time.Minute
	}
	if o.FailAfter == 0 {
		o.FailAfter = 5
	}
	if o.Hold == 0 {
		o.Hold = time.Second
	}
	if o.Stall == 0 {
		o.Stall = time.Minute
	}
	if o.Silence == 0 {
		o.Silence = 2 * time.Minute
	}
	if o.FailWindow == 0 {
		o.FailWindow = 10 * time.Minute
	}
}

// Manager runs every configured plugin.
type Manager struct {
	o       Options
	runners []*runner
	dec     *decoders
	remote  *remote // nil: no remote plugins
}

// New checks the specs; Run starts the plugins.
func New(o Options) (*Manager, error) {
	o.defaults()
	m := &Manager{o: o}
	m.dec = &decoders{m: m, shared: map[decKey]*shared{}}
	seen := map[string]bool{}
	for i := range o.Specs {
		s := o.Specs[i]
		s.Defaults()
		if err := s.Check(); err != nil {
			return nil, fmt.Errorf("plugins[%d]: %w", i, err)
		}
		if seen[s.Name] {
			return nil, fmt.Errorf("plugins[%d]: name %q twice", i, s.Name)
		}
		seen[s.Name] = true
		r := newRunner(m, s)
		m.runners = append(m.runners, r)
		if s.Remote && s.Connect != "" {
			if o.DialTLS == nil {
				return nil, fmt.Errorf("plugins[%d]: connect: the node needs federation.tls to dial a remote plugin", i)
			}
			continue
		}
		if s.Remote {
			if o.Listen == "" || o.TLS == nil || o.Identify == nil {
				return nil, fmt.Errorf("plugins[%d]: remote: the node needs plugins_listen and federation.tls for remote plugins", i)
			}
			if m.remote == nil {
				m.remote = &remote{m: m, byName: map[string]*runner{}, conns: map[net.Conn]*runner{}, started: make(chan struct{})}
			}
			m.remote.byName[s.Name] = r
		}
	}
	return m, nil
}

// Run serves and supervises every plugin until ctx ends, then stops them.
func (m *Manager) Run(ctx context.Context) {
	if len(m.runners) == 0 {
		return
	}
	if err := os.MkdirAll(m.o.Dir, 0o700); err != nil {
		m.o.Logger.Error("plugins: socket directory", "dir", m.o.Dir, "err", err)
		return
	}
	var wg sync.WaitGroup
	if m.remote != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := m.remote.serve(ctx); err != nil {
				m.o.Logger.Error("plugins: remote plugins' listener", "err", err)
				for _, r := range m.remote.byName {
					r.update(func(s *Status) { s.LastError = err.Error() })
				}
			}
		}()
	}
	for _, r := range m.runners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.run(ctx)
		}()
	}
	wg.Wait()
}

// Status lists every plugin's state, by configuration order.
func (m *Manager) Status() []Status {
	out := make([]Status, 0, len(m.runners))
	for _, r := range m.runners {
		out = append(out, r.status())
	}
	return out
}

// ErrNoPlugin is a restart of a plugin the node does not run.
var ErrNoPlugin = errors.New("no such plugin")

// Restart starts a plugin's process again now, cutting short the wait of
// a plugin restarting with backoff. It does not count as an exit.
func (m *Manager) Restart(name string) error {
	for _, r := range m.runners {
		if r.spec.Name == name {
			if r.spec.Remote {
				return fmt.Errorf("%s is a remote plugin: it is restarted where it runs", name)
			}
			select {
			case r.restart <- struct{}{}:
			default: // one already asked
			}
			return nil
		}
	}
	return fmt.Errorf("%w: %s", ErrNoPlugin, name)
}

// emit appends a node event (alarms about plugins).
func (m *Manager) emit(e event.Event) {
	if _, err := m.o.Log.Append(e); err != nil {
		m.o.Logger.Error("plugins: store event", "kind", e.Kind, "err", err)
	}
}
