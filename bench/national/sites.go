package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/federation"
	"github.com/kuzet/kuzet/pki"
)

// The simulated sites live in the measuring process: each has its own
// certificate, its own bbolt event log and its own federation client (QUIC
// connection) to its region, and stores its cameras' events at the rates
// of the issue. Nothing else of a site (recording, plate reading) runs.

// liveVehicles is the population the live plate reads are drawn from.
const liveVehicles = 2_000_000

type site struct {
	id      string
	region  int
	log     *event.Log
	ident   *pki.Identity
	cl      *federation.Client
	lastSeq atomic.Uint64
}

type fleet struct {
	sites   []*site
	stopped chan struct{}
	cancel  func()
	wg      sync.WaitGroup
	sent    atomic.Uint64 // events appended by the live producers
	errMu   sync.Mutex
	err     error
}

// openFleet issues the sites' certificates and opens their logs.
func openFleet(ctx context.Context, pkiDir, dir string, n, regions int) (*fleet, error) {
	f := &fleet{stopped: make(chan struct{})}
	for i := range n {
		if ctx.Err() != nil {
			f.close()
			return nil, ctx.Err()
		}
		s := &site{id: siteID(i), region: i % regions}
		var err error
		if s.ident, err = issue(pkiDir, s.id); err == nil {
			s.log, err = event.OpenLog(filepath.Join(dir, s.id+"-events.db"), s.id, nil)
		}
		if err != nil {
			f.close()
			return nil, err
		}
		f.sites = append(f.sites, s)
	}
	return f, nil
}

// link starts every site's client to its region, spread over a few
// seconds so the handshakes do not all land at once.
func (f *fleet) link(ctx context.Context, regionAddrs []string, heartbeat time.Duration) error {
	cctx, cancel := context.WithCancel(context.Background())
	f.cancel = cancel
	stagger := min(5*time.Millisecond, 3*time.Second/time.Duration(len(f.sites)))
	for _, s := range f.sites {
		s.cl = federation.NewClient(federation.ClientOptions{Upstream: []string{regionAddrs[s.region]}, Identity: s.ident,
			Log: s.log, Heartbeat: heartbeat, BackoffMax: 2 * time.Second})
		f.wg.Add(1)
		go func() { defer f.wg.Done(); s.cl.Run(cctx) }()
		if err := sleepCtx(ctx, stagger); err != nil {
			return err
		}
	}
	return nil
}

func (f *fleet) fail(err error) {
	f.errMu.Lock()
	defer f.errMu.Unlock()
	if f.err == nil {
		f.err = err
	}
}

func (f *fleet) firstErr() error {
	f.errMu.Lock()
	defer f.errMu.Unlock()
	return f.err
}

func (f *fleet) linked() int {
	n := 0
	for _, s := range f.sites {
		if s.cl != nil && s.cl.Status().Connected {
			n++
		}
	}
	return n
}

// backlog is how many events the sites of region r (all: -1) have not
// yet had stored by their region.
func (f *fleet) backlog(r int) uint64 {
	var n uint64
	for _, s := range f.sites {
		if (r < 0 || s.region == r) && s.cl != nil {
			n += s.cl.Status().Backlog
		}
	}
	return n
}

func (s *site) append(e event.Event) error {
	e.Time = time.Now() // the latency starts here, before the site's commit
	stored, err := s.log.Append(e)
	if err != nil {
		return fmt.Errorf("%s: %w", s.id, err)
	}
	s.lastSeq.Store(stored.Seq)
	return nil
}

// camClock is when each of a camera's events is next due.
type camClock struct {
	plate, segment, alarm time.Time
	clear                 time.Time // zero: no alarm raised
}

// produce runs every site's cameras live until stop.
func (f *fleet) produce() {
	ctx, cancel := context.WithCancel(context.Background())
	prev := f.cancel
	f.cancel = func() { cancel(); prev() }
	for i, s := range f.sites {
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			if err := s.produce(ctx, rand.New(rand.NewPCG(uint64(i), 42)), &f.sent); err != nil && ctx.Err() == nil {
				f.fail(err)
			}
		}()
	}
}

func (s *site) produce(ctx context.Context, rng *rand.Rand, sent *atomic.Uint64) error {
	now := time.Now()
	cams := make([]camClock, camerasPerSite)
	for i := range cams {
		// random phases: the sites did not all start at once
		cams[i] = camClock{plate: now.Add(rand.N(plateEvery)), segment: now.Add(rand.N(segmentEvery)),
			alarm: now.Add(time.Duration(rng.ExpFloat64() * float64(alarmEvery)))}
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		next := cams[0].plate
		for _, c := range cams {
			for _, t := range []time.Time{c.plate, c.segment, c.alarm, c.clear} {
				if !t.IsZero() && t.Before(next) {
					next = t
				}
			}
		}
		timer.Reset(time.Until(next))
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		}
		now := time.Now()
		for i := range cams {
			c, cam := &cams[i], cameraID(i)
			var due []event.Event
			if !now.Before(c.plate) {
				due = append(due, plateRead(cam, plateText(vehicle(liveVehicles, rng)), now, rng))
				// ±20 % around the period: passes are not a metronome
				c.plate = c.plate.Add(plateEvery*8/10 + rand.N(plateEvery*4/10))
			}
			if !now.Before(c.segment) {
				due = append(due, segmentClosed(cam, now, rng))
				c.segment = c.segment.Add(segmentEvery)
			}
			if !c.clear.IsZero() && !now.Before(c.clear) {
				due = append(due, cameraAlarm(cam, false, now, rng))
				c.clear = time.Time{}
			}
			if !now.Before(c.alarm) {
				due = append(due, cameraAlarm(cam, true, now, rng))
				c.alarm = now.Add(time.Duration(rng.ExpFloat64() * float64(alarmEvery)))
				c.clear = now.Add(alarmLasts)
			}
			for _, e := range due {
				if err := s.append(e); err != nil {
					return err
				}
				sent.Add(1)
			}
		}
	}
}

// hourOfEvents is what a site's cameras store in d of simulated time,
// in time order (alarms: raise and clear pairs).
func hourOfEvents(d time.Duration, start time.Time, rng *rand.Rand) []event.Event {
	type due struct {
		t time.Time
		e event.Event
	}
	var all []due
	for i := range camerasPerSite {
		cam := cameraID(i)
		for t := rand.N(plateEvery); t < d; t += plateEvery*8/10 + rand.N(plateEvery*4/10) {
			all = append(all, due{start.Add(t), plateRead(cam, plateText(vehicle(liveVehicles, rng)), start.Add(t), rng)})
		}
		for t := rand.N(segmentEvery); t < d; t += segmentEvery {
			all = append(all, due{start.Add(t), segmentClosed(cam, start.Add(t), rng)})
		}
		for t := time.Duration(rng.ExpFloat64() * float64(alarmEvery)); t < d; t += time.Duration(rng.ExpFloat64() * float64(alarmEvery)) {
			all = append(all, due{start.Add(t), cameraAlarm(cam, true, start.Add(t), rng)},
				due{start.Add(t + alarmLasts), cameraAlarm(cam, false, start.Add(t+alarmLasts), rng)})
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].t.Before(all[j].t) })
	out := make([]event.Event, len(all))
	for i, d := range all {
		out[i] = d.e
	}
	return out
}

// stop ends producers and links, bounded.
func (f *fleet) stop() {
	if f.cancel != nil {
		f.cancel()
	}
	waited := make(chan struct{})
	go func() { f.wg.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-time.After(30 * time.Second):
		fmt.Fprintln(os.Stderr, "bench: simulated sites did not stop within 30 s")
	}
}

func (f *fleet) close() {
	for _, s := range f.sites {
		if s.log != nil {
			_ = s.log.Close()
		}
	}
}

// sleepCtx sleeps d unless ctx ends first.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// waitFor polls cond every period until it holds, d passes or ctx ends.
func waitFor(ctx context.Context, d, period time.Duration, what string, cond func() (bool, error)) error {
	deadline := time.Now().Add(d)
	for {
		ok, err := cond()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %v waiting for %s", d, what)
		}
		if err := sleepCtx(ctx, period); err != nil {
			return err
		}
	}
}
