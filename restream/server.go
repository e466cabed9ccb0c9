// Package restream serves every camera again from the node's own RTSP
// server at rtsp://node:port/{camera}, over TCP and UDP, fed by the node's
// camera sessions: viewers never open a connection to a camera.
//
// It owns the RTSP server, its readers' logins and their sessions. It is
// fed as a media.Consumer and imports no ingest (site) and no node wiring
// (agent).
package restream

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kuzet/kuzet/audit"
	"github.com/kuzet/kuzet/auth"
	"github.com/kuzet/kuzet/internal/rtspserve"
	"github.com/kuzet/kuzet/media"
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
	// User and Password, when User is set and Accounts is not, are one
	// shared credential required from readers (Basic or Digest), with
	// failures throttled like logins (auth.Limiter). The node uses them
	// only where no users are configured.
	User, Password string
	// Accounts, when set, authenticates every reader as one of the node's
	// users before DESCRIBE, SETUP and PLAY (RTSP Basic; see Accounts);
	// nobody reads anonymously. Playing readers are checked again every
	// RecheckEvery (default 10s): a disabled or removed user, or one no
	// longer allowed at its address, is disconnected.
	Accounts     *Accounts
	RecheckEvery time.Duration
	// Allow, when not empty, are the addresses readers may connect from;
	// others are answered 403 and disconnected.
	Allow []netip.Prefix
	// TLS, when set, makes the server RTSPS: TCP connections are TLS, and
	// UDP transport is offered as SRTP only.
	TLS *tls.Config
	// Audit, when set, records every reader's session when it ends (who,
	// camera, source, start, duration, bytes) and every refused login; an
	// error is logged. SetAudit sets it later. With Accounts, readers are
	// answered 503 until it is set: nobody watches unaudited.
	Audit func(audit.Entry) error
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
	readers map[*gortsplib.ServerSession]*session
	conns   map[*gortsplib.ServerConn]*connState
	closed  bool
	thr     *auth.Limiter // the shared credential's failures

	down      atomic.Bool // closing: writes may fail quietly
	audit     atomic.Pointer[func(audit.Entry) error]
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
	if o.User == "" && o.Password != "" && o.Accounts == nil {
		return nil, errors.New("rtsp.password set without rtsp.user")
	}
	if o.Accounts != nil {
		o.User, o.Password = "", "" // one credential or the other
	}
	met, err := newMetrics(o.Registerer)
	if err != nil {
		return nil, err
	}
	s := &Server{
		o: o, log: o.Logger, met: met,
		known: map[string]bool{}, streams: map[string]*stream{}, readers: map[*gortsplib.ServerSession]*session{},
		conns: map[*gortsplib.ServerConn]*connState{}, thr: auth.NewLimiter(auth.ThrottleOptions{}),
	}
	if o.Audit != nil {
		s.SetAudit(o.Audit)
	}
	for _, id := range o.Cameras {
		s.known[id] = true
		s.met.readers.WithLabelValues(id).Set(0)
	}
	if err := s.listen(); err != nil {
		return nil, err
	}
	authn := "none"
	switch {
	case o.Accounts != nil:
		authn = "users"
	case o.User != "":
		authn = "shared credential"
	}
	s.log.Info("RTSP re-stream listening", "addr", s.addr, "scheme", s.Scheme(), "udp", !o.DisableUDP, "auth", authn, "allow", len(o.Allow))
	return s, nil
}

// listen starts the RTSP server on sockets of its own, so that port 0
// works and Addr tells the real port.
func (s *Server) listen() error {
	s.rtsp = &gortsplib.Server{Handler: &handler{s: s}, TLSConfig: s.o.TLS}
	addr, err := rtspserve.Start(s.rtsp, s.o.Listen, !s.o.DisableUDP, s.o.UDPPort)
	if err != nil {
		return fmt.Errorf("rtsp.listen: %w", err)
	}
	s.addr = addr
	return nil
}

// Addr returns the host:port the RTSP server is bound to.
func (s *Server) Addr() string { return s.addr }

// SetAudit sets where readers' sessions and refused logins are recorded.
func (s *Server) SetAudit(fn func(audit.Entry) error) { s.audit.Store(&fn) }

// Scheme is rtsps when the server speaks TLS, else rtsp.
func (s *Server) Scheme() string {
	if s.o.TLS != nil {
		return "rtsps"
	}
	return "rtsp"
}

// Run serves until ctx ends, then disconnects every reader; with Accounts
// it also disconnects readers whose accounts no longer let them watch.
func (s *Server) Run(ctx context.Context) {
	if s.o.Accounts == nil {
		<-ctx.Done()
		s.Close()
		return
	}
	every := s.o.RecheckEvery
	if every <= 0 {
		every = 10 * time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			s.Close()
			return
		case <-t.C:
			s.recheck()
		}
	}
}

// recheck disconnects playing readers whose accounts no longer let them
// watch.
func (s *Server) recheck() {
	type reader struct {
		ss *gortsplib.ServerSession
		se *session
	}
	s.mu.Lock()
	var all []reader
	for ss, se := range s.readers {
		all = append(all, reader{ss, se})
	}
	s.mu.Unlock()
	for _, r := range all {
		if _, ref := s.o.Accounts.Recheck(r.se.reader.User, r.se.source); ref != nil {
			s.log.Warn("RTSP reader disconnected", "camera", r.se.camera, "user", r.se.reader.User,
				"remote", addrString(r.se.source), "reason", ref.Msg)
			s.mu.Lock()
			r.se.ended = ref.Msg
			s.mu.Unlock()
			r.ss.Close()
		}
	}
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
func (s *Server) Consumer() media.Consumer {
	return media.Consumer{Name: "restream", Queue: s.o.Queue, Open: s.open}
}

// open never fails: an error would stop the session, and with it the
// recording, for the sake of the re-stream.
func (s *Server) open(camera string, track media.Track, _ string) (media.Sink, error) {
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
	for _, r := range s.readers {
		if r.camera == camera {
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
