package main

import (
	"context"
	"fmt"
	"time"

	"github.com/kuzet/kuzet/bench/internal/procfs"
)

// liveResult is the live window: every site producing, every link up.
type liveResult struct {
	WindowS          float64      `json:"window_s"`
	Sites            int          `json:"sites"`
	AppendedPerS     float64      `json:"events_appended_per_s"`
	CentreStoredPerS float64      `json:"centre_events_stored_per_s"`
	CentreCPUPct     float64      `json:"centre_cpu_pct_of_one_core"`
	CentreCPUPerSite float64      `json:"centre_cpu_pct_per_site"`
	CentrePSSKiB     uint64       `json:"centre_pss_kib"`
	CentrePSSIdleKiB uint64       `json:"centre_pss_kib_no_sites"`
	PSSPerSiteKiB    float64      `json:"centre_pss_kib_per_site"`        // whole PSS / sites
	PSSGrowthKiB     float64      `json:"centre_pss_growth_kib_per_site"` // (end - no sites) / sites
	CentrePeakKiB    uint64       `json:"centre_peak_rss_kib"`
	CentreHeapKiB    float64      `json:"centre_go_heap_kib"`
	CentreGoroutines int          `json:"centre_goroutines"`
	IndexLag         uint64       `json:"centre_plate_index_lag_events"`
	RegionCPUPct     []float64    `json:"region_cpu_pct"`
	RegionPSSKiB     []uint64     `json:"region_pss_kib"`
	ReplicaCPUPct    []float64    `json:"replica_cpu_pct"`
	SitesCPUPct      float64      `json:"sites_process_cpu_pct"`
	Latency          latencyReply `json:"latency"`
	AppendedInWindow uint64       `json:"appended_in_window"`
	DrainS           float64      `json:"drain_s"` // after the window until the centre held it all
}

// procCPU samples the CPU ticks of a set of processes.
type procCPU struct {
	procs []*child
	ticks []uint64
	self  uint64
}

func sampleCPU(procs []*child) (procCPU, error) {
	s := procCPU{procs: procs, ticks: make([]uint64, len(procs))}
	for i, p := range procs {
		t, err := p.cpuTicks()
		if err != nil {
			return s, fmt.Errorf("%s: %w", p.name, err)
		}
		s.ticks[i] = t
	}
	s.self, _ = procfs.CPUTicks("self")
	return s, nil
}

// pct is each process's CPU, % of one core, from s0 to s1 over el seconds.
func pct(s0, s1 procCPU, clk, el float64) (each []float64, self float64) {
	for i := range s0.ticks {
		each = append(each, float64(s1.ticks[i]-s0.ticks[i])/clk/el*100)
	}
	return each, float64(s1.self-s0.self) / clk / el * 100
}

func (b *bench) runLive(ctx context.Context) error {
	if err := sleepCtx(ctx, b.o.warmup); err != nil {
		return err
	}
	if err := b.fleet.firstErr(); err != nil {
		return err
	}
	procs := append(append([]*child{b.centre}, b.regions...), b.replicas...)
	var st0, st1 centreStat
	if err := b.centre.call(10*time.Second, nil, "rec", "on"); err != nil {
		return err
	}
	if err := b.centre.call(10*time.Second, &st0, "stat"); err != nil {
		return err
	}
	c0, err := sampleCPU(procs)
	if err != nil {
		return err
	}
	sent0, w0 := b.fleet.sent.Load(), time.Now()
	if err := sleepCtx(ctx, b.o.window); err != nil {
		return err
	}
	c1, err := sampleCPU(procs)
	if err != nil {
		return err
	}
	sent1, w1 := b.fleet.sent.Load(), time.Now()
	el := w1.Sub(w0).Seconds()
	r := &liveResult{WindowS: el, Sites: b.o.sites, AppendedInWindow: sent1 - sent0}
	b.rep.Live = r
	if r.CentrePSSKiB, err = b.centre.pssKB(); err != nil {
		return err
	}
	r.CentrePeakKiB, _ = b.centre.peakRSSKB()
	for _, c := range b.regions {
		kb, _ := c.pssKB()
		r.RegionPSSKiB = append(r.RegionPSSKiB, kb)
	}
	if err := b.centre.call(10*time.Second, &st1, "stat"); err != nil {
		return err
	}
	if err := b.fleet.firstErr(); err != nil {
		return err
	}
	each, self := pct(c0, c1, b.clk, el)
	n := float64(b.o.sites)
	r.CentreCPUPct, r.RegionCPUPct, r.ReplicaCPUPct = each[0], each[1:1+len(b.regions)], each[1+len(b.regions):]
	r.SitesCPUPct = self
	r.CentreCPUPerSite = r.CentreCPUPct / n
	r.CentrePSSIdleKiB = b.rep.Setup.CentrePSSIdleKiB
	r.PSSPerSiteKiB = float64(r.CentrePSSKiB) / n
	r.PSSGrowthKiB = (float64(r.CentrePSSKiB) - float64(r.CentrePSSIdleKiB)) / n
	r.CentreHeapKiB, r.CentreGoroutines = float64(st1.HeapInuse)/1024, st1.Goroutines
	r.IndexLag = st1.LastPos - st1.IndexPos
	r.AppendedPerS = float64(sent1-sent0) / el
	r.CentreStoredPerS = float64(st1.Events-st0.Events) / el

	// latency of the window's events: wait until the centre holds all of
	// them, then ask for the distribution
	targets := map[string]uint64{}
	for _, s := range b.fleet.sites {
		targets[s.id] = s.lastSeq.Load()
	}
	t0 := time.Now()
	if err := b.waitHeld(ctx, targets, 2*time.Minute); err != nil {
		return fmt.Errorf("window's events at the centre: %w", err)
	}
	r.DrainS = time.Since(t0).Seconds()
	if err := b.centre.call(30*time.Second, &r.Latency, "lat", fmt.Sprint(w0.UnixNano()), fmt.Sprint(w1.UnixNano())); err != nil {
		return err
	}
	return b.centre.call(10*time.Second, nil, "rec", "off")
}

// waitHeld waits until the centre holds, of every site in targets, at
// least the seq given.
func (b *bench) waitHeld(ctx context.Context, targets map[string]uint64, d time.Duration) error {
	missing := 0
	err := waitFor(ctx, d, 200*time.Millisecond, "the centre to hold the sites' events", func() (bool, error) {
		var held map[string]uint64
		if err := b.centre.call(30*time.Second, &held, "held"); err != nil {
			return false, err
		}
		missing = 0
		for id, seq := range targets {
			if held[id] < seq {
				missing++
			}
		}
		return missing == 0, nil
	})
	if err != nil {
		return fmt.Errorf("%w (%d sites behind)", err, missing)
	}
	return nil
}
