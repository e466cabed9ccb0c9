package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"syscall"
	"time"

	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/federation"
	"github.com/kuzet/kuzet/pki"
)

// parentStat is what the parent process reports on "stat".
type parentStat struct {
	Children   int    `json:"children"`
	Connected  int    `json:"connected"`
	Down       int    `json:"link_down"`
	Events     uint64 `json:"events_stored"`
	MaxSilentS int    `json:"max_silence_s"` // longest time since a connected child was last heard
	HeapInuse  uint64 `json:"heap_inuse"`
	Sys        uint64 `json:"go_sys"`
	Goroutines int    `json:"goroutines"`
	NumGC      uint32 `json:"num_gc"`
}

// runParent is the scale run's parent (-role parent): a federation server
// with its own event log, in a process of its own so its CPU and memory can
// be read from /proc. It prints "addr HOST:PORT", then answers each "stat"
// line on stdin with a JSON parentStat line, and exits when stdin closes or
// on SIGTERM/SIGINT.
func runParent(pkiDir, stateDir string) int {
	fail := func(err error) int {
		fmt.Fprintln(os.Stderr, "bench parent:", err)
		return 1
	}
	ident, err := pki.LoadIdentity(filepath.Join(pkiDir, pki.CACertFile),
		filepath.Join(pkiDir, "region.pem"), filepath.Join(pkiDir, "region-key.pem"), nil)
	if err != nil {
		return fail(err)
	}
	l, err := event.OpenLog(filepath.Join(stateDir, "region-events.db"), "region", nil)
	if err != nil {
		return fail(err)
	}
	defer l.Close()
	srv, err := federation.Listen(federation.ServerOptions{Listen: "127.0.0.1:0", Identity: ident, Log: l})
	if err != nil {
		return fail(err)
	}
	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer cancel()
	done := make(chan struct{})
	go func() { srv.Run(ctx); close(done) }()
	out := bufio.NewWriter(os.Stdout)
	fmt.Fprintln(out, "addr", srv.Addr())
	_ = out.Flush()
	go func() {
		sc := bufio.NewScanner(os.Stdin)
		for sc.Scan() {
			if sc.Text() != "stat" {
				continue
			}
			b, _ := json.Marshal(statParent(srv))
			_, _ = out.Write(append(b, '\n'))
			_ = out.Flush()
		}
		cancel() // stdin closed: the measuring process is done or gone
	}()
	<-ctx.Done()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		return fail(fmt.Errorf("server did not stop within 10 s"))
	}
	return 0
}

func statParent(srv *federation.Server) parentStat {
	var st parentStat
	now := time.Now()
	for _, c := range srv.Children() {
		st.Children++
		st.Events += c.Events
		if c.Down {
			st.Down++
		}
		if c.Connected {
			st.Connected++
			st.MaxSilentS = max(st.MaxSilentS, int(now.Sub(c.LastHeard).Seconds()))
		}
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	st.HeapInuse, st.Sys, st.NumGC = ms.HeapInuse, ms.Sys, ms.NumGC
	st.Goroutines = runtime.NumGoroutine()
	return st
}
