package testkit

import (
	"math/rand/v2"
	"net"
	"strconv"
	"testing"
)

// Ports below the kernel's ephemeral range (32768 and up on Linux): a
// port a test names is never handed to another process binding port 0,
// so a node a test stops can start again on its old address even while
// other packages' tests open hundreds of sockets. Only another test
// choosing from the same range could take it, and the choice is random.
const (
	portLow  = 20000
	portHigh = 32000
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
