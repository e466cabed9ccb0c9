package main

import (
	"fmt"

	"github.com/kuzet/kuzet/bench/internal/procfs"
)

// pssKB is the proportional set size of pid: its private pages plus its
// share of pages mapped by other processes too.
func pssKB(pid int) (uint64, error) {
	return procfs.KB(fmt.Sprintf("/proc/%d/smaps_rollup", pid), "Pss")
}

// peakRSSKB is VmHWM, the peak resident set since the process started.
func peakRSSKB(pid int) (uint64, error) {
	return procfs.KB(fmt.Sprintf("/proc/%d/status", pid), "VmHWM")
}
