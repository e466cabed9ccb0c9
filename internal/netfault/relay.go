// Package netfault puts controllable faults between two loopback peers:
// a UDP relay whose link can be cut and healed. Tests only.
package netfault

import (
	"net"
	"sync"
	"sync/atomic"
)

// Relay forwards UDP datagrams between clients and one target. While cut,
// every datagram in both directions is dropped, like a dead uplink.
type Relay struct {
	ln     *net.UDPConn
	target *net.UDPAddr
	cut    atomic.Bool

	mu    sync.Mutex
	peers map[string]*net.UDPConn // client address -> socket towards target
	wg    sync.WaitGroup
	done  chan struct{}
}

// NewRelay listens on 127.0.0.1 and forwards to target.
func NewRelay(target string) (*Relay, error) {
	taddr, err := net.ResolveUDPAddr("udp", target)
	if err != nil {
		return nil, err
	}
	ln, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, err
	}
	r := &Relay{ln: ln, target: taddr, peers: map[string]*net.UDPConn{}, done: make(chan struct{})}
	r.wg.Add(1)
	go r.fromClients()
	return r, nil
}

// Addr is where clients send.
func (r *Relay) Addr() string { return r.ln.LocalAddr().String() }

// Cut drops everything until Heal.
func (r *Relay) Cut() { r.cut.Store(true) }

// Heal forwards again.
func (r *Relay) Heal() { r.cut.Store(false) }

// Close stops the relay and its goroutines.
func (r *Relay) Close() {
	close(r.done)
	r.ln.Close()
	r.mu.Lock()
	for _, p := range r.peers {
		p.Close()
	}
	r.mu.Unlock()
	r.wg.Wait()
}

func (r *Relay) fromClients() {
	defer r.wg.Done()
	buf := make([]byte, 65536)
	for {
		n, from, err := r.ln.ReadFromUDP(buf)
		if err != nil {
			return
		}
		if r.cut.Load() {
			continue
		}
		up := r.peer(from)
		if up != nil {
			_, _ = up.Write(buf[:n])
		}
	}
}

func (r *Relay) peer(client *net.UDPAddr) *net.UDPConn {
	r.mu.Lock()
	defer r.mu.Unlock()
	if p, ok := r.peers[client.String()]; ok {
		return p
	}
	select {
	case <-r.done:
		return nil
	default:
	}
	up, err := net.DialUDP("udp", nil, r.target)
	if err != nil {
		return nil
	}
	r.peers[client.String()] = up
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		buf := make([]byte, 65536)
		for {
			n, err := up.Read(buf)
			if err != nil {
				return
			}
			if r.cut.Load() {
				continue
			}
			_, _ = r.ln.WriteToUDP(buf[:n], client)
		}
	}()
	return up
}
