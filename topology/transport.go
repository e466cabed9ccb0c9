package topology

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/raft"

	"github.com/kuzet/kuzet/pki"
)

// One TCP listener carries two protocols, told apart by TLS ALPN: Raft's
// own RPCs, and the catalogue's forwarding of writes and reads to the
// leader. Both use the federation certificates, so a replica is a node of
// the federation and nothing else can talk to it.
const (
	RaftALPN    = "kuzet-raft/1"
	ForwardALPN = "kuzet-catalogue/1"
)

// handshakeTimeout bounds a TLS handshake, so that a silent peer cannot hold
// a goroutine.
const handshakeTimeout = 10 * time.Second

// advertiseAddr is the address peers dial, which may differ from the bound
// one (0.0.0.0:7444 behind a name).
type advertiseAddr string

func (a advertiseAddr) Network() string { return "tcp" }
func (a advertiseAddr) String() string  { return string(a) }

// layer is the raft.StreamLayer over mutual TLS, and the dispatcher of the
// forwarding protocol on the same port.
type layer struct {
	ln        net.Listener
	advertise advertiseAddr
	ident     *pki.Identity
	log       *slog.Logger
	server    *tls.Config
	raftDial  *tls.Config
	// authorize says whether a verified peer may speak Raft to this
	// replica; forwarding checks its peers itself, to answer with a reason.
	authorize func(peer string) error
	forward   func(ctx context.Context, c net.Conn, peer string)

	raftConns chan net.Conn
	ctx       context.Context
	cancel    context.CancelFunc
	wg        sync.WaitGroup

	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

func newLayer(listen, advertise string, ident *pki.Identity, log *slog.Logger) (*layer, error) {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, fmt.Errorf("catalogue listen on %s: %w", listen, err)
	}
	if advertise == "" {
		host, _, _ := net.SplitHostPort(listen)
		if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
			ln.Close()
			return nil, fmt.Errorf("catalogue listen %s has no host peers can dial: set the advertised address", listen)
		}
		advertise = ln.Addr().String() // resolves port 0
	}
	server := ident.MutualTLS(true, RaftALPN, log)
	server.NextProtos = []string{RaftALPN, ForwardALPN}
	ctx, cancel := context.WithCancel(context.Background())
	l := &layer{
		ln: ln, advertise: advertiseAddr(advertise), ident: ident, log: log,
		server: server, raftDial: ident.MutualTLS(false, RaftALPN, log),
		raftConns: make(chan net.Conn), ctx: ctx, cancel: cancel, conns: map[net.Conn]struct{}{},
	}
	return l, nil
}

// start accepts connections until close.
func (l *layer) start() {
	l.wg.Add(1)
	go l.acceptLoop()
}

func (l *layer) acceptLoop() {
	defer l.wg.Done()
	backoff := 5 * time.Millisecond
	for {
		raw, err := l.ln.Accept()
		if err != nil {
			if l.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			// transient (out of descriptors): do not spin
			l.log.Warn("catalogue accept", "err", err)
			select {
			case <-time.After(backoff):
			case <-l.ctx.Done():
				return
			}
			backoff = min(2*backoff, time.Second)
			continue
		}
		backoff = 5 * time.Millisecond
		l.wg.Add(1)
		go l.handshake(raw)
	}
}

func (l *layer) handshake(raw net.Conn) {
	defer l.wg.Done()
	tc := tls.Server(raw, l.server)
	_ = tc.SetDeadline(time.Now().Add(handshakeTimeout))
	if err := tc.HandshakeContext(l.ctx); err != nil {
		l.log.Debug("catalogue handshake failed", "remote", raw.RemoteAddr().String(), "err", err)
		raw.Close()
		return
	}
	_ = tc.SetDeadline(time.Time{})
	cs := tc.ConnectionState()
	peer, err := l.ident.PeerNodeID(cs)
	if err == nil && cs.NegotiatedProtocol == RaftALPN {
		err = l.authorize(peer)
	}
	if err != nil {
		l.log.Warn("catalogue peer refused", "remote", raw.RemoteAddr().String(), "peer", peer, "protocol", cs.NegotiatedProtocol, "reason", err.Error())
		tc.Close()
		return
	}
	conn, ok := l.track(tc)
	if !ok {
		return
	}
	switch cs.NegotiatedProtocol {
	case RaftALPN:
		select {
		case l.raftConns <- conn:
		case <-l.ctx.Done():
			conn.Close()
		}
	case ForwardALPN:
		l.forward(l.ctx, conn, peer)
	default:
		conn.Close()
	}
}

// Accept hands Raft its inbound connections (raft.StreamLayer).
func (l *layer) Accept() (net.Conn, error) {
	select {
	case c := <-l.raftConns:
		return c, nil
	case <-l.ctx.Done():
		return nil, net.ErrClosed
	}
}

// Dial opens a Raft connection to a peer (raft.StreamLayer).
func (l *layer) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	return l.dial(l.ctx, string(address), timeout, l.raftDial)
}

func (l *layer) dial(ctx context.Context, address string, timeout time.Duration, cfg *tls.Config) (net.Conn, error) {
	d := tls.Dialer{NetDialer: &net.Dialer{Timeout: timeout, KeepAlive: 15 * time.Second}, Config: cfg}
	c, err := d.DialContext(ctx, "tcp", address)
	if err != nil {
		return nil, fmt.Errorf("dial catalogue replica %s: %w", address, err)
	}
	conn, ok := l.track(c)
	if !ok {
		return nil, net.ErrClosed
	}
	return conn, nil
}

// Close stops accepting (raft.StreamLayer); shutdown closes the rest.
func (l *layer) Close() error {
	return l.ln.Close()
}

// Addr is the address peers dial (raft.StreamLayer).
func (l *layer) Addr() net.Addr { return l.advertise }

// shutdown closes the listener and every connection, and waits for the
// layer's goroutines.
func (l *layer) shutdown() {
	l.cancel()
	l.ln.Close()
	l.mu.Lock()
	conns := l.conns
	l.conns = nil
	l.mu.Unlock()
	for c := range conns {
		c.Close()
	}
	l.wg.Wait()
}

// track remembers a connection so that shutdown can close it; Raft's
// transport keeps pooled connections it never closes itself.
func (l *layer) track(c net.Conn) (net.Conn, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conns == nil {
		c.Close()
		return nil, false
	}
	tc := &trackedConn{Conn: c, l: l}
	l.conns[tc] = struct{}{}
	return tc, true
}

type trackedConn struct {
	net.Conn
	l    *layer
	once sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.l.mu.Lock()
		if c.l.conns != nil {
			delete(c.l.conns, c)
		}
		c.l.mu.Unlock()
	})
	return c.Conn.Close()
}
