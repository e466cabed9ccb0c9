package federation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/kuzet/kuzet/event"
)

// ServerOptions configure the parent side of links.
type ServerOptions struct {
	Listen        string
	Identity      *Identity
	Log           *event.Log
	Logger        *slog.Logger
	Metrics       *Metrics
	Version       string
	LinkDownAfter time.Duration // silence before a link_down alarm (default 30s)
	Fragments     *Fragments    // pull children's segment files (nil: none)
	IdleTimeout   time.Duration // QUIC idle timeout (default 15s)
	Slices        SliceSource   // catalogue slices for children (nil: none)
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
	o  ServerOptions
	ln *quic.Listener

	mu       sync.Mutex
	children map[string]*ChildStatus
	conns    map[string]*quic.Conn // linked children
	routes   map[string]string     // origin -> the child whose link its events came over

	cfgMu   sync.Mutex
	cfgWake map[*quic.Conn]chan struct{}
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
	ln, err := quic.ListenAddr(o.Listen, o.Identity.tlsConfig(true, o.Logger), &quic.Config{
		MaxIdleTimeout: o.IdleTimeout, KeepAlivePeriod: o.IdleTimeout / 3,
	})
	if err != nil {
		return nil, fmt.Errorf("federation.listen %s: %w", o.Listen, err)
	}
	s := &Server{o: o, ln: ln, children: map[string]*ChildStatus{}, conns: map[string]*quic.Conn{}, routes: map[string]string{},
		cfgWake: map[*quic.Conn]chan struct{}{}}
	s.learnRoutes()
	return s, nil
}

// Close releases the listener of a server that will not Run.
func (s *Server) Close() { _ = s.ln.Close() }

// Addr is the bound UDP address.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Run accepts links until ctx ends.
func (s *Server) Run(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	defer s.ln.Close()
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
	certID, err := s.o.Identity.peerID(conn.ConnectionState().TLS)
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
	if err := WriteFrame(ctrl, MsgWelcome, Welcome{NodeID: s.o.Identity.NodeID, Time: time.Now().UnixNano()}); err != nil {
		return
	}
	st := s.connected(certID, conn)
	log.Info("child linked", "version", hello.Version)
	s.o.Metrics.LinkUp.WithLabelValues(certID, "child").Set(1)
	defer func() {
		s.disconnected(st, conn)
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
	if s.o.Fragments != nil {
		wg.Add(2)
		go func() {
			defer wg.Done()
			s.fetchLoop(connCtx, conn, certID)
		}()
		go func() {
			defer wg.Done()
			s.backfill(connCtx, conn, certID)
		}()
	}
	for {
		str, err := conn.AcceptStream(connCtx)
		if err != nil {
			_ = conn.CloseWithError(0, "")
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.stream(str, certID, st); err != nil && !errors.Is(err, io.EOF) && connCtx.Err() == nil {
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
		if err := WriteFrame(ctrl, MsgPong, Pong{Sent: p.Sent, Received: time.Now().UnixNano()}); err != nil {
			return
		}
	}
}

// stream serves one event stream: store each batch, then acknowledge.
func (s *Server) stream(str *quic.Stream, child string, st *ChildStatus) error {
	defer str.Close()
	var open Open
	if err := Expect(str, MsgOpen, &open); err != nil {
		return err
	}
	if open.Kind != StreamEvents && open.Kind != StreamAlarms {
		_ = WriteFrame(str, MsgError, ErrorMsg{Message: fmt.Sprintf("unknown stream kind %q", open.Kind)})
		return fmt.Errorf("unknown stream kind %q", open.Kind)
	}
	for {
		t, payload, err := ReadFrame(str, MaxControlFrame)
		if err != nil {
			return err
		}
		if t != MsgEvents {
			_ = WriteFrame(str, MsgError, ErrorMsg{Message: "expected events, got " + t.String()})
			return &FrameError{"expected events, got " + t.String()}
		}
		var batch Events
		if err := json.Unmarshal(payload, &batch); err != nil || len(batch.Events) == 0 {
			_ = WriteFrame(str, MsgError, ErrorMsg{Message: "malformed events batch"})
			return &FrameError{fmt.Sprintf("malformed events batch: %v", err)}
		}
		if open.Kind == StreamAlarms {
			n := 0
			for _, e := range batch.Events {
				ok, err := s.o.Log.StoreUrgent(e, child)
				if err != nil {
					_ = WriteFrame(str, MsgError, ErrorMsg{Message: "store failed"})
					return err
				}
				if ok {
					n++
					s.o.Metrics.UrgentReceived.WithLabelValues(child).Inc()
				}
			}
			s.heard(st)
			if err := WriteFrame(str, MsgAck, Ack{Through: batch.Events[len(batch.Events)-1].Pos, Stored: n}); err != nil {
				return err
			}
			continue
		}
		s.learn(batch.Events, child)
		stored, err := s.o.Log.Ingest(batch.Events, child)
		if err != nil {
			_ = WriteFrame(str, MsgError, ErrorMsg{Message: "store failed"})
			return err
		}
		s.heard(st)
		s.mu.Lock()
		st.Events += uint64(len(stored))
		s.mu.Unlock()
		s.o.Metrics.EventsReceived.WithLabelValues(child).Add(float64(len(stored)))
		s.o.Metrics.EventsDuplicate.WithLabelValues(child).Add(float64(len(batch.Events) - len(stored)))
		if err := WriteFrame(str, MsgAck, Ack{Through: batch.Events[len(batch.Events)-1].Pos, Stored: len(stored)}); err != nil {
			return err
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
