package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"time"

	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/federation"
	"github.com/kuzet/kuzet/pki"
)

// runRegion is -role region: a federation server for its sites and a
// client to the centre, over one event log, as a region node relays. Its
// uplink can be cut ("cut": the client stops, as when the WAN fails) and
// restored ("link").
func runRegion(pkiDir, stateDir, id, upstream string, heartbeat time.Duration) int {
	fail := func(err error) int {
		fmt.Fprintf(os.Stderr, "bench %s: %v\n", id, err)
		return 1
	}
	ident, err := loadIdentity(pkiDir, id)
	if err != nil {
		return fail(err)
	}
	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer cancel()
	log, err := event.OpenLog(filepath.Join(stateDir, id+"-events.db"), id, nil)
	if err != nil {
		return fail(err)
	}
	defer log.Close()
	// sites have no children: each speaks for itself alone (MaySpeakFor nil)
	srv, err := federation.Listen(federation.ServerOptions{Listen: "127.0.0.1:0", Identity: ident, Log: log, Logger: roleLogger()})
	if err != nil {
		return fail(err)
	}
	up := &uplink{ident: ident, log: log, addr: upstream, heartbeat: heartbeat}
	up.start()
	defer up.stop()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); srv.Run(ctx) }()
	ready("addr=%s", srv.Addr())
	go func() {
		serveCommands(func(cmd string, _ []string) (any, error) {
			switch cmd {
			case "stat":
				return regionStatOf(srv, log, up), nil
			case "cut":
				up.stop()
				return "ok", nil
			case "link":
				up.start()
				return "ok", nil
			}
			return nil, errUnknownCommand
		})
		cancel()
	}()
	<-ctx.Done()
	up.stop()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		return fail(fmt.Errorf("did not stop within 15 s"))
	}
	return 0
}

// uplink is the region's link to the centre, which can be cut.
type uplink struct {
	ident     *pki.Identity
	log       *event.Log
	addr      string
	heartbeat time.Duration

	mu     sync.Mutex
	cl     *federation.Client
	cancel func()
	done   chan struct{}
}

func (u *uplink) start() {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.cl != nil {
		return
	}
	u.cl = federation.NewClient(federation.ClientOptions{Upstream: []string{u.addr}, Identity: u.ident, Log: u.log,
		Logger: roleLogger(), Heartbeat: u.heartbeat, BackoffMax: time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	u.cancel, u.done = cancel, make(chan struct{})
	cl, done := u.cl, u.done
	go func() { cl.Run(ctx); close(done) }()
}

func (u *uplink) stop() {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.cl == nil {
		return
	}
	u.cancel()
	select {
	case <-u.done:
	case <-time.After(15 * time.Second):
		fmt.Fprintln(os.Stderr, "bench region: uplink did not stop within 15 s")
	}
	u.cl = nil
}

func (u *uplink) status() (federation.LinkStatus, bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.cl == nil {
		return federation.LinkStatus{}, false
	}
	return u.cl.Status(), true
}

// regionStat is what a region reports on "stat".
type regionStat struct {
	Linked     int    `json:"linked_sites"`
	Events     uint64 `json:"events_stored"`
	LastPos    uint64 `json:"log_last"`
	Uplink     bool   `json:"uplink_connected"`
	Running    bool   `json:"uplink_running"`
	Backlog    uint64 `json:"uplink_backlog"`
	HeapInuse  uint64 `json:"heap_inuse"`
	Goroutines int    `json:"goroutines"`
}

func regionStatOf(srv *federation.Server, log *event.Log, up *uplink) regionStat {
	var st regionStat
	for _, c := range srv.Children() {
		st.Events += c.Events
		if c.Connected {
			st.Linked++
		}
	}
	st.LastPos = log.Last()
	ls, running := up.status()
	st.Uplink, st.Running, st.Backlog = ls.Connected, running, ls.Backlog
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	st.HeapInuse, st.Goroutines = ms.HeapInuse, runtime.NumGoroutine()
	return st
}
