package netfault

import (
	"errors"
	"net"
	"os"
	"testing"
	"time"
)

// echo answers every datagram with the same bytes until closed.
func echo(t *testing.T, addr string) *net.UDPConn {
	t.Helper()
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	a, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.ListenUDP("udp", a)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		buf := make([]byte, 2048)
		for {
			n, from, err := c.ReadFromUDP(buf)
			if err != nil {
				return
			}
			_, _ = c.WriteToUDP(buf[:n], from)
		}
	}()
	return c
}

// roundTrip sends one datagram through the relay and waits for the echo.
func roundTrip(t *testing.T, c *net.UDPConn, wait time.Duration) (time.Duration, bool) {
	t.Helper()
	start := time.Now()
	if _, err := c.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(wait))
	buf := make([]byte, 64)
	for {
		n, err := c.Read(buf)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return 0, false
		}
		if err != nil {
			continue // an ICMP error reported on the connected socket
		}
		if string(buf[:n]) == "ping" {
			return time.Since(start), true
		}
	}
}

func dial(t *testing.T, addr string) *net.UDPConn {
	t.Helper()
	a, _ := net.ResolveUDPAddr("udp", addr)
	c, err := net.DialUDP("udp", nil, a)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestCutLossDelay(t *testing.T) {
	srv := echo(t, "")
	defer srv.Close()
	r, err := NewRelay(srv.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	c := dial(t, r.Addr())
	if _, ok := roundTrip(t, c, time.Second); !ok {
		t.Fatal("no echo through a healthy relay")
	}
	r.Cut()
	if _, ok := roundTrip(t, c, 200*time.Millisecond); ok {
		t.Fatal("echo through a cut relay")
	}
	r.Heal()
	r.SetLoss(1)
	if _, ok := roundTrip(t, c, 200*time.Millisecond); ok {
		t.Fatal("echo through a relay losing everything")
	}
	r.SetLoss(0.5)
	got := 0
	for range 200 {
		if _, ok := roundTrip(t, c, 20*time.Millisecond); ok {
			got++
		}
	}
	// each way loses half: a quarter of round trips survive
	if got < 20 || got > 90 {
		t.Fatalf("%d of 200 round trips at 50%% loss each way", got)
	}
	r.SetLoss(0)
	r.SetDelay(40*time.Millisecond, 10*time.Millisecond)
	rtt, ok := roundTrip(t, c, time.Second)
	if !ok || rtt < 80*time.Millisecond {
		t.Fatalf("round trip through a 40 ms relay: %v, %v", rtt, ok)
	}
	r.Clear()
	if rtt, ok := roundTrip(t, c, time.Second); !ok || rtt > 40*time.Millisecond {
		t.Fatalf("round trip after Clear: %v, %v", rtt, ok)
	}
	if s := r.Stats(); s.Forwarded == 0 || s.Dropped == 0 {
		t.Fatalf("stats %+v", s)
	}
}

// A target that dies and comes back on the same port is reached again
// through the same client socket: the relay survives the ICMP errors.
func TestTargetRestarts(t *testing.T) {
	srv := echo(t, "")
	addr := srv.LocalAddr().String()
	r, err := NewRelay(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	c := dial(t, r.Addr())
	if _, ok := roundTrip(t, c, time.Second); !ok {
		t.Fatal("no echo")
	}
	srv.Close()
	for range 3 { // port unreachable, reported to the relay's socket
		if _, ok := roundTrip(t, c, 100*time.Millisecond); ok {
			t.Fatal("echo from a closed target")
		}
	}
	srv = echo(t, addr)
	defer srv.Close()
	if _, ok := roundTrip(t, c, 2*time.Second); !ok {
		t.Fatal("no echo after the target came back on the same port")
	}
}
