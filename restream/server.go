// Package restream serves every camera again from the node's own RTSP
// server at rtsp://node:port/{camera}, over TCP and UDP, fed by the node's
// camera sessions: viewers never open a connection to a camera.
package restream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kuzet/kuzet/internal/rtspserve"
	"github.com/kuzet/kuzet/media"
	"github.com/kuzet/kuzet/site"
)

// DefaultQueue is the consumer queue length in access units.
const DefaultQueue = 128

// Options configure the RTSP server.
type Options struct {
	// Listen is the RTSP (TCP) address, e.g. ":8554"; port 0 picks one
	// (see Server.Addr).
	Listen string
	// DisableUDP turns the UDP transport off; TCP is always offered.
	DisableUDP bool
	// UDPPort is the even UDP port for RTP on Listen's host; RTCP uses
	// UDPPort+1. 0 picks a free pair.
	UDPPort int
	// User and Password, when User is set, are required from readers
	// (basic or digest authentication).
	User, Password string
	// Cameras are the configured camera IDs: a reader of one that is not
	// streaming gets 503 instead of 404.
	Cameras []string
	// Queue is the consumer queue length in access units.
	Queue int
	// OnDemand, if set, is asked to start a path nobody feeds yet (a
	// descendant's camera relayed over the federation) before a reader is
	// refused; the path is looked up again when it returns nil.
	OnDemand func(ctx context.Context, camera string) error

	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// Server is the node's RTSP server for its cameras.
type Server struct {
	o    Options
	log  *slog.Logger
	met  *metrics
	rtsp *gortsplib.Server
	addr string

	mu      sync.Mutex
	known   map[string]bool
	streams map[string]*stream
	readers map[*gortsplib.ServerSession]string
	closed  bool

	down      atomic.Bool // closing: writes may fail quietly
	closeOnce sync.Once
}

// New binds the RTSP listeners and starts serving; Run (or Close) stops it.
func New(o Options) (*Server, error) {
	if o.Listen == "" {
		o.Listen = ":8554"
	}
	if o.Queue == 0 {
		o.Queue = DefaultQueue
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Queue < 1 {
		return nil, fmt.Errorf("rtsp queue %d: must be positive", o.Queue)
	}
	if o.User == "" && o.Password != "" {
		return nil, errors.New("rtsp.password set without rtsp.user")
	}
	met, err := newMetrics(o.Registerer)
	if err != nil {
		return nil, err
	}
	s := &Server{
		o: o, log: o.Logger, met: met,
		known: map[string]bool{}, streams: map[string]*stream{}, readers: map[*gortsplib.ServerSession]string{},
	}
	for _, id := range o.Cameras {
		s.known[id] = true
		s.met.readers.WithLabelValues(id).Set(0)
	}
	if err := s.listen(); err != nil {
		return nil, err
	}
	s.log.Info("RTSP re-stream listening", "addr", s.addr, "udp", !o.DisableUDP, "auth", o.User != "")
	return s, nil
}

// listen starts the RTSP server on sockets of its own, so that port 0
// works and Addr tells the real port.
func (s *Server) listen() error {
	s.rtsp = &gortsplib.Server{Handler: &handler{s: s}}
	addr, err := rtspserve.Start(s.rtsp, s.o.Listen, !s.o.DisableUDP, s.o.UDPPort)
	if err != nil {
		return fmt.Errorf("rtsp.listen: %w", err)
	}
	s.addr = addr
	return nil
}

// Addr returns the host:port the RTSP server is bound to.
func (s *Server) Addr() string { return s.addr }

// Run serves until ctx ends, then disconnects every reader.
func (s *Server) Run(ctx context.Context) {
	<-ctx.Done()
	s.Close()
}

// Close stops the server and its streams; it is safe to call twice.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		s.down.Store(true)
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		s.rtsp.Close()
		s.mu.Lock()
		defer s.mu.Unlock()
		for id, st := range s.streams {
			st.close()
			delete(s.streams, id)
		}
		s.log.Info("RTSP re-stream stopped", "addr", s.addr)
	})
}

// Consumer is what the site feeds: one sink per camera session.
func (s *Server) Consumer() site.Consumer {
	return site.Consumer{Name: "restream", Queue: s.o.Queue, Open: s.open}
}

// open never fails: an error would stop the session, and with it the
// recording, for the sake of the re-stream.
func (s *Server) open(camera string, track media.Track, _ string) (site.Sink, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, nil
	}
	s.known[camera] = true
	st := s.streams[camera]
	if st != nil && st.codec != track.Codec {
		// readers cannot switch codecs within a session: they reconnect
		st.close()
		delete(s.streams, camera)
		st = nil
	}
	if st == nil {
		var err error
		if st, err = newStream(s.rtsp, camera, track); err != nil {
			s.log.Warn("no RTSP re-stream", "camera", camera, "err", err)
			return nil, nil
		}
		s.streams[camera] = st
		s.met.readers.WithLabelValues(camera).Set(0)
	}
	st.sessions++
	return &sink{s: s, st: st, track: track.Clone(), rebase: true}, nil
}

// lookup answers DESCRIBE and SETUP: the stream, or the status to answer.
// Readers counts the RTSP readers playing a camera now.
func (s *Server) Readers(camera string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.readers {
		if c == camera {
			n++
		}
	}
	return n
}

func (s *Server) lookup(path string) (*stream, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.streams[path]
	switch {
	case st != nil && st.sessions > 0:
		return st, 0
	case s.known[path]:
		return nil, 503
	}
	return nil, 404
}

// waitStream waits for a camera's first session to open.
func (s *Server) waitStream(camera string, d time.Duration) (*stream, int) {
	deadline := time.Now().Add(d)
	for {
		st, code := s.lookup(camera)
		if code == 0 || time.Now().After(deadline) {
			return st, code
		}
		time.Sleep(50 * time.Millisecond)
	}
}
