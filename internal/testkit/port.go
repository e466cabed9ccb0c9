package testkit

import (
	"math/rand/v2"
	"net"
	"strconv"
	"testing"
)

// Ports below every range another process picks from on its own: the
// kernel's ephemeral ports (32768 and up on Linux), the RTP/RTCP pairs an
// RTSP client opens for UDP transport (gortsplib: 10000 and up; ffmpeg:
// 5000 and up). A port a test names is then never taken by another
// package's camera or socket while the node on it restarts, so a node a
// test stops can start again on its old address. Only another test
// choosing from the same range could take it, and the choice is random.
const (
	portLow  = 1100
	portHigh = 5000 // below the lowest port an RTP client picks
)

// Port returns a loopback address ("127.0.0.1:N") free for both TCP and
// UDP at the time of the call, for a listener a test must be able to
// restart on the same address.
func Port(t testing.TB) string {
	t.Helper()
	for range 200 {
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(portLow+rand.IntN(portHigh-portLow)))
		l, err := net.Listen("tcp", addr)
		if err != nil {
			continue
		}
		c, err := net.ListenPacket("udp", addr)
		l.Close()
		if err != nil {
			continue
		}
		c.Close()
		return addr
	}
	t.Fatalf("no free loopback port in %d–%d", portLow, portHigh)
	return ""
}

// Ports returns n distinct addresses as Port does.
func Ports(t testing.TB, n int) []string {
	t.Helper()
	seen := map[string]bool{}
	var out []string
	for len(out) < n {
		if a := Port(t); !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	return out
}
