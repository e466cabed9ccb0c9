package sdnotify

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

func TestNotifyAndWatchdog(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	if err := Notify("READY=1"); err != nil {
		t.Fatalf("outside systemd: %v", err)
	}
	sock := filepath.Join(t.TempDir(), "notify")
	ln, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	t.Setenv("NOTIFY_SOCKET", sock)
	if err := Notify("READY=1\nSTATUS=running"); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 256)
	_ = ln.SetReadDeadline(time.Now().Add(2 * time.Second))
	n, err := ln.Read(buf)
	if err != nil || string(buf[:n]) != "READY=1\nSTATUS=running" {
		t.Fatalf("read %q, %v", buf[:n], err)
	}
	t.Setenv("WATCHDOG_USEC", "30000000")
	t.Setenv("WATCHDOG_PID", strconv.Itoa(os.Getpid()))
	if Watchdog() != 30*time.Second {
		t.Errorf("watchdog %v", Watchdog())
	}
	t.Setenv("WATCHDOG_PID", "1")
	if Watchdog() != 0 {
		t.Error("a watchdog meant for another process")
	}
}
