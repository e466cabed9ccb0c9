package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"

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

// machine describes where the figures came from.
type machine struct {
	CPUs      int     `json:"cpus"`
	CPUModel  string  `json:"cpu_model"`
	Kernel    string  `json:"kernel"`
	MemMiB    uint64  `json:"mem_mib"`
	ClkTck    float64 `json:"clk_tck"`
	Go        string  `json:"go"`
	LoadStart string  `json:"loadavg_start"`
	LoadEnd   string  `json:"loadavg_end"`
	RmemMax   uint64  `json:"net_core_rmem_max"`
}

func describeMachine(clk float64) machine {
	m := machine{CPUs: runtime.NumCPU(), ClkTck: clk, Go: runtime.Version(), LoadStart: procfs.LoadAvg()}
	h := procfs.ReadHost()
	m.CPUModel, m.Kernel, m.MemMiB = h.CPUModel, h.Kernel, h.MemMiB
	if b, err := os.ReadFile("/proc/sys/net/core/rmem_max"); err == nil {
		m.RmemMax, _ = strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	}
	return m
}
