package main

import (
	"time"

	"github.com/kuzet/kuzet/bench/internal/stats"
)

// summary is a distribution of durations, in milliseconds, with
// nearest-rank percentiles.
type summary struct {
	N    int     `json:"n"`
	P50  float64 `json:"p50_ms"`
	P99  float64 `json:"p99_ms"`
	Max  float64 `json:"max_ms"`
	Mean float64 `json:"mean_ms"`
}

func summarise(ds []time.Duration) summary {
	d := stats.Sort(ds)
	return summary{N: d.Len(), P50: d.P(0.50), P99: d.P(0.99), Max: d.Max(), Mean: d.Mean()}
}

func fmtMs(v float64) string { return stats.FmtMs(v) }
