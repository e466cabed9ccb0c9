package topologytest

import (
	"io"
	"net"
	"sync"
)

// cutter is a TCP relay in front of a replica's Raft port: its peers dial
// the relay, and a cut drops every connection through it and refuses new
// ones, as a partition does. (SIGSTOP does not: the kernel still takes
// what the leader sends into the paused process's socket buffers, and the
// process reads it all when it resumes.)
type cutter struct {
	ln net.Listener

	mu     sync.Mutex
	target string // the replica's own Raft address; "" until it is up
	cut    bool
	conns  map[net.Conn]struct{}
}

func newCutter() (*cutter, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	c := &cutter{ln: ln, conns: map[net.Conn]struct{}{}}
	go c.serve()
	return c, nil
}

func (c *cutter) addr() string { return c.ln.Addr().String() }

func (c *cutter) setTarget(t string) {
	c.mu.Lock()
	c.target = t
	c.mu.Unlock()
}

// setCut cuts (dropping what is open) or heals the way in.
func (c *cutter) setCut(on bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cut = on
	if on {
		for conn := range c.conns {
			_ = conn.Close()
		}
	}
}

func (c *cutter) serve() {
	for {
		in, err := c.ln.Accept()
		if err != nil {
			return
		}
		go c.relay(in)
	}
}

func (c *cutter) relay(in net.Conn) {
	c.mu.Lock()
	target, cut := c.target, c.cut
	c.mu.Unlock()
	if cut || target == "" {
		_ = in.Close()
		return
	}
	out, err := net.Dial("tcp", target)
	if err != nil {
		_ = in.Close()
		return
	}
	c.mu.Lock()
	if c.cut { // cut while dialling
		c.mu.Unlock()
		_ = in.Close()
		_ = out.Close()
		return
	}
	c.conns[in], c.conns[out] = struct{}{}, struct{}{}
	c.mu.Unlock()
	var wg sync.WaitGroup
	pipe := func(dst, src net.Conn) {
		defer wg.Done()
		_, _ = io.Copy(dst, src)
		_ = dst.Close()
		_ = src.Close()
	}
	wg.Add(2)
	go pipe(out, in)
	go pipe(in, out)
	wg.Wait()
	c.mu.Lock()
	delete(c.conns, in)
	delete(c.conns, out)
	c.mu.Unlock()
}

func (c *cutter) close() {
	_ = c.ln.Close()
	c.setCut(true)
}
