package faults

import (
	"fmt"
	"os"
	"strconv"
	"time"
)

// settings are the harness's knobs, from the environment.
type settings struct {
	Total  time.Duration // FAULTS_DURATION: faults plus settling
	Faults time.Duration // the part of Total with faults scheduled
	Settle time.Duration // the rest: everything healed and running
	Drain  time.Duration // longest wait for backlogs and replication after the camera stops
	Seed   uint64        // FAULTS_SEED
	Keep   bool          // FAULTS_KEEP=1: keep the run directory even when the run passes
}

// defaultDuration is the short setting `go test ./...` runs.
const defaultDuration = 90 * time.Second

func loadSettings() (settings, error) {
	s := settings{Total: defaultDuration, Seed: uint64(time.Now().UnixNano() % 1_000_000_000)}
	if v := os.Getenv("FAULTS_DURATION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 40*time.Second {
			return s, fmt.Errorf("FAULTS_DURATION=%q: want a duration of at least 40s, e.g. 90s, 10m, 1h", v)
		}
		s.Total = d
	}
	if v := os.Getenv("FAULTS_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return s, fmt.Errorf("FAULTS_SEED=%q: want a non-negative integer", v)
		}
		s.Seed = n
	}
	s.Keep = os.Getenv("FAULTS_KEEP") == "1"
	s.Settle = min(max(s.Total/4, 20*time.Second), 5*time.Minute)
	s.Faults = s.Total - s.Settle
	s.Drain = min(max(s.Total/6, 30*time.Second), 3*time.Minute)
	return s, nil
}

func (s settings) String() string {
	return fmt.Sprintf("FAULTS_SEED=%d FAULTS_DURATION=%v (faults %v, then settle %v; drain up to %v)",
		s.Seed, s.Total, s.Faults, s.Settle, s.Drain)
}
