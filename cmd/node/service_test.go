package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kuzet/kuzet/config"
	"github.com/kuzet/kuzet/internal/logtest"
	"github.com/kuzet/kuzet/internal/testkit"
)

// The packaged service: its unit's ExecStart, run as systemd would with
// the packaged configuration (paths moved into the test's directory),
// tells a notify socket READY=1 once the node serves, feeds the watchdog
// at half its period, logs with journald's priorities, and says
// STOPPING=1 when stopped.
func TestServiceUnitNotifiesAndFeedsTheWatchdog(t *testing.T) {
	unit, err := os.ReadFile("../../packaging/kuzet.service")
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]string{}
	for _, l := range strings.Split(string(unit), "\n") {
		if k, v, ok := strings.Cut(l, "="); ok && !strings.HasPrefix(l, "#") {
			keys[k] = v
		}
	}
	exec0 := strings.Fields(keys["ExecStart"])
	if keys["Type"] != "notify" || keys["WatchdogSec"] == "" || keys["Restart"] != "on-failure" || keys["User"] != "kuzet" ||
		len(exec0) != 4 || exec0[0] != "/usr/bin/kuzet" || exec0[1] != "run" || exec0[2] != "-c" || exec0[3] != "/etc/kuzet/node.yaml" {
		t.Fatalf("the unit: %v", keys)
	}
	for k, v := range map[string]string{"NoNewPrivileges": "yes", "ProtectSystem": "strict", "PrivateDevices": "yes", "PrivateTmp": "yes",
		"ProtectKernelTunables": "yes", "ProtectKernelModules": "yes", "RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6 AF_NETLINK",
		"AmbientCapabilities": "CAP_NET_BIND_SERVICE", "ReadWritePaths": "/var/lib/kuzet /srv/kuzet"} {
		if keys[k] != v {
			t.Errorf("the unit's %s is %q, want %q", k, keys[k], v)
		}
	}
	// the packaged configuration is valid as shipped
	if _, err := config.LoadFile("../../packaging/node.yaml", config.Options{}); err != nil {
		t.Fatalf("packaging/node.yaml: %v", err)
	}
	shipped, _ := os.ReadFile("../../packaging/node.yaml")
	dir := t.TempDir()
	cfg := strings.NewReplacer("/var/lib/kuzet", filepath.Join(dir, "data"), "/srv/kuzet/archive", filepath.Join(dir, "archive"),
		"127.0.0.1:8080", "127.0.0.1:0").Replace(string(shipped))
	cfgPath := filepath.Join(dir, "node.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}

	sock := filepath.Join(dir, "notify")
	ln, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cmd := exec.Command(testkit.Binary(t), exec0[1], exec0[2], cfgPath)
	cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+sock, "WATCHDOG_USEC=400000")
	// the log is kept whole, however long, so that writing it never
	// holds the node up, and shown when a notification does not come
	var logBuf logtest.Buffer
	cmd.Stderr = &logBuf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() }) // our own child, by PID

	read := func(within time.Duration) string {
		t.Helper()
		buf := make([]byte, 512)
		_ = ln.SetReadDeadline(time.Now().Add(within))
		n, err := ln.Read(buf)
		if err != nil {
			state := "still running"
			select {
			case werr := <-exited:
				state = fmt.Sprintf("exited: %v", werr)
			default:
			}
			t.Fatalf("no notification within %v: %v; the node %s; its log:\n%s", within, err, state, logBuf.String())
		}
		return string(buf[:n])
	}
	if got := read(30 * time.Second); got != "READY=1\nSTATUS=node site-1 running" {
		t.Fatalf("first notification %q", got)
	}
	start := time.Now()
	for i := 0; i < 3; i++ {
		if got := read(2 * time.Second); got != "WATCHDOG=1" {
			t.Fatalf("notification %q, want WATCHDOG=1", got)
		}
	}
	if took := time.Since(start); took > 1500*time.Millisecond {
		t.Errorf("three watchdog feeds took %v; the period is 0.2 s", took)
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	for {
		got := read(30 * time.Second)
		if got == "STOPPING=1" {
			break
		}
		if got != "WATCHDOG=1" {
			t.Fatalf("notification %q while stopping", got)
		}
	}
	if err := <-exited; err != nil {
		t.Fatalf("the node stopped with %v", err)
	}
	n, running := 0, false
	for _, l := range strings.Split(strings.TrimSuffix(logBuf.String(), "\n"), "\n") {
		n++
		if !strings.HasPrefix(l, "<6>") && !strings.HasPrefix(l, "<4>") && !strings.HasPrefix(l, "<3>") && !strings.HasPrefix(l, "<7>") {
			t.Errorf("a line without a journald priority: %q", l)
		}
		running = running || strings.HasPrefix(l, `<6>level=INFO msg="node running"`)
	}
	if n == 0 || !running {
		t.Errorf("%d log lines, the start line among them: %v", n, running)
	}
}
