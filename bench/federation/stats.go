package main

import (
	"fmt"
	"math"
	"slices"
	"time"
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
	var l latency
	l.N = len(ds)
	if len(ds) == 0 {
		return l
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	var sum time.Duration
	for _, d := range s {
		sum += d
	}
	rank := func(p float64) float64 {
		i := int(math.Ceil(p*float64(len(s)))) - 1
		return ms(s[max(0, min(i, len(s)-1))])
	}
	l.P50, l.P95, l.P99 = rank(0.50), rank(0.95), rank(0.99)
	l.Max = ms(s[len(s)-1])
	l.Mean = ms(sum / time.Duration(len(s)))
	return l
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// fmtMs prints a latency compactly: 0.84ms, 12.3ms, 1204ms.
func fmtMs(v float64) string {
	switch {
	case v < 10:
		return fmt.Sprintf("%.2fms", v)
	case v < 100:
		return fmt.Sprintf("%.1fms", v)
	default:
		return fmt.Sprintf("%.0fms", v)
	}
}

func ratio(a, b float64) string {
	if b == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f×", a/b)
}

func mbps(bytesPerSecond float64) float64 { return bytesPerSecond * 8 / 1e6 }
