package main

import (
	"fmt"
	"time"

	"github.com/kuzet/kuzet/bench/internal/stats"
)

// latency summarises raise→arrival times of alarms, in milliseconds.
type latency struct {
	Raised  int     `json:"raised"`
	N       int     `json:"arrived"`
	Missing int     `json:"missing"`
	P50     float64 `json:"p50_ms"`
	P95     float64 `json:"p95_ms"`
	P99     float64 `json:"p99_ms"`
	Max     float64 `json:"max_ms"`
	Mean    float64 `json:"mean_ms"`
	Urgent  int     `json:"first_via_alarm_stream"`
	Ordered int     `json:"first_via_events_stream"`
}

// summarise computes nearest-rank percentiles of ds.
func summarise(ds []time.Duration) latency {
	d := stats.Sort(ds)
	return latency{N: d.Len(), P50: d.P(0.50), P95: d.P(0.95), P99: d.P(0.99), Max: d.Max(), Mean: d.Mean()}
}

func fmtMs(v float64) string { return stats.FmtMs(v) }

func ratio(a, b float64) string {
	if b == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f×", a/b)
}

func mbps(bytesPerSecond float64) float64 { return bytesPerSecond * 8 / 1e6 }
