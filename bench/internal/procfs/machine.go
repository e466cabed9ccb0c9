package procfs

import (
	"os"
	"runtime"
	"strconv"
	"strings"
)

// Machine describes where a benchmark's figures came from, for the
// federation benchmarks' reports (QUIC's buffers matter there).
type Machine struct {
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

// DescribeMachine reads the machine now (LoadEnd is the caller's to set).
func DescribeMachine(clk float64) Machine {
	m := Machine{CPUs: runtime.NumCPU(), ClkTck: clk, Go: runtime.Version(), LoadStart: LoadAvg()}
	h := ReadHost()
	m.CPUModel, m.Kernel, m.MemMiB = h.CPUModel, h.Kernel, h.MemMiB
	if b, err := os.ReadFile("/proc/sys/net/core/rmem_max"); err == nil {
		m.RmemMax, _ = strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	}
	return m
}
