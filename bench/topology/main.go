// Command topology benchmarks the catalogue on a cluster of replica
// processes on loopback (mutual TLS, bbolt logs fsynced on every replica):
// write latency through the HTTP API, via the leader and via a follower
// (forwarded), and leader failover: the time from SIGKILL of the leader
// until a write is acknowledged by its successor, over several kills,
// checking that no acknowledged write was lost. It prints figures, not
// verdicts.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/kuzet/kuzet/topology"
	"github.com/kuzet/kuzet/topology/topologytest"
)

type options struct {
	replicas, writes, kills int
	dir, jsonPath           string
	keep                    bool
	timing                  topologytest.Timing
}

// Summary is a distribution of durations, in milliseconds.
type Summary struct {
	N      int     `json:"n"`
	Min    float64 `json:"min_ms"`
	P50    float64 `json:"p50_ms"`
	P99    float64 `json:"p99_ms"`
	Max    float64 `json:"max_ms"`
	Mean   float64 `json:"mean_ms"`
	Values []int64 `json:"-"`
}

type report struct {
	StartedAt      time.Time `json:"started_at"`
	Replicas       int       `json:"replicas"`
	Timing         string    `json:"timing"`
	LoadBefore     string    `json:"loadavg_before"`
	LoadAfter      string    `json:"loadavg_after"`
	WriteLeader    Summary   `json:"write_via_leader"`
	WriteFollower  Summary   `json:"write_via_follower"`
	Failover       Summary   `json:"failover"`
	FailoverEachMs []float64 `json:"failover_each_ms"`
	Acknowledged   int       `json:"acknowledged_writes"`
	Lost           int       `json:"lost_writes"`
	Errors         []string  `json:"errors,omitempty"`
}

func main() {
	topologytest.MaybeRunReplica()
	var o options
	flag.IntVar(&o.replicas, "replicas", 3, "replicas (1, 3 or 5)")
	flag.IntVar(&o.writes, "writes", 300, "writes timed per path")
	flag.IntVar(&o.kills, "kills", 10, "leader kills")
	flag.StringVar(&o.dir, "dir", "", "working directory (default: a temporary one)")
	flag.BoolVar(&o.keep, "keep", false, "keep the working directory (replica logs)")
	flag.StringVar(&o.jsonPath, "json", "", "also write the report as JSON here")
	flag.DurationVar(&o.timing.HeartbeatTimeout, "heartbeat-timeout", 0, "override the replicas' heartbeat timeout")
	flag.DurationVar(&o.timing.ElectionTimeout, "election-timeout", 0, "override the election timeout")
	flag.DurationVar(&o.timing.LeaderLeaseTimeout, "leader-lease-timeout", 0, "override the leader lease timeout")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "bench topology:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	dir := o.dir
	if dir == "" {
		d, err := os.MkdirTemp("", "kuzet-bench-topology-")
		if err != nil {
			return err
		}
		dir = d
		if !o.keep {
			defer os.RemoveAll(dir)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	rep := report{StartedAt: time.Now().UTC(), Replicas: o.replicas, LoadBefore: loadavg(), Timing: timingText(o.timing)}
	c, err := topologytest.Start(ctx, topologytest.Options{N: o.replicas, Dir: dir, Timing: o.timing})
	if err != nil {
		return err
	}
	defer c.Close()
	fmt.Printf("catalogue bench: %d replica processes on loopback (mutual TLS), %s\n", o.replicas, rep.Timing)
	fmt.Printf("  load average before: %s\n", rep.LoadBefore)

	w := &writer{}
	for _, n := range []topology.Node{{ID: "centre", Role: "centre"}, {ID: "khorgos-1", Role: "site", Parent: "centre"}} {
		if err := topologytest.Retry(ctx, func(ctx context.Context) error {
			_, err := c.Replicas[0].Client.PutNode(ctx, n)
			return err
		}); err != nil {
			return err
		}
	}

	// write latency, sequential, one path at a time
	leader, err := c.Leader(ctx)
	if err != nil {
		return err
	}
	var follower *topologytest.Proc
	for _, p := range c.Replicas {
		if p != leader {
			follower = p
			break
		}
	}
	for _, path := range []struct {
		name string
		p    *topologytest.Proc
		out  *Summary
	}{{"leader", leader, &rep.WriteLeader}, {"follower", follower, &rep.WriteFollower}} {
		if path.p == nil {
			continue
		}
		var ds []time.Duration
		for range o.writes {
			start := time.Now()
			if err := w.put(ctx, path.p); err != nil {
				rep.Errors = append(rep.Errors, fmt.Sprintf("write via %s: %v", path.name, err))
				continue
			}
			ds = append(ds, time.Since(start))
		}
		*path.out = summarize(ds)
	}
	fmt.Printf("write latency, HTTP API to acknowledgement (committed by a quorum, fsynced), %d sequential writes per path:\n", o.writes)
	fmt.Printf("  via leader    %s\n", rep.WriteLeader)
	if follower != nil {
		fmt.Printf("  via follower  %s   (forwarded to the leader over TLS)\n", rep.WriteFollower)
	}

	if o.replicas >= 3 && o.kills > 0 {
		var took []time.Duration
		for i := range o.kills {
			d, err := failover(ctx, c, w)
			if err != nil {
				return fmt.Errorf("kill %d: %w", i+1, err)
			}
			took = append(took, d)
			rep.FailoverEachMs = append(rep.FailoverEachMs, ms(d))
		}
		rep.Failover = summarize(took)
		fmt.Printf("failover, SIGKILL of the leader until a write is acknowledged by the new leader, %d kills:\n", o.kills)
		fmt.Printf("  min %.0f ms  median %.0f ms  max %.0f ms   each: %s\n", rep.Failover.Min, rep.Failover.P50, rep.Failover.Max, msList(rep.FailoverEachMs))
	}

	// every acknowledged write, on every replica
	rep.Acknowledged = len(w.acked)
	lost := map[string]bool{}
	for _, p := range c.Live() {
		var ct topology.Contents
		if err := topologytest.Retry(ctx, func(ctx context.Context) error {
			var err error
			ct, err = p.Client.Catalogue(ctx, true)
			return err
		}); err != nil {
			return fmt.Errorf("read %s: %w", p.ID, err)
		}
		have := map[string]bool{}
		for _, cam := range ct.Cameras {
			have[cam.ID] = true
		}
		for _, id := range w.acked {
			if !have[id] {
				lost[p.ID+"/"+id] = true
			}
		}
	}
	rep.Lost = len(lost)
	fmt.Printf("acknowledged writes: %d, lost on any replica: %d\n", rep.Acknowledged, rep.Lost)
	rep.LoadAfter = loadavg()
	fmt.Printf("  load average after: %s\n", rep.LoadAfter)
	for _, e := range rep.Errors {
		fmt.Println("  error:", e)
	}
	if o.keep {
		fmt.Println("  working directory (replica logs):", dir)
	}
	if o.jsonPath != "" {
		b, _ := json.MarshalIndent(rep, "", "  ")
		if err := os.WriteFile(o.jsonPath, append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	if rep.Lost > 0 {
		return errors.New("acknowledged writes were lost")
	}
	return nil
}

// failover kills the leader and times the first acknowledged write after
// it; then it brings the replica back and waits for the cluster to heal.
func failover(ctx context.Context, c *topologytest.Cluster, w *writer) (time.Duration, error) {
	if err := c.WaitHealthy(ctx); err != nil {
		return 0, err
	}
	leader, err := c.Leader(ctx)
	if err != nil {
		return 0, err
	}
	if err := leader.Kill(); err != nil {
		return 0, err
	}
	killed := time.Now()
	survivors := c.Live()
	var took time.Duration
	for i := 0; ; i++ {
		if err := w.put(ctx, survivors[i%len(survivors)]); err == nil {
			took = time.Since(killed)
			break
		}
		if ctx.Err() != nil {
			return 0, fmt.Errorf("no write acknowledged after killing %s", leader.ID)
		}
	}
	if err := leader.Restart(ctx); err != nil {
		return 0, err
	}
	return took, nil
}

// writer puts cameras with fresh IDs and remembers the acknowledged ones.
type writer struct {
	n     int
	acked []string
}

func (w *writer) put(ctx context.Context, p *topologytest.Proc) error {
	w.n++
	id := fmt.Sprintf("cam-%d", w.n)
	_, err := p.Client.PutCamera(ctx, topology.Camera{ID: id, Site: "khorgos-1", URL: "rtsp://10.0.0.5/" + id})
	if err == nil {
		w.acked = append(w.acked, id)
	}
	return err
}

func summarize(ds []time.Duration) Summary {
	if len(ds) == 0 {
		return Summary{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	var sum time.Duration
	for _, d := range s {
		sum += d
	}
	at := func(q float64) float64 {
		i := int(q*float64(len(s)-1) + 0.5)
		return ms(s[i])
	}
	return Summary{N: len(s), Min: ms(s[0]), P50: at(0.5), P99: at(0.99), Max: ms(s[len(s)-1]), Mean: ms(sum / time.Duration(len(s)))}
}

func (s Summary) String() string {
	return fmt.Sprintf("p50 %.1f ms  p99 %.1f ms  (min %.1f, mean %.1f, max %.1f; n=%d)", s.P50, s.P99, s.Min, s.Mean, s.Max, s.N)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func msList(v []float64) string {
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = fmt.Sprintf("%.0f", x)
	}
	return strings.Join(parts, " ")
}

func timingText(t topologytest.Timing) string {
	or := func(d, def time.Duration) time.Duration {
		if d == 0 {
			return def
		}
		return d
	}
	return fmt.Sprintf("heartbeat timeout %v, election timeout %v, leader lease %v",
		or(t.HeartbeatTimeout, topology.DefaultHeartbeatTimeout), or(t.ElectionTimeout, topology.DefaultElectionTimeout),
		or(t.LeaderLeaseTimeout, topology.DefaultLeaderLeaseTimeout))
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ") + fmt.Sprintf(" (%d CPUs)", runtime.NumCPU())
}
