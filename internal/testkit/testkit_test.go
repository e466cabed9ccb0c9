package testkit

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

func TestEventuallyAndClock(t *testing.T) {
	c := NewClock(time.Date(2025, 8, 18, 9, 0, 0, 0, time.UTC))
	go func() { time.Sleep(50 * time.Millisecond); c.Advance(time.Hour) }()
	if !Eventually(2*time.Second, func() bool { return c.Now().Hour() == 10 }) {
		t.Fatal("the advanced clock was never seen")
	}
	if Eventually(60*time.Millisecond, func() bool { return false }) {
		t.Fatal("a condition that never holds was reported as held")
	}
	if _, err := os.Stat(filepath.Join(must(ModuleRoot()), "go.mod")); err != nil {
		t.Fatalf("module root: %v", err)
	}
}

func must(s string, err error) string {
	if err != nil {
		panic(err)
	}
	return s
}

func TestPortOutsideEphemeralRange(t *testing.T) {
	// gortsplib's UDP clients take pairs from 10000 up, ffmpeg's from 5000
	// up: a restarted centre lost its port to a camera's RTCP socket
	if portHigh > 5000 {
		t.Fatalf("the range %d–%d reaches the ports RTSP clients pick", portLow, portHigh)
	}
	addrs := Ports(t, 20)
	for _, a := range addrs {
		_, p, err := net.SplitHostPort(a)
		if err != nil {
			t.Fatal(err)
		}
		n, _ := strconv.Atoi(p)
		if n < portLow || n >= portHigh {
			t.Fatalf("%s outside %d–%d", a, portLow, portHigh)
		}
		// the address is free for both kinds of listener a node opens
		l, err := net.Listen("tcp", a)
		if err != nil {
			t.Fatal(err)
		}
		l.Close()
		c, err := net.ListenPacket("udp", a)
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
	}
}
