package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// source is a running `kuzet testcam`: the RTSP cameras both recorders pull.
type source struct {
	*child
	urls []string // rtsp://127.0.0.1:PORT/cam1..camN
}

// startSource starts a testcam with n TCP-only cameras on a port it picks
// itself (port 0, so no race for a free port) and waits for the URLs it
// prints once it listens.
func startSource(r *reaper, kuzetBin, dir string, n int) (*source, error) {
	out := filepath.Join(dir, "testcam.out")
	errPath := filepath.Join(dir, "testcam.err")
	c, err := r.start("testcam", out, errPath, kuzetBin, "testcam",
		"--listen", "127.0.0.1:0", "--cameras", fmt.Sprint(n), "--no-udp")
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		b, _ := os.ReadFile(out)
		var urls []string
		for l := range strings.Lines(string(b)) {
			if l = strings.TrimSpace(l); strings.HasPrefix(l, "rtsp://127.0.0.1:") {
				urls = append(urls, l)
			}
		}
		if len(urls) == n {
			return &source{child: c, urls: urls}, nil
		}
		if c.exited() {
			return nil, fmt.Errorf("testcam exited (%s): %s", c.exitStatus(), tail(errPath, 10))
		}
		if time.Now().After(deadline) {
			c.stop(syscall.SIGKILL, 0)
			return nil, fmt.Errorf("testcam printed %d of %d URLs in 20s", len(urls), n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stopSource ends the source; it closes its sessions on SIGTERM.
func (s *source) stopSource() string {
	graceful, _ := s.stop(syscall.SIGTERM, 10*time.Second)
	if !graceful {
		return "testcam needed SIGKILL"
	}
	return ""
}
