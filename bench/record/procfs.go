package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
)

// clockTicks is USER_HZ, the unit of utime/stime in /proc/PID/stat. It is
// 100 on every mainstream Linux build, but getconf is the authority.
func clockTicks() float64 {
	out, err := exec.Command("getconf", "CLK_TCK").Output()
	if err == nil {
		if v, err := strconv.Atoi(strings.TrimSpace(string(out))); err == nil && v > 0 {
			return float64(v)
		}
	}
	return 100
}

// cpuTicks returns utime+stime of pid, in clock ticks. Children's times are
// not included: the recorders we measure do not fork workers here.
func cpuTicks(pid int) (uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// comm (field 2) may hold spaces and parens; fields resume after the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("parse /proc/%d/stat", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state); utime is field 14, stime field 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("parse /proc/%d/stat: %d fields", pid, len(f))
	}
	ut, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("parse /proc/%d/stat times", pid)
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
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, key+":"); ok {
			fs := strings.Fields(rest)
			if len(fs) == 0 {
				break
			}
			return strconv.ParseUint(fs[0], 10, 64)
		}
	}
	return 0, fmt.Errorf("%s: no %s", path, key)
}

// memKB is peak RSS (VmHWM, since process start) and current PSS (shared
// pages split between the processes mapping them, so summing PSS over N
// ffmpeg processes does not count libavcodec N times).
type memKB struct{ PeakRSS, PSS uint64 }

func readMem(pid int) (memKB, error) {
	hwm, err := procKB(fmt.Sprintf("/proc/%d/status", pid), "VmHWM")
	if err != nil {
		return memKB{}, err
	}
	pss, err := procKB(fmt.Sprintf("/proc/%d/smaps_rollup", pid), "Pss")
	if err != nil {
		return memKB{}, err
	}
	return memKB{PeakRSS: hwm, PSS: pss}, nil
}

// dirUsage is the total apparent size (what was written) and allocated
// size (what du prints) of the regular files under root.
type dirUsage struct{ Apparent, Allocated int64 }

func duDir(root string) (dirUsage, error) {
	var u dirUsage
	err := filepath.WalkDir(root, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			// A file that disappears mid-walk (rename on close) is not an error.
			if os.IsNotExist(err) {
				return nil
			}
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			if os.IsNotExist(err) {
				return nil
			}
			return err
		}
		u.Apparent += fi.Size()
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			u.Allocated += st.Blocks * 512 // st_blocks is in 512-byte units
		}
		return nil
	})
	return u, err
}

// machine describes where the figures came from.
type machine struct {
	CPUs     int     `json:"cpus"`
	CPUModel string  `json:"cpu_model"`
	Kernel   string  `json:"kernel"`
	MemMiB   uint64  `json:"mem_mib"`
	ClkTck   float64 `json:"clk_tck"`
	Load     string  `json:"loadavg_start"`
	FFmpeg   string  `json:"ffmpeg"`
	Kuzet    string  `json:"kuzet"`
	Go       string  `json:"go"`
}

func describeMachine(kuzetBin, ffmpegBin string, clk float64) machine {
	m := machine{CPUs: runtime.NumCPU(), ClkTck: clk, Go: runtime.Version()}
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
	m.Load = loadAvg()
	if out, err := exec.Command(ffmpegBin, "-version").Output(); err == nil {
		m.FFmpeg, _, _ = strings.Cut(string(out), "\n")
	}
	if out, err := exec.Command(kuzetBin, "version").Output(); err == nil {
		m.Kuzet = strings.TrimSpace(string(out))
	}
	return m
}

// loadAvg matters because other work on a 2-core box skews every figure.
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
