// Command federation benchmarks the federation link over real QUIC on
// loopback: fragment replay throughput against the bandwidth caps, the
// latency of grave alarms while the link is saturated, and the parent's
// CPU and memory per child link with many children. It prints figures,
// not verdicts. See bench/README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/kuzet/kuzet/bench/internal/procfs"
	"github.com/kuzet/kuzet/bench/internal/runctl"
	"github.com/kuzet/kuzet/pki"
)

type options struct {
	capMbps, totalMbps                    float64
	window, warmup, heartbeat, eventEvery time.Duration
	alarmEvery, timeout                   time.Duration
	links, files, fileMiB, backlog        int
	jsonPath, dir, parts                  string
	keep                                  bool
}

// settings is the run's configuration as reported.
type settings struct {
	PerChildCapBps float64 `json:"per_child_cap_bytes_per_s"`
	TotalCapBps    float64 `json:"total_cap_bytes_per_s"`
	Window         string  `json:"window"`
	Warmup         string  `json:"warmup"`
	Files          int     `json:"files"`
	FileBytes      int64   `json:"file_bytes"`
	Backlog        int     `json:"event_backlog"`
	AlarmEvery     string  `json:"alarm_every"`
	Links          int     `json:"links"`
	Heartbeat      string  `json:"heartbeat"`
	EventEvery     string  `json:"event_every"`
	Parts          string  `json:"parts"`
}

type report struct {
	StartedAt   time.Time       `json:"started_at"`
	Machine     procfs.Machine  `json:"machine"`
	Settings    settings        `json:"settings"`
	Replay      []*replayResult `json:"replay,omitempty"`
	Alarms      []*alarmRun     `json:"alarms,omitempty"`
	Scale       *scaleResult    `json:"scale,omitempty"`
	Errors      []string        `json:"errors,omitempty"`
	Notes       []string        `json:"notes,omitempty"`
	Interrupted string          `json:"interrupted,omitempty"`
}

// bench is one run's shared state.
type bench struct {
	o        options
	clk      float64
	root     string
	pki      *runCA
	regionID *pki.Identity
	srcDir   string
	segs     []segFile
	capBps   float64
	totalBps float64
	reg      *runctl.Procs

	idMu sync.Mutex
	ids  map[string]*pki.Identity
}

func (b *bench) identityFor(id string) (*pki.Identity, error) {
	b.idMu.Lock()
	defer b.idMu.Unlock()
	if ident, ok := b.ids[id]; ok {
		return ident, nil
	}
	ident, err := b.pki.identity(id)
	if err != nil {
		return nil, err
	}
	b.ids[id] = ident
	return ident, nil
}

func main() {
	os.Exit(run())
}

func run() int {
	var o options
	var role, pkiDir, stateDir string
	flag.Float64Var(&o.capMbps, "cap-mbps", 20, "per-child fragment cap, Mbit/s (10^6 bits)")
	flag.Float64Var(&o.totalMbps, "total-mbps", 0, "total fragment cap in the two-children run, Mbit/s (default 1.5 × -cap-mbps)")
	flag.DurationVar(&o.window, "window", 20*time.Second, "measurement window of each run")
	flag.DurationVar(&o.warmup, "warmup", time.Second, "settling time before each window (the scale run adds -event-every)")
	flag.IntVar(&o.links, "links", 500, "simulated children in the scale run (0: skip it)")
	flag.StringVar(&o.jsonPath, "json", "", "also write everything measured as JSON to this file")
	flag.IntVar(&o.files, "files", 20, "segment files each child serves (raised if the cap would drain them within a run)")
	flag.IntVar(&o.fileMiB, "file-mib", 4, "size of each segment file, MiB")
	flag.IntVar(&o.backlog, "backlog", 200000, "ordinary events replayed behind the alarms in the loaded alarm run (0: none)")
	flag.DurationVar(&o.alarmEvery, "alarm-every", 100*time.Millisecond, "period of the child's grave alarms")
	flag.DurationVar(&o.heartbeat, "heartbeat", time.Second, "children's heartbeat period")
	flag.DurationVar(&o.eventEvery, "event-every", 5*time.Second, "period of each simulated child's ordinary event in the scale run")
	flag.StringVar(&o.parts, "parts", "1,2,3", "which parts to run: 1 replay throughput, 2 alarm latency, 3 scale")
	flag.StringVar(&o.dir, "dir", "", "where temp dirs go (default $TMPDIR)")
	flag.BoolVar(&o.keep, "keep", false, "keep the temp dir")
	flag.DurationVar(&o.timeout, "timeout", 0, "hard limit for the whole run (default 4 × -window + 100s)")
	flag.StringVar(&role, "role", "", `internal: "parent" runs the scale run's parent process`)
	flag.StringVar(&pkiDir, "pki", "", "internal: the parent process's PKI dir")
	flag.StringVar(&stateDir, "state", "", "internal: the parent process's state dir")
	flag.Parse()

	// quic-go asks for 7 MB UDP buffers and warns when the kernel caps them
	// lower; the cap is reported with the machine instead.
	_ = os.Setenv("QUIC_GO_DISABLE_RECEIVE_BUFFER_WARNING", "true")
	if role == "parent" {
		return runParent(pkiDir, stateDir)
	}
	if role != "" {
		fmt.Fprintf(os.Stderr, "bench: unknown -role %q\n", role)
		return 2
	}
	want, err := runctl.Parts(o.parts, "1", "2", "3")
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 2
	}
	if o.window <= 0 || o.warmup < 0 || o.capMbps <= 0 || o.alarmEvery <= 0 || o.heartbeat <= 0 ||
		o.eventEvery <= 0 || o.files <= 0 || o.fileMiB <= 0 || o.links < 0 || o.backlog < 0 || o.totalMbps < 0 {
		fmt.Fprintln(os.Stderr, "bench: durations, caps and sizes must be positive")
		return 2
	}
	if o.totalMbps == 0 {
		o.totalMbps = 1.5 * o.capMbps
	}
	if o.timeout == 0 {
		o.timeout = 4*o.window + 100*time.Second
	}
	if o.links == 0 {
		delete(want, "3")
	}

	b := &bench{o: o, clk: procfs.ClockTicks(), reg: &runctl.Procs{}, ids: map[string]*pki.Identity{},
		capBps: o.capMbps * 1e6 / 8, totalBps: o.totalMbps * 1e6 / 8}
	rep := &report{StartedAt: time.Now().UTC(), Machine: procfs.DescribeMachine(b.clk)}

	root, err := os.MkdirTemp(o.dir, "kuzet-bench-federation-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	b.root = root
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
	// within 30 s it is cleaned up and ended from there
	run := runctl.Start(o.timeout, 30*time.Second, fmt.Sprintf("deadline of %v", o.timeout), cleanup)
	defer run.End()
	ctx := run.Ctx

	// enough file data that no child runs out within warm-up + window
	fileBytes := int64(o.fileMiB) << 20
	needed := int64(b.capBps * (o.window + o.warmup + 5*time.Second).Seconds() * 1.1)
	if n := int((needed + fileBytes - 1) / fileBytes); n > o.files && (want["1"] || want["2"]) {
		rep.Notes = append(rep.Notes, fmt.Sprintf("-files raised from %d to %d so the backlog outlasts the window at the cap", o.files, n))
		b.o.files = n
	}
	rep.Settings = settings{PerChildCapBps: b.capBps, TotalCapBps: b.totalBps, Window: o.window.String(),
		Warmup: o.warmup.String(), Files: b.o.files, FileBytes: fileBytes, Backlog: o.backlog,
		AlarmEvery: o.alarmEvery.String(), Links: o.links, Heartbeat: o.heartbeat.String(),
		EventEvery: o.eventEvery.String(), Parts: o.parts}
	printHeader(rep)

	fail := func(part string, err error) {
		if errors.Is(err, context.Canceled) && ctx.Err() != nil {
			return
		}
		msg := fmt.Sprintf("%s: %v", part, err)
		rep.Errors = append(rep.Errors, msg)
		fmt.Printf("\n%s FAILED: %v\n", part, err)
	}
	if b.pki, err = newPKI(filepath.Join(root, "pki")); err == nil {
		b.regionID, err = b.identityFor("region")
	}
	if err != nil {
		fail("setup", err)
	}
	if err == nil && (want["1"] || want["2"]) {
		b.srcDir = filepath.Join(root, "child-archive")
		if b.segs, err = makeSegments(ctx, b.srcDir, b.o.files, fileBytes); err != nil {
			fail("setup", err)
			delete(want, "1")
			delete(want, "2")
		}
	}
	if err != nil {
		want = map[string]bool{}
	}

	var base, loaded *alarmRun
	if want["2"] && ctx.Err() == nil {
		fmt.Printf("\n… part 2 baseline: %v of alarms, no bulk traffic\n", o.window)
		if base, err = b.runBaseline(ctx); err != nil {
			fail("part 2 baseline", err)
		} else {
			rep.Alarms = append(rep.Alarms, base)
		}
	}
	if (want["1"] || want["2"]) && ctx.Err() == nil {
		fmt.Printf("… one child replaying at the cap for %v%s\n", o.window, map[bool]string{true: ", with alarms and an event backlog"}[want["2"]])
		res, run, err := b.runLoaded(ctx, want["2"])
		if err != nil {
			fail("one-child run", err)
		} else {
			if want["1"] {
				rep.Replay = append(rep.Replay, res)
			}
			if run != nil {
				loaded = run
				rep.Alarms = append(rep.Alarms, run)
			}
		}
	}
	if want["1"] && ctx.Err() == nil {
		fmt.Printf("… two children under a total cap for %v\n", o.window)
		if res, err := b.runDual(ctx); err != nil {
			fail("two-children run", err)
		} else {
			rep.Replay = append(rep.Replay, res)
		}
	}
	if len(rep.Replay) > 0 {
		printReplay(rep.Replay)
	}
	if len(rep.Alarms) > 0 {
		printAlarms(o, base, loaded)
	}
	if want["3"] && ctx.Err() == nil {
		fmt.Printf("\n… part 3: %d simulated children (setup, warm-up %v, window %v)\n", o.links, o.eventEvery+o.warmup, o.window)
		if res, err := b.runScale(ctx); err != nil {
			fail("part 3", err)
		} else {
			rep.Scale = res
			printScale(res, b.clk)
		}
	}

	rep.Machine.LoadEnd = procfs.LoadAvg()
	rep.Interrupted = run.Why()
	fmt.Printf("\nload average at the end: %s\n", rep.Machine.LoadEnd)
	for _, n := range rep.Notes {
		fmt.Println("note:", n)
	}
	return run.Finish(o.jsonPath, rep, len(rep.Errors) > 0)
}
