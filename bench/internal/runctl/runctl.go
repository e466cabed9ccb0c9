// Package runctl bounds a benchmark run: SIGINT, SIGTERM, SIGHUP and a
// deadline cancel its context, and a run that does not wind down within
// a grace period is cleaned up and ended from here.
package runctl

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// Run is one bounded run.
type Run struct {
	Ctx    context.Context
	cancel context.CancelFunc
	why    atomic.Value
	grace  time.Duration
	clean  func()
	sigc   chan os.Signal
	timer  *time.Timer
	start  time.Time
	limit  time.Duration
}

// Start watches the signals and the deadline (timeout, named by
// deadlineWhy when it fires); cleanup runs if the run has not wound down
// grace after it was told to stop, and then the process exits.
func Start(timeout, grace time.Duration, deadlineWhy string, cleanup func()) *Run {
	r := &Run{grace: grace, clean: cleanup, sigc: make(chan os.Signal, 1), start: time.Now(), limit: timeout}
	r.Ctx, r.cancel = context.WithCancel(context.Background())
	signal.Notify(r.sigc, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		if s, ok := <-r.sigc; ok {
			r.Stop("signal "+s.String(), 130)
		}
	}()
	r.timer = time.AfterFunc(timeout, func() { r.Stop(deadlineWhy, 3) })
	return r
}

// Extend moves the deadline d later (a first run that builds what later
// runs reuse gets its own allowance).
func (r *Run) Extend(d time.Duration) {
	r.limit += d
	r.timer.Reset(r.limit - time.Since(r.start))
}

// Stop cancels the run once, saying why; exit is the code used if it
// does not wind down within the grace period.
func (r *Run) Stop(reason string, exit int) {
	if r.why.CompareAndSwap(nil, reason) {
		fmt.Fprintf(os.Stderr, "bench: %s: stopping\n", reason)
		r.cancel()
		time.AfterFunc(r.grace, func() {
			fmt.Fprintf(os.Stderr, "bench: did not wind down within %v; cleaning up and exiting\n", r.grace)
			r.clean()
			os.Exit(exit)
		})
	}
}

// Why is the reason the run was stopped ("" while it runs).
func (r *Run) Why() string {
	if v, ok := r.why.Load().(string); ok {
		return v
	}
	return ""
}

// End releases the signal watch and the deadline.
func (r *Run) End() {
	r.timer.Stop()
	signal.Stop(r.sigc)
	close(r.sigc)
	r.cancel()
}

// Finish writes the report as JSON to path (when set) and returns the
// exit code: 3 for a run stopped by its deadline, 130 for one stopped by
// a signal, 1 when it failed, else 0.
func (r *Run) Finish(path string, report any, failed bool) int {
	if path != "" {
		if buf, err := json.MarshalIndent(report, "", "  "); err != nil {
			fmt.Fprintln(os.Stderr, "bench: json:", err)
		} else if err := os.WriteFile(path, append(buf, '\n'), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "bench: json:", err)
		}
	}
	switch why := r.Why(); {
	case strings.HasPrefix(why, "deadline"):
		return 3
	case why != "":
		return 130
	case failed:
		return 1
	}
	return 0
}

// Parts reads a comma-separated -parts list against the parts a benchmark
// has; an unknown one is an error naming it.
func Parts(list string, known ...string) (map[string]bool, error) {
	want := map[string]bool{}
	for _, p := range strings.Split(list, ",") {
		switch p = strings.TrimSpace(p); {
		case p == "":
		case slices.Contains(known, p):
			want[p] = true
		default:
			return nil, fmt.Errorf("-parts: unknown part %q (known: %s)", p, strings.Join(known, ", "))
		}
	}
	return want, nil
}
