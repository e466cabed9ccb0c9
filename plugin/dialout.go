package plugin

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// A remote plugin offered as a service (spec.Connect): the node dials it
// over mutual TLS, the service's certificate naming this node and the
// plugin, and then serves the plugin protocol over HTTP/2 on that
// connection as if the plugin had connected. A site behind an uplink that
// only lets it dial out can so use an analytics service elsewhere. The
// node dials again, with backoff from 1 s to 30 s, whenever the
// connection ends.

// dialOut keeps a connection to the plugin's service until ctx ends.
func (r *runner) dialOut(ctx context.Context) {
	// the silence alarm, as for a plugin that connects; ended before this
	// returns, so nothing is said of the plugin after its manager stops
	watch, stopWatch := context.WithCancel(ctx)
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		r.runRemote(watch)
	}()
	defer func() {
		stopWatch()
		<-watched
	}()
	backoff := time.Second
	for ctx.Err() == nil {
		up := time.Now()
		err := r.serveOnce(ctx)
		if ctx.Err() != nil {
			break
		}
		if time.Since(up) > time.Minute {
			backoff = time.Second
		}
		r.update(func(s *Status) { s.LastError = "connect " + r.spec.Connect + ": " + err.Error() })
		r.log().Warn("plugin service", "address", r.spec.Connect, "err", err, "again in", backoff)
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 30*time.Second)
	}
}

// serveOnce dials the service and serves the protocol on the connection
// until it ends.
func (r *runner) serveOnce(ctx context.Context) error {
	d := net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	raw, err := d.DialContext(ctx, "tcp", r.spec.Connect)
	if err != nil {
		return err
	}
	conn := tls.Client(raw, r.m.o.DialTLS(r.spec.Name))
	hctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	err = conn.HandshakeContext(hctx)
	cancel()
	if err != nil {
		raw.Close()
		return err
	}
	if p := conn.ConnectionState().NegotiatedProtocol; p != "h2" {
		conn.Close()
		return errors.New("the service does not speak HTTP/2 (negotiated " + p + ")")
	}
	l := &oneConn{conn: conn, done: make(chan struct{})}
	srv := &http.Server{Handler: r.mux, ReadHeaderTimeout: 10 * time.Second,
		HTTP2:    &http.HTTP2Config{SendPingTimeout: 20 * time.Second, PingTimeout: 10 * time.Second},
		ErrorLog: slog.NewLogLogger(r.m.o.Logger.Handler(), slog.LevelDebug),
		ConnState: func(c net.Conn, st http.ConnState) {
			if st == http.StateClosed || st == http.StateHijacked {
				l.close()
			}
		}}
	r.connected(r.spec.Connect, +1)
	defer r.connected(r.spec.Connect, -1)
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.Serve(l)
	}()
	select {
	case <-ctx.Done():
	case <-l.done:
	}
	_ = srv.Close()
	conn.Close()
	<-served
	return errors.New("connection ended")
}

// oneConn is a listener of one connection the node dialled: it hands it
// out once, then waits until it is closed.
type oneConn struct {
	mu     sync.Mutex
	conn   net.Conn
	done   chan struct{}
	closed bool
}

func (l *oneConn) Accept() (net.Conn, error) {
	l.mu.Lock()
	c := l.conn
	l.conn = nil
	l.mu.Unlock()
	if c != nil {
		return c, nil
	}
	<-l.done
	return nil, net.ErrClosed
}

func (l *oneConn) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.closed {
		l.closed = true
		close(l.done)
	}
}

func (l *oneConn) Close() error   { l.close(); return nil }
func (l *oneConn) Addr() net.Addr { return dialedAddr{} }

type dialedAddr struct{}

func (dialedAddr) Network() string { return "tcp" }
func (dialedAddr) String() string  { return "dialled" }
