// Package netfault puts controllable faults between two loopback peers:
// a UDP relay whose link can be cut and healed, made lossy, or slowed
// down. Tests only.
package netfault

import (
	"errors"
	"math"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Relay forwards UDP datagrams between clients and one target. While cut,
// every datagram in both directions is dropped, like a dead uplink. With a
// loss rate, each datagram in either direction is dropped with that
// probability; with a delay, every datagram waits that long (plus up to
// the jitter) before it goes on, in the order it arrived, like a long or
// congested path.
type Relay struct {
	ln     *net.UDPConn
	target *net.UDPAddr
	cut    atomic.Bool
	loss   atomic.Uint64 // math.Float64bits of the drop probability
	delay  atomic.Int64  // nanoseconds
	jitter atomic.Int64  // nanoseconds

	forwarded, dropped, overflow atomic.Uint64

	line chan delayed // the delay line, first in first out

	mu    sync.Mutex
	peers map[string]*net.UDPConn // client address -> socket towards target
	wg    sync.WaitGroup
	done  chan struct{}
	once  sync.Once
}

// delayed is a datagram waiting in the delay line.
type delayed struct {
	due  time.Time
	data []byte
	send func([]byte)
}

// lineCap bounds the delay line, like a router's queue: beyond it
// datagrams are dropped (counted as overflow).
const lineCap = 8192

// Stats counts what the relay did with the datagrams it received.
type Stats struct {
	Forwarded uint64 // sent on (after any delay)
	Dropped   uint64 // dropped by a cut or by loss
	Overflow  uint64 // dropped because the delay line was full
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
	r := &Relay{ln: ln, target: taddr, peers: map[string]*net.UDPConn{}, done: make(chan struct{}),
		line: make(chan delayed, lineCap)}
	r.wg.Add(2)
	go r.fromClients()
	go r.delayLine()
	return r, nil
}

// Addr is where clients send.
func (r *Relay) Addr() string { return r.ln.LocalAddr().String() }

// Target is where the relay forwards to.
func (r *Relay) Target() string { return r.target.String() }

// Cut drops everything until Heal.
func (r *Relay) Cut() { r.cut.Store(true) }

// Heal forwards again. Loss and delay, if set, stay as they are.
func (r *Relay) Heal() { r.cut.Store(false) }

// SetLoss drops each datagram, in either direction, with probability p
// (0 forwards everything, 1 nothing).
func (r *Relay) SetLoss(p float64) {
	r.loss.Store(math.Float64bits(min(max(p, 0), 1)))
}

// SetDelay holds every datagram for d plus a random part of jitter before
// forwarding it; datagrams keep their order. Zero d and jitter forward at
// once.
func (r *Relay) SetDelay(d, jitter time.Duration) {
	r.delay.Store(int64(max(d, 0)))
	r.jitter.Store(int64(max(jitter, 0)))
}

// Clear heals the link and removes loss and delay.
func (r *Relay) Clear() {
	r.Heal()
	r.SetLoss(0)
	r.SetDelay(0, 0)
}

// Stats returns the counts so far.
func (r *Relay) Stats() Stats {
	return Stats{Forwarded: r.forwarded.Load(), Dropped: r.dropped.Load(), Overflow: r.overflow.Load()}
}

// Close stops the relay and its goroutines.
func (r *Relay) Close() {
	r.once.Do(func() {
		close(r.done)
		r.ln.Close()
		r.mu.Lock()
		for _, p := range r.peers {
			p.Close()
		}
		r.mu.Unlock()
		r.wg.Wait()
	})
}

// pass decides what happens to one datagram: dropped, sent now, or queued
// in the delay line. send must not keep b.
func (r *Relay) pass(b []byte, send func([]byte)) {
	if r.cut.Load() {
		r.dropped.Add(1)
		return
	}
	if p := math.Float64frombits(r.loss.Load()); p > 0 && rand.Float64() < p {
		r.dropped.Add(1)
		return
	}
	d, j := time.Duration(r.delay.Load()), time.Duration(r.jitter.Load())
	if d == 0 && j == 0 {
		send(b)
		r.forwarded.Add(1)
		return
	}
	if j > 0 {
		d += rand.N(j + 1)
	}
	select {
	case r.line <- delayed{due: time.Now().Add(d), data: append([]byte(nil), b...), send: send}:
	default:
		r.overflow.Add(1)
	}
}

// delayLine sends queued datagrams when they are due, in arrival order.
func (r *Relay) delayLine() {
	defer r.wg.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		var d delayed
		select {
		case <-r.done:
			return
		case d = <-r.line:
		}
		if wait := time.Until(d.due); wait > 0 {
			timer.Reset(wait)
			select {
			case <-r.done:
				return
			case <-timer.C:
			}
		}
		if r.cut.Load() { // cut while in flight
			r.dropped.Add(1)
			continue
		}
		d.send(d.data)
		r.forwarded.Add(1)
	}
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
			r.dropped.Add(1)
			continue
		}
		up := r.peer(from)
		if up != nil {
			r.pass(buf[:n], func(b []byte) { _, _ = up.Write(b) })
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
				// A connected UDP socket reports the target's ICMP port
				// unreachable (a killed peer) as a read error; the peer may
				// come back on the same port, so only closing ends this.
				if errors.Is(err, net.ErrClosed) {
					return
				}
				select {
				case <-r.done:
					return
				case <-time.After(10 * time.Millisecond):
				}
				continue
			}
			r.pass(buf[:n], func(b []byte) { _, _ = r.ln.WriteToUDP(b, client) })
		}
	}()
	return up
}
