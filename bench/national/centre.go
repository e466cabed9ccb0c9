package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/federation"
	"github.com/kuzet/kuzet/plates"
	"github.com/kuzet/kuzet/topology"
)

// runCentre is -role centre: catalogue replica centre-1 (it founds the
// Raft group; centre-2 and -3 join it), the federation server its regions
// link to, refusing any origin the catalogue does not place under the
// region, its event log, and the plate index following that log, as a
// centre node runs them. It also stamps the arrival of every site event
// for the latency figures, and times searches on the big index on demand.
func runCentre(pkiDir, stateDir string) int {
	fail := func(err error) int {
		fmt.Fprintln(os.Stderr, "bench centre:", err)
		return 1
	}
	ident, err := loadIdentity(pkiDir, centreID)
	if err != nil {
		return fail(err)
	}
	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer cancel()
	logger := roleLogger()
	rep, err := topology.Start(ctx, topology.Options{Identity: ident, Dir: filepath.Join(stateDir, "topology"),
		Listen: "127.0.0.1:0", Bootstrap: true, Logger: logger})
	if err != nil {
		return fail(err)
	}
	defer rep.Close()
	log, err := event.OpenLog(filepath.Join(stateDir, "centre-events.db"), centreID, nil)
	if err != nil {
		return fail(err)
	}
	defer log.Close()
	ix, err := plates.Open(filepath.Join(stateDir, "plates.db"))
	if err != nil {
		return fail(err)
	}
	defer ix.Close()
	srv, err := federation.Listen(federation.ServerOptions{Listen: "127.0.0.1:0", Identity: ident, Log: log, Logger: logger,
		MaySpeakFor: func(child, origin string) bool { return rep.Catalogue().MaySpeakFor(child, origin) },
		Confirm: func(ctx context.Context) error {
			_, err := rep.ConsistentCatalogue(ctx)
			return err
		}})
	if err != nil {
		return fail(err)
	}
	rec := newArrivals(log)
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { defer wg.Done(); srv.Run(ctx) }()
	go func() { defer wg.Done(); ix.Follow(ctx, log, plates.KindPlateRead, logger) }()
	go func() { defer wg.Done(); rec.run(ctx) }()
	ready("addr=%s raft=%s", srv.Addr(), rep.Address())

	go func() {
		serveCommands(func(cmd string, args []string) (any, error) {
			switch cmd {
			case "join": // ID ADDR
				if len(args) != 2 {
					return nil, fmt.Errorf("join ID ADDR")
				}
				jctx, jcancel := context.WithTimeout(ctx, 30*time.Second)
				defer jcancel()
				return "ok", rep.Join(jctx, topology.Peer{ID: args[0], Address: args[1]})
			case "nodes": // FILE: a JSON list of nodes, parents first
				if len(args) != 1 {
					return nil, fmt.Errorf("nodes FILE")
				}
				return putNodes(ctx, rep, args[0])
			case "catalogue":
				return rep.Status(), nil
			case "stat":
				return centreStatOf(srv, log, ix), nil
			case "held":
				return heldBySite(log)
			case "rec": // on | off
				rec.setRecording(len(args) == 1 && args[0] == "on")
				return "ok", nil
			case "lat": // FROM TO, unix nanoseconds of event time
				if len(args) != 2 {
					return nil, fmt.Errorf("lat FROM TO")
				}
				from, err1 := strconv.ParseInt(args[0], 10, 64)
				to, err2 := strconv.ParseInt(args[1], 10, 64)
				if err1 != nil || err2 != nil {
					return nil, fmt.Errorf("lat: bad times")
				}
				return rec.summary(from, to), nil
			case "search": // N INDEX META
				if len(args) != 3 {
					return nil, fmt.Errorf("search N INDEX META")
				}
				return searchIndex(args)
			}
			return nil, errUnknownCommand
		})
		cancel() // stdin closed: the measuring process is done or gone
	}()
	<-ctx.Done()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		return fail(fmt.Errorf("did not stop within 15 s"))
	}
	return 0
}

// putNodes writes the hierarchy into the catalogue through Raft: each
// node a command committed by a quorum of the three replicas.
func putNodes(ctx context.Context, rep *topology.Replica, path string) (any, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var nodes []topology.Node
	if err := json.Unmarshal(b, &nodes); err != nil {
		return nil, err
	}
	t0 := time.Now()
	apply := func(n topology.Node) error {
		actx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		_, err := rep.Apply(actx, topology.Command{Type: topology.PutNode, Node: &n})
		return err
	}
	// centres and regions in order; then the sites, several in flight
	// (Raft batches what is pending)
	var sites []topology.Node
	for _, n := range nodes {
		if n.Role == "site" {
			sites = append(sites, n)
		} else if err := apply(n); err != nil {
			return nil, fmt.Errorf("put node %s: %w", n.ID, err)
		}
	}
	work := make(chan topology.Node)
	errs := make(chan error, 16)
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range work {
				if err := apply(n); err != nil {
					select {
					case errs <- fmt.Errorf("put node %s: %w", n.ID, err):
					default:
					}
				}
			}
		}()
	}
	for _, n := range sites {
		work <- n
	}
	close(work)
	wg.Wait()
	select {
	case err := <-errs:
		return nil, err
	default:
	}
	return map[string]any{"nodes": len(nodes), "seconds": time.Since(t0).Seconds(), "revision": rep.Catalogue().Revision()}, nil
}

// centreStat is what the centre reports on "stat".
type centreStat struct {
	Linked     int    `json:"linked"`
	Events     uint64 `json:"events_stored"`
	LastPos    uint64 `json:"log_last"`
	IndexPos   uint64 `json:"plate_index_pos"`
	HeapInuse  uint64 `json:"heap_inuse"`
	GoSys      uint64 `json:"go_sys"`
	Goroutines int    `json:"goroutines"`
}

func centreStatOf(srv *federation.Server, log *event.Log, ix *plates.Index) centreStat {
	var st centreStat
	for _, c := range srv.Children() {
		st.Events += c.Events
		if c.Connected {
			st.Linked++
		}
	}
	st.LastPos = log.Last()
	st.IndexPos, _ = ix.Position()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	st.HeapInuse, st.GoSys, st.Goroutines = ms.HeapInuse, ms.Sys, runtime.NumGoroutine()
	return st
}

// heldBySite is how far the log holds each site's events (highest seq).
func heldBySite(log *event.Log) (map[string]uint64, error) {
	marks, err := log.Marks()
	if err != nil {
		return nil, err
	}
	out := map[string]uint64{}
	for _, m := range marks {
		if siteIndex(m.Origin) >= 0 {
			out[m.Origin] = max(out[m.Origin], m.Seq)
		}
	}
	return out, nil
}

// searchIndex opens the big index, times the searches and closes it.
func searchIndex(args []string) (any, error) {
	n, err := strconv.Atoi(args[0])
	if err != nil || n <= 0 {
		return nil, fmt.Errorf("search: bad count %q", args[0])
	}
	b, err := os.ReadFile(args[2])
	if err != nil {
		return nil, err
	}
	var m indexMeta
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	t0 := time.Now()
	ix, err := plates.Open(args[1])
	if err != nil {
		return nil, err
	}
	defer ix.Close()
	open := time.Since(t0)
	res, err := runSearches(ix, m, n)
	if err != nil {
		return nil, err
	}
	return searchReply{OpenS: open.Seconds(), Kinds: res}, nil
}

type searchReply struct {
	OpenS float64        `json:"open_s"`
	Kinds []searchResult `json:"kinds"`
}
