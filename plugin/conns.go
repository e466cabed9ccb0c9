package plugin

import (
	"fmt"
	"net"
	"net/http"
	"sync"

	"github.com/kuzet/kuzet/internal/httpjson"
)

// A plugin holds few connections and streams: a frame stream per granted
// camera (and one spare for a reconnect racing the old stream's end), a
// few event streams, a few posts. Past these bounds it is refused, so a
// plugin that leaks connections, or one turned hostile, cannot take the
// node's file descriptors or decoders.
const (
	maxConns        = 32  // a plugin's connections on its socket at once
	maxRemoteConns  = 256 // all remote plugins' connections at once
	maxEventStreams = 4   // a plugin's /v1/events streams at once
)

// maxFrameStreams is how many /v1/frames streams a plugin may hold.
func (s Spec) maxFrameStreams() int { return 2*len(s.Cameras) + 1 }

// limitListener accepts at most n connections at once; the others wait in
// the kernel's backlog, costing the node nothing.
type limitListener struct {
	net.Listener
	sem    chan struct{}
	done   chan struct{}
	closed sync.Once
}

func limitConns(l net.Listener, n int) net.Listener {
	return &limitListener{Listener: l, sem: make(chan struct{}, n), done: make(chan struct{})}
}

func (l *limitListener) Accept() (net.Conn, error) {
	select {
	case l.sem <- struct{}{}:
	case <-l.done:
		return nil, net.ErrClosed
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.sem
		return nil, err
	}
	return &limitConn{Conn: c, release: func() { <-l.sem }}, nil
}

// Close also ends an Accept waiting for a slot.
func (l *limitListener) Close() error {
	l.closed.Do(func() { close(l.done) })
	return l.Listener.Close()
}

type limitConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

// hold takes one of a plugin's streams of a kind, or answers 429 naming
// the bound; release gives it back.
func (r *runner) hold(w http.ResponseWriter, kind string, open *int, most int) (release func(), ok bool) {
	r.mu.Lock()
	if *open >= most {
		r.st.LastError = fmt.Sprintf("%s: more than %d streams at once", kind, most)
		r.mu.Unlock()
		httpjson.Error(w, http.StatusTooManyRequests, fmt.Sprintf("%s: this plugin holds %d streams already, the most it may (close one first)", kind, most))
		return nil, false
	}
	*open++
	r.mu.Unlock()
	return func() {
		r.mu.Lock()
		*open--
		r.mu.Unlock()
	}, true
}
