// Command record benchmarks recording: for each camera count N it records N
// looping RTSP streams from a `kuzet testcam` with `kuzet run`, then with N
// ffmpeg processes (the way Frigate records), and prints CPU, memory, bytes
// written and frame accounting side by side. See bench/README.md.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/kuzet/kuzet/bench/internal/procfs"
)

type options struct {
	kuzet, ffmpeg, ffprobe string
	ns                     []int
	window, warmup         time.Duration
	jsonPath               string
	keep, noBaseline       bool
	dir                    string
	clk                    float64
}

// result is everything measured for one N.
type result struct {
	N         int           `json:"n"`
	Kuzet     *kuzetResult  `json:"kuzet,omitempty"`
	KuzetErr  string        `json:"kuzet_error,omitempty"`
	FFmpeg    *ffmpegResult `json:"ffmpeg,omitempty"`
	FFmpegErr string        `json:"ffmpeg_error,omitempty"`
}

type report struct {
	Machine     machine   `json:"machine"`
	Window      string    `json:"window"`
	Warmup      string    `json:"warmup"`
	LoadAvgEnd  string    `json:"loadavg_end"`
	StartedAt   time.Time `json:"started_at"`
	Results     []result  `json:"results"`
	Interrupted bool      `json:"interrupted,omitempty"`
}

func main() {
	os.Exit(run())
}

func run() int {
	var o options
	var ns, timeout string
	flag.StringVar(&o.kuzet, "kuzet", "bin/kuzet", "kuzet binary (also serves the test cameras)")
	flag.StringVar(&ns, "n", "1,10,50,100", "comma-separated camera counts")
	flag.DurationVar(&o.window, "window", 30*time.Second, "measurement window per recorder and N")
	flag.DurationVar(&o.warmup, "warmup", 3*time.Second, "settling time before each window")
	flag.StringVar(&o.jsonPath, "json", "", "also write the results as JSON to this file")
	flag.BoolVar(&o.keep, "keep", false, "keep temp dirs (configs, logs, recordings)")
	flag.BoolVar(&o.noBaseline, "no-baseline", false, "skip the ffmpeg baseline")
	flag.StringVar(&o.ffmpeg, "ffmpeg", "ffmpeg", "ffmpeg binary for the baseline")
	flag.StringVar(&o.ffprobe, "ffprobe", "ffprobe", "ffprobe binary for counting recorded frames")
	flag.StringVar(&o.dir, "dir", "", "where temp dirs go (default $TMPDIR); put it on the disk you care about")
	flag.StringVar(&timeout, "timeout", "", "hard limit for the whole run (default: derived from -n and -window)")
	flag.Parse()

	var err error
	if o.ns, err = parseNs(ns); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 2
	}
	if o.window <= 0 || o.warmup < 0 {
		fmt.Fprintln(os.Stderr, "bench: -window must be positive, -warmup not negative")
		return 2
	}
	if o.kuzet, err = filepath.Abs(o.kuzet); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 2
	}
	for _, bin := range []*string{&o.ffmpeg, &o.ffprobe} {
		if *bin, err = exec.LookPath(*bin); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			return 2
		}
	}
	if _, err := os.Stat(o.kuzet); err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v (run make build)\n", err)
		return 2
	}
	limit := defaultTimeout(o)
	if timeout != "" {
		if limit, err = time.ParseDuration(timeout); err != nil {
			fmt.Fprintln(os.Stderr, "bench: -timeout:", err)
			return 2
		}
	}

	r := newReaper(o.keep)
	// Every way out tears the children down: normal return and panic via
	// the defer, signals and the overall deadline via os.Exit after cleanup.
	defer r.cleanup()
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	// `go run` dies on SIGTERM without passing it on; ask the kernel to
	// send us SIGTERM when our parent goes, so the children go with us.
	_, _, _ = syscall.RawSyscall(syscall.SYS_PRCTL, syscall.PR_SET_PDEATHSIG, uintptr(syscall.SIGTERM), 0)
	if os.Getppid() == 1 {
		fmt.Fprintln(os.Stderr, "bench: parent already gone")
		return 1
	}
	go func() {
		s := <-sigs
		fmt.Fprintf(os.Stderr, "\nbench: %v: stopping children\n", s)
		r.cleanup()
		os.Exit(130)
	}()
	time.AfterFunc(limit, func() {
		fmt.Fprintf(os.Stderr, "bench: overall timeout %s: stopping children\n", limit)
		r.cleanup()
		os.Exit(3)
	})
	ctx := context.Background()

	o.clk = procfs.ClockTicks()
	rep := report{
		Machine:   describeMachine(o.kuzet, o.ffmpeg, o.clk),
		Window:    o.window.String(),
		Warmup:    o.warmup.String(),
		StartedAt: time.Now().UTC(),
	}
	printMachine(os.Stdout, rep)

	failed := false
	for _, n := range o.ns {
		res := result{N: n}
		fmt.Fprintf(os.Stderr, "bench: N=%d kuzet...\n", n)
		if k, err := benchKuzet(ctx, r, o, n); err != nil {
			res.KuzetErr = err.Error()
			failed = true
			fmt.Fprintf(os.Stderr, "bench: N=%d kuzet: %v\n", n, err)
		} else {
			res.Kuzet = k
		}
		if !o.noBaseline {
			fmt.Fprintf(os.Stderr, "bench: N=%d ffmpeg...\n", n)
			if f, err := benchFFmpeg(ctx, r, o, n); err != nil {
				res.FFmpegErr = err.Error()
				failed = true
				fmt.Fprintf(os.Stderr, "bench: N=%d ffmpeg: %v\n", n, err)
			} else {
				res.FFmpeg = f
			}
		}
		rep.Results = append(rep.Results, res)
	}
	rep.LoadAvgEnd = procfs.LoadAvg()

	printTables(os.Stdout, rep)
	if o.jsonPath != "" {
		b, err := json.MarshalIndent(rep, "", "  ")
		if err == nil {
			err = os.WriteFile(o.jsonPath, append(b, '\n'), 0o644)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench: write JSON:", err)
			failed = true
		}
	}
	if failed {
		return 1
	}
	return 0
}

func parseNs(s string) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("-n: bad camera count %q", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// defaultTimeout allows each N two windows plus generous start, stop and
// counting time that grows with N.
func defaultTimeout(o options) time.Duration {
	var t time.Duration
	for _, n := range o.ns {
		t += 2*(o.window+o.warmup+time.Second) + 3*time.Minute + time.Duration(n)*2*time.Second
	}
	return t
}
