package testkit

import (
	"errors"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
)

// Ports below every range another process picks from on its own: the
// kernel's ephemeral ports (32768 and up on Linux), the RTP/RTCP pairs an
// RTSP client opens for UDP transport (gortsplib: 10000 and up; ffmpeg:
// 5000 and up). A port a test names is then never taken by another
// package's camera or socket while the node on it restarts, so a node a
// test stops can start again on its old address. Tests of other packages
// choosing from the same range run in other processes at the same time;
// a lock on a file named for the port, held until the test ends, keeps
// them off it while its node is down.
const (
	portLow  = 1100
	portHigh = 5000 // below the lowest port an RTP client picks
)

// Port returns a loopback address ("127.0.0.1:N") free for both TCP and
// UDP at the time of the call and reserved for the test, for a listener
// a test must be able to restart on the same address.
func Port(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(os.TempDir(), "kuzet-test-ports")
	if err := os.MkdirAll(dir, 0o777); err != nil {
		t.Fatalf("test port locks: %v", err)
	}
	for range 200 {
		port := portLow + rand.IntN(portHigh-portLow)
		lock, err := reserve(filepath.Join(dir, strconv.Itoa(port)))
		if err != nil {
			if errors.Is(err, syscall.EWOULDBLOCK) {
				continue // another test holds it
			}
			t.Fatalf("test port lock: %v", err)
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		if free(addr) {
			t.Cleanup(func() { lock.Close() })
			return addr
		}
		lock.Close()
	}
	t.Fatalf("no free loopback port in %d–%d", portLow, portHigh)
	return ""
}

// reserve takes an exclusive lock on path, released when the file is
// closed or the process ends, however it ends.
func reserve(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// free reports whether addr can be bound for both TCP and UDP now.
func free(addr string) bool {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return false
	}
	defer l.Close()
	c, err := net.ListenPacket("udp", addr)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// Ports returns n distinct addresses as Port does.
func Ports(t testing.TB, n int) []string {
	t.Helper()
	out := make([]string, n)
	for i := range out {
		out[i] = Port(t) // each is locked, so none repeats
	}
	return out
}
