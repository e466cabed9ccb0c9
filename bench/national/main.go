// Command national measures a national-scale hierarchy on one machine: a
// centre (three catalogue replicas), regions and simulated sites, each
// site a real event log and QUIC link at the camera event rates of the
// issue. It reports the centre's CPU and memory per site, site-to-centre
// event latency, how fast a region catches up after an uplink outage,
// and plate search times over a large index. It prints figures beside
// the goals, not verdicts. See bench/README.md.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/kuzet/kuzet/bench/internal/procfs"
	"github.com/kuzet/kuzet/bench/internal/runctl"
)

type options struct {
	sites, regions, reads, searches int
	window, warmup, outage          time.Duration
	heartbeat, timeout              time.Duration
	jsonPath, dir, cacheDir, parts  string
	keep                            bool
}

func main() { os.Exit(run()) }

func run() int {
	var o options
	var role, pkiDir, stateDir, id, upstream string
	flag.IntVar(&o.sites, "sites", 1000, "simulated sites")
	flag.IntVar(&o.regions, "regions", 3, "regions the sites are spread over")
	flag.DurationVar(&o.window, "window", 60*time.Second, "measurement window of the live run (CPU, memory, latency)")
	flag.DurationVar(&o.warmup, "warmup", 10*time.Second, "live load before the window")
	flag.DurationVar(&o.outage, "outage", time.Hour, "simulated outage of one region's uplink: its sites store this much of events meanwhile")
	flag.IntVar(&o.reads, "reads", 10_000_000, "plate reads in the search index (built once, cached)")
	flag.IntVar(&o.searches, "searches", 1000, "searches timed per kind")
	flag.DurationVar(&o.heartbeat, "heartbeat", time.Second, "link heartbeat (the product's default)")
	flag.StringVar(&o.parts, "parts", "live,search,catchup", "which parts to run")
	flag.StringVar(&o.jsonPath, "json", "", "also write everything measured as JSON to this file")
	flag.StringVar(&o.dir, "dir", "", "where the temp dir goes (default $TMPDIR)")
	flag.StringVar(&o.cacheDir, "cache", "", "where the plate index is cached (default .cache/bench-national in the module root)")
	flag.BoolVar(&o.keep, "keep", false, "keep the temp dir (role logs, event logs)")
	flag.DurationVar(&o.timeout, "timeout", 0, "hard limit for the whole run (default 30m + 3 × window; building the index adds 2h)")
	flag.StringVar(&role, "role", "", "internal: centre | replica | region")
	flag.StringVar(&pkiDir, "pki", "", "internal: PKI dir of a role process")
	flag.StringVar(&stateDir, "state", "", "internal: state dir of a role process")
	flag.StringVar(&id, "id", "", "internal: node ID of a replica or region process")
	flag.StringVar(&upstream, "upstream", "", "internal: a region's centre address")
	flag.Parse()

	// quic-go asks for 7 MB UDP buffers and warns when the kernel caps them
	// lower; the cap is reported with the machine instead.
	_ = os.Setenv("QUIC_GO_DISABLE_RECEIVE_BUFFER_WARNING", "true")
	switch role {
	case "":
	case "centre":
		return runCentre(pkiDir, stateDir)
	case "replica":
		return runReplica(pkiDir, stateDir, id)
	case "region":
		return runRegion(pkiDir, stateDir, id, upstream, o.heartbeat)
	default:
		fmt.Fprintf(os.Stderr, "bench: unknown -role %q\n", role)
		return 2
	}
	want, err := runctl.Parts(o.parts, "live", "search", "catchup")
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 2
	}
	if o.sites < o.regions || o.regions < 1 || o.window <= 0 || o.warmup < 0 || o.outage <= 0 || o.reads <= 0 ||
		o.searches <= 0 || o.heartbeat <= 0 {
		fmt.Fprintln(os.Stderr, "bench: counts and durations must be positive, and -sites at least -regions")
		return 2
	}
	if o.timeout == 0 {
		o.timeout = 30*time.Minute + 3*o.window
	}
	if o.cacheDir == "" {
		o.cacheDir = filepath.Join(moduleRoot(), ".cache", "bench-national")
	}

	clk := procfs.ClockTicks()
	rep := &report{StartedAt: time.Now().UTC(), Machine: procfs.DescribeMachine(clk), Settings: settingsOf(o)}
	root, err := os.MkdirTemp(o.dir, "kuzet-bench-national-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	b := &bench{o: o, clk: clk, root: root, reg: &runctl.Procs{}, rep: rep}
	var cleanOnce sync.Once
	cleanup := func() {
		cleanOnce.Do(func() {
			b.reg.KillAll()
			if o.keep {
				fmt.Fprintln(os.Stderr, "bench: kept", root)
				return
			}
			_ = os.RemoveAll(root)
		})
	}
	defer cleanup()

	// signals and the deadline cancel the run; if it does not wind down
	// within 60 s it is cleaned up and ended from there
	run := runctl.Start(o.timeout, 60*time.Second, "deadline of the run (-timeout)", cleanup)
	defer run.End()
	ctx := run.Ctx
	// a first run builds the index (tens of minutes for 10 M reads on a
	// small machine): that gets its own allowance
	b.extend = run.Extend

	printHeader(rep)
	if err := b.runAll(ctx, want); err != nil && ctx.Err() == nil {
		rep.Errors = append(rep.Errors, err.Error())
		fmt.Printf("\nFAILED: %v\n", err)
	}
	b.teardown()
	printResults(rep, clk)

	rep.Machine.LoadEnd = procfs.LoadAvg()
	rep.Interrupted = run.Why()
	fmt.Printf("\nload average at the end: %s\n", rep.Machine.LoadEnd)
	for _, n := range rep.Notes {
		fmt.Println("note:", n)
	}
	return run.Finish(o.jsonPath, rep, len(rep.Errors) > 0)
}

// moduleRoot is the directory of go.mod above the working directory
// (the working directory itself if there is none).
func moduleRoot() string {
	wd, err := os.Getwd()
	if err != nil {
		return "."
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			return wd
		}
	}
}
