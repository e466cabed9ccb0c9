// Package timesynctest is an NTP server for tests: it answers SNTP
// queries on loopback with this machine's clock plus an offset the test
// sets, or keeps silent.
package timesynctest

import (
	"encoding/binary"
	"net"
	"sync"
	"time"
)

// Server answers NTP queries.
type Server struct {
	conn *net.UDPConn

	mu     sync.Mutex
	offset time.Duration
	silent bool
	done   chan struct{}
}

// Start listens on a loopback UDP port.
func Start() (*Server, error) {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, err
	}
	s := &Server{conn: c, done: make(chan struct{})}
	go s.serve()
	return s, nil
}

// Addr is host:port of the server.
func (s *Server) Addr() string { return s.conn.LocalAddr().String() }

// SetOffset makes the server's time this machine's clock plus d.
func (s *Server) SetOffset(d time.Duration) {
	s.mu.Lock()
	s.offset = d
	s.mu.Unlock()
}

// SetSilent makes the server ignore queries (an unreachable server).
func (s *Server) SetSilent(silent bool) {
	s.mu.Lock()
	s.silent = silent
	s.mu.Unlock()
}

// Close stops it.
func (s *Server) Close() {
	_ = s.conn.Close()
	<-s.done
}

const ntpEpoch = 2208988800 // seconds from 1900 to 1970

func putTime(b []byte, t time.Time) {
	secs := uint64(t.Unix()) + ntpEpoch
	frac := uint64(t.Nanosecond()) << 32 / 1e9
	binary.BigEndian.PutUint32(b, uint32(secs))
	binary.BigEndian.PutUint32(b[4:], uint32(frac))
}

func (s *Server) serve() {
	defer close(s.done)
	buf := make([]byte, 512)
	for {
		n, from, err := s.conn.ReadFromUDP(buf)
		if err != nil {
			return
		}
		if n < 48 {
			continue
		}
		s.mu.Lock()
		offset, silent := s.offset, s.silent
		s.mu.Unlock()
		if silent {
			continue
		}
		now := time.Now().Add(offset)
		var r [48]byte
		r[0] = 0<<6 | 4<<3 | 4                   // no leap warning, version 4, server
		r[1] = 1                                 // stratum 1: a reference clock
		r[2] = buf[2]                            // the client's poll interval
		r[3] = 0xec                              // precision 2^-20 s
		binary.BigEndian.PutUint32(r[8:], 1<<10) // root dispersion 1/64 s
		copy(r[12:16], "TEST")
		putTime(r[16:], now.Add(-time.Second)) // reference time
		copy(r[24:32], buf[40:48])             // originate: the client's transmit time
		putTime(r[32:], now)                   // receive
		putTime(r[40:], now)                   // transmit
		_, _ = s.conn.WriteToUDP(r[:], from)
	}
}
