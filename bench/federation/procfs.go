package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
)

// clockTicks is USER_HZ, the unit of utime/stime in /proc/PID/stat.
func clockTicks() float64 {
	out, err := exec.Command("getconf", "CLK_TCK").Output()
	if err == nil {
		if v, err := strconv.Atoi(strings.TrimSpace(string(out))); err == nil && v > 0 {
			return float64(v)
		}
	}
	return 100
}

// cpuTicks returns utime+stime of pid ("self" works too), in clock ticks.
func cpuTicks(pid string) (uint64, error) {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0, err
	}
	// comm (field 2) may hold spaces and parens; fields resume after the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("parse /proc/%s/stat", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 { // f[0] is field 3 (state); utime is field 14, stime 15
		return 0, fmt.Errorf("parse /proc/%s/stat: %d fields", pid, len(f))
	}
	ut, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("parse /proc/%s/stat times", pid)
	}
	return ut + st, nil
}

// procKB reads a "Key:   123 kB" line from a /proc file.
func procKB(path, key string) (uint64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), key+":"); ok {
			fs := strings.Fields(rest)
			if len(fs) == 0 {
				break
			}
			return strconv.ParseUint(fs[0], 10, 64)
		}
	}
	return 0, fmt.Errorf("%s: no %s", path, key)
}

// pssKB is the proportional set size of pid: its private pages plus its
// share of pages mapped by other processes too.
func pssKB(pid int) (uint64, error) {
	return procKB(fmt.Sprintf("/proc/%d/smaps_rollup", pid), "Pss")
}

// peakRSSKB is VmHWM, the peak resident set since the process started.
func peakRSSKB(pid int) (uint64, error) {
	return procKB(fmt.Sprintf("/proc/%d/status", pid), "VmHWM")
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
	m := machine{CPUs: runtime.NumCPU(), ClkTck: clk, Go: runtime.Version(), LoadStart: loadAvg()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if kb, err := procKB("/proc/meminfo", "MemTotal"); err == nil {
		m.MemMiB = kb / 1024
	}
	if b, err := os.ReadFile("/proc/sys/net/core/rmem_max"); err == nil {
		m.RmemMax, _ = strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	}
	return m
}

// loadAvg matters because other work on a small box skews every figure.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}
