package main

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kuzet/kuzet/event"
)

// childRate is one child's fragment throughput over the window.
type childRate struct {
	ID        string    `json:"child"`
	Bytes     int64     `json:"bytes"`
	Bps       float64   `json:"bytes_per_s"`
	OfCap     float64   `json:"of_per_child_cap"`
	MinBps    float64   `json:"min_1s_bytes_per_s"`
	MaxBps    float64   `json:"max_1s_bytes_per_s"`
	FilesDone int       `json:"files_finished_in_window"`
	PerSecond []float64 `json:"per_second_bytes_per_s"`
}

// replayResult is part 1: fragment replay against the caps.
type replayResult struct {
	Run       string      `json:"run"`
	PerChild  float64     `json:"per_child_cap_bytes_per_s"`
	Total     float64     `json:"total_cap_bytes_per_s,omitempty"`
	WindowS   float64     `json:"window_s"`
	Children  []childRate `json:"children"`
	SumBps    float64     `json:"sum_bytes_per_s"`
	OfCap     float64     `json:"sum_of_binding_cap"` // sum / min(total, per-child × n)
	Exhausted bool        `json:"backlog_exhausted,omitempty"`
}

// backlogResult is the event backlog replayed during the loaded alarm run.
type backlogResult struct {
	Events    int     `json:"events"`
	IngestS   float64 `json:"ingest_on_child_s"`
	DrainedS  float64 `json:"drained_at_parent_after_s"` // from the start of the ingest; -1: not within the run
	Delivered uint64  `json:"delivered_at_window_end"`
	Alarms    latency `json:"alarms_raised_while_draining"`
}

// sampleRates measures the growth of what the parent holds of each kid's
// files, once a second over window.
func sampleRates(ctx context.Context, r *rig, window time.Duration) ([]childRate, error) {
	n := len(r.kids)
	prevB, prevT := make([]int64, n), time.Now()
	firstB, firstDone := make([]int64, n), make([]int, n)
	for i, k := range r.kids {
		b, d, err := r.received(k.id)
		if err != nil {
			return nil, err
		}
		prevB[i], firstB[i], firstDone[i] = b, b, d
	}
	start := prevT
	out := make([]childRate, n)
	for i, k := range r.kids {
		out[i].ID = k.id
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for time.Since(start) < window-time.Millisecond {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-tick.C:
		}
		now := time.Now()
		for i, k := range r.kids {
			b, d, err := r.received(k.id)
			if err != nil {
				return nil, err
			}
			out[i].PerSecond = append(out[i].PerSecond, float64(b-prevB[i])/now.Sub(prevT).Seconds())
			prevB[i] = b
			out[i].Bytes, out[i].FilesDone = b-firstB[i], d-firstDone[i]
		}
		prevT = now
	}
	el := prevT.Sub(start).Seconds()
	for i := range out {
		out[i].Bps = float64(out[i].Bytes) / el
		if len(out[i].PerSecond) > 0 {
			out[i].MinBps, out[i].MaxBps = slices.Min(out[i].PerSecond), slices.Max(out[i].PerSecond)
		}
	}
	return out, nil
}

// waitTransfer waits until the parent receives bytes from every kid.
func waitTransfer(ctx context.Context, r *rig) error {
	return waitFor(ctx, 20*time.Second, "the fragment transfer to start", func() bool {
		for _, k := range r.kids {
			if b, _, _ := r.received(k.id); b == 0 {
				return false
			}
		}
		return true
	})
}

func (b *bench) finishReplay(res *replayResult, r *rig, rates []childRate, window time.Duration) {
	res.Children, res.WindowS = rates, window.Seconds()
	binding := res.PerChild * float64(len(rates))
	if res.Total > 0 && res.Total < binding {
		binding = res.Total
	}
	for i := range res.Children {
		res.Children[i].OfCap = res.Children[i].Bps / res.PerChild
		res.SumBps += res.Children[i].Bps
	}
	res.OfCap = res.SumBps / binding
	for _, k := range r.kids {
		if n, _, err := r.queue.Len(k.id); err == nil && n == 0 {
			res.Exhausted = true
		}
	}
}

// runDual is part 1b: two children, each under the per-child cap, both
// under a total cap below the sum of theirs.
func (b *bench) runDual(ctx context.Context) (*replayResult, error) {
	r, err := b.newRig(ctx, "dual", rigConfig{perChild: b.capBps, total: b.totalBps, heartbeat: b.o.heartbeat,
		kids: []string{"site-a", "site-b"}, srcDir: b.srcDir})
	if err != nil {
		return nil, err
	}
	defer r.close()
	if err := r.queueAll(b.segs); err != nil {
		return nil, err
	}
	if err := waitTransfer(ctx, r); err != nil {
		return nil, err
	}
	if err := sleepCtx(ctx, b.o.warmup); err != nil {
		return nil, err
	}
	rates, err := sampleRates(ctx, r, b.o.window)
	if err != nil {
		return nil, err
	}
	res := &replayResult{Run: "two children", PerChild: b.capBps, Total: b.totalBps}
	b.finishReplay(res, r, rates, b.o.window)
	return res, nil
}

// alarmRun is part 2 for one load.
type alarmRun struct {
	Load    string  `json:"load"`
	Latency latency `json:"latency"`
	// Control is the round trip of a camera control request from the
	// parent to the child and back, one every controlEvery.
	Control latency        `json:"control_rtt"`
	Backlog *backlogResult `json:"event_backlog,omitempty"`
	// KeptAhead counts the alarms whose copy from the alarm stream the
	// parent stored (StoreUrgent) because the events stream had not yet
	// delivered them: the alarm stream won the race to the store, whichever
	// announcement the probe saw first.
	KeptAhead int `json:"urgent_copies_kept"`
	raised    []raisedAlarm
	probe     *probe
}

// runBaseline is part 2 without bulk traffic: the same link, an empty
// fetch queue, no event backlog.
func (b *bench) runBaseline(ctx context.Context) (*alarmRun, error) {
	r, err := b.newRig(ctx, "baseline", rigConfig{perChild: b.capBps, heartbeat: b.o.heartbeat,
		kids: []string{"site"}, srcDir: b.srcDir})
	if err != nil {
		return nil, err
	}
	defer r.close()
	if err := sleepCtx(ctx, b.o.warmup); err != nil {
		return nil, err
	}
	p := newProbe(r.log, "site")
	defer p.close()
	cctx, stopControl := context.WithCancel(ctx)
	rtts := make(chan []time.Duration, 1)
	go func() { rtts <- pollControl(cctx, r.srv) }()
	raised, err := raiseAlarms(ctx, r.kids[0].log, b.o.alarmEvery, b.o.window)
	stopControl()
	control := summarise(<-rtts)
	if err != nil {
		return nil, err
	}
	p.wait(ctx, raised, 5*time.Second)
	return &alarmRun{Load: "none (baseline)", Latency: p.latency(raised, time.Time{}), KeptAhead: keptAhead(r.log, "site", raised),
		Control: control, raised: raised, probe: p}, nil
}

// runLoaded is part 1a and, with alarms, part 2 under load: one child
// replays its fragment backlog at the cap while (optionally) an event
// backlog replays and a grave alarm is raised every alarmEvery.
func (b *bench) runLoaded(ctx context.Context, alarms bool) (*replayResult, *alarmRun, error) {
	r, err := b.newRig(ctx, "loaded", rigConfig{perChild: b.capBps, heartbeat: b.o.heartbeat,
		kids: []string{"site"}, srcDir: b.srcDir})
	if err != nil {
		return nil, nil, err
	}
	defer r.close()
	if err := r.queueAll(b.segs); err != nil {
		return nil, nil, err
	}
	if err := waitTransfer(ctx, r); err != nil {
		return nil, nil, err
	}
	if err := sleepCtx(ctx, b.o.warmup); err != nil {
		return nil, nil, err
	}
	site := r.kids[0]
	var bl *backlogResult
	var drained atomic.Int64 // unix nanos, 0 until drained
	var pollWG sync.WaitGroup
	pollCtx, stopPoll := context.WithCancel(ctx)
	defer func() { stopPoll(); pollWG.Wait() }()
	var p *probe
	if alarms {
		p = newProbe(r.log, "site")
		defer p.close()
	}
	ingestStart := time.Now()
	if alarms && b.o.backlog > 0 {
		// a burst the site relays from below, still to be replayed upward
		bl = &backlogResult{Events: b.o.backlog}
		const chunk = 5000
		now := time.Now()
		for from := 0; from < b.o.backlog; from += chunk {
			n := min(chunk, b.o.backlog-from)
			bulk := make([]event.Event, n)
			for i := range bulk {
				bulk[i] = event.Event{Origin: "grandchild", Seq: uint64(from + i + 1), Kind: "bench.tick", Camera: "Camera1", Time: now}
			}
			if _, err := site.log.Ingest(bulk, "grandchild"); err != nil {
				return nil, nil, err
			}
		}
		bl.IngestS = time.Since(ingestStart).Seconds()
		want := uint64(b.o.backlog)
		pollWG.Add(1)
		go func() {
			defer pollWG.Done()
			for pollCtx.Err() == nil {
				if hw, _ := r.log.HighWater("grandchild"); hw >= want {
					drained.Store(time.Now().UnixNano())
					return
				}
				time.Sleep(20 * time.Millisecond)
			}
		}()
	}
	var rates []childRate
	var rateErr error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		rates, rateErr = sampleRates(ctx, r, b.o.window)
	}()
	var raised []raisedAlarm
	var run *alarmRun
	var control latency
	if alarms {
		cctx, stopControl := context.WithCancel(ctx)
		rtts := make(chan []time.Duration, 1)
		go func() { rtts <- pollControl(cctx, r.srv) }()
		raised, err = raiseAlarms(ctx, site.log, b.o.alarmEvery, b.o.window)
		stopControl()
		control = summarise(<-rtts)
		if err != nil {
			return nil, nil, err
		}
	}
	wg.Wait()
	var delivered uint64
	if bl != nil {
		delivered, _ = r.log.HighWater("grandchild")
	}
	if rateErr != nil {
		return nil, nil, rateErr
	}
	res := &replayResult{Run: "one child", PerChild: b.capBps}
	b.finishReplay(res, r, rates, b.o.window)
	if alarms {
		p.wait(ctx, raised, 5*time.Second)
		run = &alarmRun{Load: fmt.Sprintf("fragments at the cap (%.0f Mbit/s)", mbps(b.capBps)), Control: control, raised: raised, probe: p}
		if bl != nil {
			run.Load += fmt.Sprintf(" + %d-event backlog", bl.Events)
			bl.DrainedS = -1
			cutoff := time.Now() // not drained: every alarm was raised while it drained
			if d := drained.Load(); d != 0 {
				cutoff = time.Unix(0, d)
				bl.DrainedS = cutoff.Sub(ingestStart).Seconds()
			}
			bl.Delivered = delivered
			bl.Alarms = p.latency(raised, cutoff)
			run.Backlog = bl
		}
		run.Latency = p.latency(raised, time.Time{})
		run.KeptAhead = keptAhead(r.log, "site", raised)
	}
	return res, run, nil
}
