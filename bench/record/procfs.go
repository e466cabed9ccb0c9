package main

import (
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"github.com/kuzet/kuzet/bench/internal/procfs"
)

// memKB is peak RSS (VmHWM, since process start) and current PSS (shared
// pages split between the processes mapping them, so summing PSS over N
// ffmpeg processes does not count libavcodec N times).
type memKB struct{ PeakRSS, PSS uint64 }

func readMem(pid int) (memKB, error) {
	hwm, err := procfs.KB(fmt.Sprintf("/proc/%d/status", pid), "VmHWM")
	if err != nil {
		return memKB{}, err
	}
	pss, err := procfs.KB(fmt.Sprintf("/proc/%d/smaps_rollup", pid), "Pss")
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
	h := procfs.ReadHost()
	m.CPUModel, m.Kernel, m.MemMiB = h.CPUModel, h.Kernel, h.MemMiB
	m.Load = procfs.LoadAvg()
	if out, err := exec.Command(ffmpegBin, "-version").Output(); err == nil {
		m.FFmpeg, _, _ = strings.Cut(string(out), "\n")
	}
	if out, err := exec.Command(kuzetBin, "version").Output(); err == nil {
		m.Kuzet = strings.TrimSpace(string(out))
	}
	return m
}

// cpuTicks returns utime+stime of pid, in clock ticks. The recorders we
// measure do not fork workers here, so children's times do not matter.
func cpuTicks(pid int) (uint64, error) { return procfs.CPUTicks(strconv.Itoa(pid)) }
