package main

import (
	"fmt"
	"time"
)

// cpuSum is the summed utime+stime of pids, in clock ticks.
func cpuSum(pids ...int) (uint64, error) {
	var t uint64
	for _, p := range pids {
		v, err := cpuTicks(p)
		if err != nil {
			return 0, err
		}
		t += v
	}
	return t, nil
}

// memSum sums peak RSS and PSS over pids.
func memSum(pids ...int) (memKB, error) {
	var m memKB
	for _, p := range pids {
		v, err := readMem(p)
		if err != nil {
			return memKB{}, err
		}
		m.PeakRSS += v.PeakRSS
		m.PSS += v.PSS
	}
	return m, nil
}

// cpuPercent turns a tick delta over wall time into % of one core.
func cpuPercent(ticks uint64, clk float64, wall time.Duration) float64 {
	return float64(ticks) / clk / wall.Seconds() * 100
}

// hold waits d, failing early if any watched process exits: a recorder
// that dies mid-window must not yield figures.
func hold(d time.Duration, watch ...*child) error {
	t := time.NewTimer(d)
	defer t.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-t.C:
			return nil
		case <-tick.C:
			for _, c := range watch {
				if c.exited() {
					return fmt.Errorf("%s (pid %d) exited early (%s): %s", c.name, c.pid, c.exitStatus(), tail(c.stderr, 10))
				}
			}
		}
	}
}

func mib(kb uint64) float64 { return float64(kb) / 1024 }
