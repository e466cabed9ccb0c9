// Package stats summarises the benchmarks' latencies: nearest-rank
// percentiles in milliseconds, printed compactly.
package stats

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// Durations is a sorted copy of a sample, ready for percentiles.
type Durations struct {
	v   []time.Duration
	sum time.Duration
}

// Sort takes a sample.
func Sort(ds []time.Duration) Durations {
	v := slices.Clone(ds)
	slices.Sort(v)
	var sum time.Duration
	for _, d := range v {
		sum += d
	}
	return Durations{v: v, sum: sum}
}

// Len is the sample's size.
func (d Durations) Len() int { return len(d.v) }

// P is the nearest-rank percentile p (0..1), in milliseconds (0 for an
// empty sample).
func (d Durations) P(p float64) float64 {
	if len(d.v) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(d.v)))) - 1
	return Ms(d.v[max(0, min(i, len(d.v)-1))])
}

// Max is the largest, in milliseconds.
func (d Durations) Max() float64 { return d.P(1) }

// Mean is the average, in milliseconds.
func (d Durations) Mean() float64 {
	if len(d.v) == 0 {
		return 0
	}
	return Ms(d.sum / time.Duration(len(d.v)))
}

// Ms is d in milliseconds.
func Ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// FmtMs prints a latency compactly: 0.084ms, 1.23ms, 12.3ms, 1204ms.
func FmtMs(v float64) string {
	switch {
	case v < 1:
		return fmt.Sprintf("%.3fms", v)
	case v < 10:
		return fmt.Sprintf("%.2fms", v)
	case v < 100:
		return fmt.Sprintf("%.1fms", v)
	default:
		return fmt.Sprintf("%.0fms", v)
	}
}
