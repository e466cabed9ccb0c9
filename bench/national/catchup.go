package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// catchupResult: one region's uplink is cut; while it is down its sites
// store -outage worth of events (at full speed: the hour is compressed,
// the events are real appends to their logs, shipped to the region over
// their links), besides their live load; then the uplink comes back and
// the clock runs until the centre holds every one of them.
type catchupResult struct {
	Region         string  `json:"region"`
	Sites          int     `json:"sites"`
	SimulatedS     float64 `json:"simulated_outage_s"`
	ProduceS       float64 `json:"produce_s"`          // appending the simulated hour
	RealOutageS    float64 `json:"real_outage_s"`      // uplink down, in real time
	CoveredS       float64 `json:"outage_of_events_s"` // simulated + real outage: what the backlog covers
	HourEvents     int     `json:"simulated_events"`
	Backlog        uint64  `json:"backlog_events"` // the centre lacked at reconnection
	CatchupS       float64 `json:"catchup_s"`
	Speed          float64 `json:"speed_x_real_time"` // CoveredS / CatchupS
	EventsPerS     float64 `json:"events_per_s"`
	CentreCPUPct   float64 `json:"centre_cpu_pct"`
	RegionCPUPct   float64 `json:"region_cpu_pct"`
	RegionDrainedS float64 `json:"region_had_it_all_s"` // after the production ended
}

func (b *bench) runCatchup(ctx context.Context) error {
	const r = 0
	reg := b.regions[r]
	var sites []*site
	for _, s := range b.fleet.sites {
		if s.region == r {
			sites = append(sites, s)
		}
	}
	res := &catchupResult{Region: regionID(r), Sites: len(sites), SimulatedS: b.o.outage.Seconds()}
	b.rep.Catchup = res
	if err := reg.call(30*time.Second, nil, "cut"); err != nil {
		return err
	}
	tCut := time.Now()

	// the simulated outage, a few sites at a time (each its own commits)
	var total atomic.Int64
	var firstErr error
	var errOnce sync.Once
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for i, s := range sites {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			for _, e := range hourOfEvents(b.o.outage, tCut, rand.New(rand.NewPCG(uint64(i), 99))) {
				if ctx.Err() != nil {
					return
				}
				if err := s.append(e); err != nil {
					errOnce.Do(func() { firstErr = err })
					return
				}
				total.Add(1)
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	res.HourEvents = int(total.Load())
	res.ProduceS = time.Since(tCut).Seconds()
	fmt.Printf("    %d events of %v stored at %d sites in %.0f s; waiting for the region to hold them\n",
		res.HourEvents, b.o.outage, len(sites), res.ProduceS)
	t1 := time.Now()
	err := waitFor(ctx, 15*time.Minute, 250*time.Millisecond, "the region to hold its sites' events", func() (bool, error) {
		return b.fleet.backlog(r) == 0, nil
	})
	if err != nil {
		return err
	}
	res.RegionDrainedS = time.Since(t1).Seconds()

	// everything stored so far must reach the centre; the live load
	// goes on meanwhile
	targets := map[string]uint64{}
	for _, s := range sites {
		targets[s.id] = s.lastSeq.Load()
	}
	var held map[string]uint64
	if err := b.centre.call(30*time.Second, &held, "held"); err != nil {
		return err
	}
	for id, seq := range targets {
		if seq > held[id] {
			res.Backlog += seq - held[id]
		}
	}
	c0, err := sampleCPU([]*child{b.centre, reg})
	if err != nil {
		return err
	}
	tLink := time.Now()
	res.RealOutageS = tLink.Sub(tCut).Seconds()
	res.CoveredS = res.SimulatedS + res.RealOutageS
	fmt.Printf("    uplink restored after %.0f s down; the centre lacks %d events\n", res.RealOutageS, res.Backlog)
	if err := reg.call(30*time.Second, nil, "link"); err != nil {
		return err
	}
	if err := b.waitHeld(ctx, targets, 20*time.Minute); err != nil {
		return err
	}
	res.CatchupS = time.Since(tLink).Seconds()
	c1, err := sampleCPU([]*child{b.centre, reg})
	if err != nil {
		return err
	}
	each, _ := pct(c0, c1, b.clk, res.CatchupS)
	res.CentreCPUPct, res.RegionCPUPct = each[0], each[1]
	res.Speed = res.CoveredS / res.CatchupS
	res.EventsPerS = float64(res.Backlog) / res.CatchupS
	return b.fleet.firstErr()
}
