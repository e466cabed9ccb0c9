package federation

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sort"
	"sync"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/pki"
)

// ServerOptions configure the parent side of links.
type ServerOptions struct {
	Listen        string
	Identity      *pki.Identity
	Log           *event.Log
	Logger        *slog.Logger
	Metrics       *Metrics
	Version       string
	LinkDownAfter time.Duration // silence before a link_down alarm (default 30s)
	Puller        Puller        // pulls children's segment files (nil: none)
	IdleTimeout   time.Duration // QUIC idle timeout (default 15s)
	Slices        SliceSource   // catalogue slices for children (nil: none)
	// MaySpeakFor says whether child may send events of origin: its own,
	// and its descendants' in the catalogue (nil: its own only).
	MaySpeakFor func(child, origin string) bool
	// Confirm, if set, brings what MaySpeakFor reads up to date (a
	// linearizable read of the catalogue) before an origin is refused: a
	// parent that has just restarted may not have replayed its catalogue
	// yet, and a refusal holds the origin back for the whole link. An
	// error means the answer is not known now: the stream ends without a
	// refusal and the child offers again on its next link.
	Confirm func(ctx context.Context) error
	// OnIncarnation is told when a child offers a new incarnation of an
	// origin this node already holds events of: that node started again
	// with an empty store (nil: it is only logged).
	OnIncarnation func(child, origin string, inc, previous uint64)
	// Clock is the time this parent answers heartbeats with, from which
	// children measure their offset (default time.Now; tests skew it).
	Clock func() time.Time
}

// ChildStatus is what the parent knows of one child link.
type ChildStatus struct {
	NodeID    string    `json:"node_id"`
	Connected bool      `json:"connected"`
	Remote    string    `json:"remote,omitempty"`
	Since     time.Time `json:"since"`
	LastHeard time.Time `json:"last_heard"`
	Events    uint64    `json:"events_received"`
	Down      bool      `json:"link_down_alarm"`
}

// Server accepts child links.
type Server struct {
	o ServerOptions
	// The server owns its socket: a listener quic-go opened itself would
	// keep it until the last link's closing period ended, after Run
	// returned, and a parent started again on the address found it taken.
	udp       net.PacketConn
	tr        *quic.Transport
	ln        *quic.Listener
	closeOnce sync.Once

	mu       sync.Mutex
	children map[string]*ChildStatus
	conns    map[string]*quic.Conn // linked children
	routes   map[string]string     // origin -> the child whose link its events came over

	cfgMu   sync.Mutex
	cfgWake map[*quic.Conn]chan struct{}

	confirmMu   sync.Mutex
	confirmedAt time.Time // the last successful Confirm

	refusedMu sync.Mutex
	refused   map[string]bool // child\x00origin pairs already alarmed
	incs      map[string]bool // new incarnations already reported
}

// Listen binds the QUIC listener.
func Listen(o ServerOptions) (*Server, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics(nil)
	}
	if o.LinkDownAfter == 0 {
		o.LinkDownAfter = 30 * time.Second
	}
	if o.IdleTimeout == 0 {
		o.IdleTimeout = 15 * time.Second
	}
	udp, err := net.ListenPacket("udp", o.Listen)
	if err != nil {
		return nil, fmt.Errorf("federation.listen %s: %w", o.Listen, err)
	}
	tr := &quic.Transport{Conn: udp}
	ln, err := tr.Listen(linkTLS(o.Identity, true, o.Logger), quicConfig(o.IdleTimeout, parentAcceptsStreams))
	if err != nil {
		_ = udp.Close()
		return nil, fmt.Errorf("federation.listen %s: %w", o.Listen, err)
	}
	s := &Server{o: o, udp: udp, tr: tr, ln: ln, children: map[string]*ChildStatus{}, conns: map[string]*quic.Conn{}, routes: map[string]string{},
		cfgWake: map[*quic.Conn]chan struct{}{}, refused: map[string]bool{}, incs: map[string]bool{}}
	s.learnRoutes()
	return s, nil
}

// Close releases the listener and the address of a server that will not
// Run (Run releases them when it returns).
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		_ = s.ln.Close()
		_ = s.tr.Close() // drops the links still closing, and stops reading
		_ = s.udp.Close()
	})
}

// now is the parent's clock for heartbeats.
func (s *Server) now() time.Time {
	if s.o.Clock != nil {
		return s.o.Clock()
	}
	return time.Now()
}

// Addr is the bound UDP address.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Run accepts links until ctx ends.
func (s *Server) Run(ctx context.Context) {
	var wg sync.WaitGroup
	defer s.Close() // once every link has closed: the address is free when Run returns
	defer wg.Wait()
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.watch(ctx)
	}()
	for {
		conn, err := s.ln.Accept(ctx)
		if err != nil {
			if ctx.Err() == nil {
				s.o.Logger.Error("accept link", "err", err)
			}
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.serve(ctx, conn)
		}()
	}
}

// Children lists known child links.
func (s *Server) Children() []ChildStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]ChildStatus, 0, len(s.children))
	for _, c := range s.children {
		out = append(out, *c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].NodeID < out[j].NodeID })
	return out
}

func (s *Server) serve(ctx context.Context, conn *quic.Conn) {
	stop := context.AfterFunc(ctx, func() { _ = conn.CloseWithError(0, "parent shutting down") })
	defer stop()
	log := s.o.Logger.With("remote", conn.RemoteAddr().String())
	certID, err := s.o.Identity.PeerNodeID(conn.ConnectionState().TLS)
	if err != nil {
		log.Warn("link refused", "err", err)
		_ = conn.CloseWithError(1, err.Error())
		return
	}
	log = log.With("child", certID)
	ctrl, err := acceptStream(ctx, conn, 10*time.Second)
	if err != nil {
		log.Warn("link without control stream", "err", err)
		_ = conn.CloseWithError(2, "no control stream")
		return
	}
	var hello Hello
	if err := Expect(ctrl, MsgHello, &hello); err != nil {
		log.Warn("link refused: bad hello", "err", err)
		_ = conn.CloseWithError(2, err.Error())
		return
	}
	if hello.NodeID != certID {
		msg := fmt.Sprintf("node ID %q does not match its certificate, which names %q", hello.NodeID, certID)
		log.Warn("link refused", "reason", msg)
		_ = WriteFrame(ctrl, MsgError, ErrorMsg{Message: msg})
		_ = ctrl.Close()
		time.Sleep(100 * time.Millisecond) // let the refusal reach the child before closing
		_ = conn.CloseWithError(3, msg)
		return
	}
	// Registered before the welcome, so DropRevoked sees every link a
	// child believes is up; checked again once registered, so a revocation
	// applied during the handshake (after the first check, before
	// DropRevoked could see the link) still closes it.
	st := s.connected(certID, conn)
	defer s.disconnected(st, conn)
	if _, err := s.o.Identity.PeerNodeID(conn.ConnectionState().TLS); err != nil {
		log.Warn("link refused: certificate no longer accepted", "err", err)
		_ = conn.CloseWithError(4, err.Error())
		return
	}
	if err := WriteFrame(ctrl, MsgWelcome, Welcome{NodeID: s.o.Identity.NodeID, Time: time.Now().UnixNano()}); err != nil {
		return
	}
	log.Info("child linked", "version", hello.Version)
	s.o.Metrics.LinkUp.WithLabelValues(certID, "child").Set(1)
	defer func() {
		s.o.Metrics.LinkUp.WithLabelValues(certID, "child").Set(0)
		log.Info("child link closed")
	}()

	connCtx, cancel := context.WithCancel(conn.Context())
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer cancel()
		s.control(ctrl, st)
	}()
	if s.o.Slices != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.configLoop(connCtx, conn, certID)
		}()
	}
	if s.o.Puller != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.o.Puller.Pull(connCtx, certID, childLink{s: s, conn: conn})
		}()
	}
	kinds := &openKinds{open: map[string]bool{}}
	for {
		str, err := conn.AcceptStream(connCtx)
		if err != nil {
			_ = conn.CloseWithError(0, "")
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.stream(str, certID, st, kinds); err != nil && !errors.Is(err, io.EOF) && connCtx.Err() == nil {
				log.Warn("stream ended", "err", err)
			}
		}()
	}
}

// control answers heartbeats until the stream ends.
func (s *Server) control(ctrl *quic.Stream, st *ChildStatus) {
	for {
		var p Ping
		if err := Expect(ctrl, MsgPing, &p); err != nil {
			return
		}
		s.heard(st)
		if err := WriteFrame(ctrl, MsgPong, Pong{Sent: p.Sent, Received: s.now().UnixNano()}); err != nil {
			return
		}
	}
}

func (s *Server) connected(id string, conn *quic.Conn) *ChildStatus {
	remote := conn.RemoteAddr().String()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.conns[id] = conn
	s.routes[id] = id
	st, ok := s.children[id]
	if !ok {
		st = &ChildStatus{NodeID: id}
		s.children[id] = st
	}
	now := time.Now()
	st.Connected, st.Remote, st.Since, st.LastHeard = true, remote, now, now
	wasDown := st.Down
	st.Down = false
	if wasDown {
		go s.alarm(event.KindAlarmCleared, id, event.SeverityInfo, fmt.Sprintf("link to child %s is up again", id))
	}
	return st
}

func (s *Server) disconnected(st *ChildStatus, conn *quic.Conn) {
	s.mu.Lock()
	if s.conns[st.NodeID] == conn {
		delete(s.conns, st.NodeID)
	}
	st.Connected = false
	st.Since = time.Now()
	s.mu.Unlock()
}

func (s *Server) heard(st *ChildStatus) {
	s.mu.Lock()
	st.LastHeard = time.Now()
	s.mu.Unlock()
}

// watch raises link_down for children silent longer than LinkDownAfter.
func (s *Server) watch(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			var down []string
			s.mu.Lock()
			for id, st := range s.children {
				if !st.Down && now.Sub(st.LastHeard) > s.o.LinkDownAfter {
					st.Down = true
					down = append(down, id)
				}
			}
			s.mu.Unlock()
			for _, id := range down {
				s.alarm(event.KindAlarmRaised, id, event.SeverityMedium,
					fmt.Sprintf("child %s silent for more than %v: link down", id, s.o.LinkDownAfter))
			}
		}
	}
}

func (s *Server) alarm(kind, child string, sev event.Severity, msg string) {
	e := event.New(kind, "", sev, event.Alarm{Key: event.AlarmLinkDown + ":" + child, Type: event.AlarmLinkDown, Message: msg})
	if _, err := s.o.Log.Append(e); err != nil {
		s.o.Logger.Error("store link alarm", "child", child, "err", err)
	}
}

func acceptStream(ctx context.Context, conn *quic.Conn, timeout time.Duration) (*quic.Stream, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return conn.AcceptStream(ctx)
}
