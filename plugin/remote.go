package plugin

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/internal/httpjson"
)

// A remote plugin runs on another machine (a GPU box beside the site) and
// connects to the node over mutual TLS. Its identity is its certificate,
// which names this node and the plugin (kuzet pki plugin); it speaks the
// same protocol as on a socket, over HTTP/2. The node supervises no
// process: it shows whether the plugin is connected, and raises
// plugin_failed when it has been away for Silence.

// remote serves the remote plugins' listener.
type remote struct {
	m       *Manager
	byName  map[string]*runner
	mu      sync.Mutex
	conns   map[net.Conn]*runner
	addr    net.Addr
	started chan struct{}
}

// Addr is the remote plugins' listener once it is up (nil before, or
// without remote plugins).
func (m *Manager) Addr() net.Addr {
	if m.remote == nil {
		return nil
	}
	select {
	case <-m.remote.started:
		return m.remote.addr
	default:
		return nil
	}
}

// serve listens for remote plugins until ctx ends.
func (rm *remote) serve(ctx context.Context) error {
	o := rm.m.o
	if o.TLS == nil || o.Identify == nil {
		return errors.New("remote plugins need the node's federation.tls")
	}
	l, err := net.Listen("tcp", o.Listen)
	if err != nil {
		return fmt.Errorf("plugins_listen %s: %w", o.Listen, err)
	}
	rm.addr = l.Addr()
	close(rm.started)
	cfg := o.TLS.Clone()
	cfg.NextProtos = []string{"h2"}
	srv := &http.Server{
		Handler:           http.HandlerFunc(rm.route),
		ReadHeaderTimeout: 10 * time.Second,
		ConnState:         rm.connState,
		// a plugin gone without a word (power, a cut cable) is noticed
		HTTP2: &http.HTTP2Config{SendPingTimeout: 20 * time.Second, PingTimeout: 10 * time.Second},
		// handshakes refused are logged with their reason by the TLS check
		ErrorLog: slog.NewLogLogger(o.Logger.Handler(), slog.LevelDebug),
	}
	srv.TLSConfig = cfg
	done := make(chan error, 1)
	go func() { done <- srv.Serve(tls.NewListener(limitConns(l, maxRemoteConns), cfg)) }()
	o.Logger.Info("plugins: listening for remote plugins", "addr", rm.addr.String())
	select {
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		_ = srv.Close()
		<-done
		return nil
	case err := <-done:
		return err
	}
}

// route hands a request to the plugin its certificate names. The chain
// is checked on every request, not once per connection: a revocation
// takes effect on connections already open.
func (rm *remote) route(w http.ResponseWriter, req *http.Request) {
	r, err := rm.identify(req.TLS)
	if err != nil {
		httpjson.Error(w, http.StatusForbidden, err.Error())
		return
	}
	r.seen()
	r.mux.ServeHTTP(w, req)
}

func (rm *remote) identify(cs *tls.ConnectionState) (*runner, error) {
	if cs == nil {
		return nil, errors.New("no TLS")
	}
	name, err := rm.m.o.Identify(*cs)
	if err != nil {
		return nil, err
	}
	r := rm.byName[name]
	if r == nil {
		return nil, fmt.Errorf("plugin %s is not a remote plugin of this node", name)
	}
	return r, nil
}

// connState counts each plugin's connections, for its status.
func (rm *remote) connState(c net.Conn, st http.ConnState) {
	switch st {
	case http.StateActive:
		rm.mu.Lock()
		_, known := rm.conns[c]
		rm.mu.Unlock()
		if known {
			return
		}
		tc, ok := c.(*tls.Conn)
		if !ok {
			return
		}
		cs := tc.ConnectionState()
		r, err := rm.identify(&cs)
		if err != nil {
			return
		}
		r.mu.Lock()
		full := r.conns >= maxConns
		r.mu.Unlock()
		if full { // one plugin does not take every remote plugin's slots
			r.log().Warn("remote plugin refused a connection: it holds the most it may", "most", maxConns)
			_ = c.Close()
			return
		}
		rm.mu.Lock()
		rm.conns[c] = r
		rm.mu.Unlock()
		r.connected(c.RemoteAddr().String(), +1)
	case http.StateClosed, http.StateHijacked:
		rm.mu.Lock()
		r := rm.conns[c]
		delete(rm.conns, c)
		rm.mu.Unlock()
		if r != nil {
			r.connected(c.RemoteAddr().String(), -1)
		}
	}
}

// runRemote keeps a remote plugin's state until ctx ends: connected while
// it holds a connection; plugin_failed once it has been away for Silence.
func (r *runner) runRemote(ctx context.Context) {
	tick := time.NewTicker(min(r.m.o.Silence/4, 5*time.Second))
	defer tick.Stop()
	since := r.m.o.Now()
	for {
		select {
		case <-ctx.Done():
			r.update(func(s *Status) { s.State = "stopped" })
			r.m.o.Metrics.Up.WithLabelValues(r.spec.Name).Set(0)
			return
		case <-tick.C:
		}
		r.mu.Lock()
		last := since
		if r.lastSeen.After(last) {
			last = r.lastSeen
		}
		away := r.conns == 0 && r.m.o.Now().Sub(last) >= r.m.o.Silence
		raise := away && !r.failed
		if raise {
			r.failed = true
			r.st.State = "failed"
			r.st.LastError = fmt.Sprintf("not connected for %v", r.m.o.Silence)
		}
		r.mu.Unlock()
		if raise {
			r.m.emit(event.New(event.KindAlarmRaised, "", event.SeverityMedium, event.Alarm{
				Key: AlarmFailed + ":" + r.spec.Name, Type: AlarmFailed,
				Message: fmt.Sprintf("remote plugin %s has not been connected for %v", r.spec.Name, r.m.o.Silence)}))
		}
	}
}

// seen notes a request of a remote plugin.
func (r *runner) seen() {
	now := r.m.o.Now()
	r.mu.Lock()
	r.lastSeen = now
	r.mu.Unlock()
}

// connected counts a remote plugin's connections; the first clears
// plugin_failed.
func (r *runner) connected(addr string, d int) {
	now := r.m.o.Now()
	r.mu.Lock()
	r.conns += d
	r.lastSeen = now
	cleared := false
	if r.conns > 0 {
		r.st.State, r.st.Address = "connected", addr
		if r.st.Started.IsZero() || d > 0 && r.conns == 1 {
			r.st.Started = now
		}
		cleared, r.failed = r.failed, false
	} else {
		r.st.State = "disconnected"
	}
	up := r.conns > 0
	r.mu.Unlock()
	if up {
		r.m.o.Metrics.Up.WithLabelValues(r.spec.Name).Set(1)
	} else {
		r.m.o.Metrics.Up.WithLabelValues(r.spec.Name).Set(0)
	}
	if d > 0 {
		r.log().Info("remote plugin connected", "from", addr)
	} else {
		r.log().Info("remote plugin connection closed", "from", addr)
	}
	if cleared {
		r.m.emit(event.New(event.KindAlarmCleared, "", event.SeverityInfo, event.Alarm{
			Key: AlarmFailed + ":" + r.spec.Name, Type: AlarmFailed,
			Message: "remote plugin " + r.spec.Name + " is connected again from " + addr}))
	}
}
