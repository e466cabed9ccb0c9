package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// ffmpegResult is the baseline's side of one N: N ffmpeg processes, one per
// camera, the way Frigate records (stream copy into segment files).
type ffmpegResult struct {
	CPUPercent          float64    `json:"cpu_percent"` // summed over the N processes
	CPUPercentPerStream float64    `json:"cpu_percent_per_stream"`
	PeakRSSMiB          float64    `json:"peak_rss_mib"` // summed VmHWM
	PSSMiB              float64    `json:"pss_mib"`      // summed PSS at end of window
	PSSMiBPerStream     float64    `json:"pss_mib_per_stream"`
	DirBytesPerSec      float64    `json:"dir_bytes_per_sec"` // apparent size delta
	DiskBytesPerSec     float64    `json:"disk_bytes_per_sec"`
	SourceCPUPercent    float64    `json:"testcam_cpu_percent"`
	InFiles             frameCount `json:"in_files"` // informative: no receive counter to compare with
	Graceful            int        `json:"graceful_exits"`
	Log                 logSummary `json:"log"`
	SourceLog           logSummary `json:"testcam_log"`
}

// ffmpegArgs is the per-camera command, as Frigate's record role runs it.
func ffmpegArgs(ffmpeg, url, outPattern string) []string {
	return []string{ffmpeg, "-nostdin", "-loglevel", "error", "-rtsp_transport", "tcp", "-i", url,
		"-c", "copy", "-f", "segment", "-segment_time", "300", "-reset_timestamps", "1",
		"-strftime", "1", outPattern}
}

func benchFFmpeg(ctx context.Context, r *reaper, o options, n int) (*ffmpegResult, error) {
	dir, err := r.tempDir(o.dir, fmt.Sprintf("ffmpeg-n%d-", n))
	if err != nil {
		return nil, err
	}
	src, err := startSource(r, o.kuzet, dir, n)
	if err != nil {
		return nil, err
	}
	defer src.stopSource()

	outDir := filepath.Join(dir, "out")
	logDir := filepath.Join(dir, "logs")
	for _, d := range []string{outDir, logDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	procs := make([]*child, 0, n)
	// Error paths: the same stop as below, which is a no-op once done.
	defer func() { stopAll(procs, syscall.SIGINT, 5*time.Second) }()
	for i, u := range src.urls {
		id := cameraID(i + 1)
		c, err := r.start("ffmpeg "+id,
			filepath.Join(logDir, id+".out"), filepath.Join(logDir, id+".err"),
			ffmpegArgs(o.ffmpeg, u, filepath.Join(outDir, id+"-%Y%m%d%H%M%S.mp4"))...)
		if err != nil {
			return nil, err
		}
		procs = append(procs, c)
	}
	pids := make([]int, n)
	for i, c := range procs {
		pids[i] = c.pid
	}
	watch := append([]*child{src.child}, procs...)

	// "Recording" means every camera has a non-empty file.
	if err := waitFiles(outDir, n, watch, 30*time.Second+time.Duration(n)*300*time.Millisecond); err != nil {
		return nil, err
	}
	if err := hold(o.warmup, watch...); err != nil {
		return nil, err
	}

	cpu0, err := cpuSum(pids...)
	if err != nil {
		return nil, err
	}
	srcCPU0, err := cpuSum(src.pid)
	if err != nil {
		return nil, err
	}
	du0, err := duDir(outDir)
	if err != nil {
		return nil, err
	}
	t0 := time.Now()

	if err := hold(o.window, watch...); err != nil {
		return nil, err
	}

	cpu1, err := cpuSum(pids...)
	if err != nil {
		return nil, err
	}
	srcCPU1, err := cpuSum(src.pid)
	if err != nil {
		return nil, err
	}
	du1, err := duDir(outDir)
	if err != nil {
		return nil, err
	}
	wall := time.Since(t0)
	mem, err := memSum(pids...)
	if err != nil {
		return nil, err
	}

	res := &ffmpegResult{}
	sec := wall.Seconds()
	res.CPUPercent = cpuPercent(cpu1-cpu0, o.clk, wall)
	res.CPUPercentPerStream = res.CPUPercent / float64(n)
	res.SourceCPUPercent = cpuPercent(srcCPU1-srcCPU0, o.clk, wall)
	res.PeakRSSMiB = mib(mem.PeakRSS)
	res.PSSMiB = mib(mem.PSS)
	res.PSSMiBPerStream = res.PSSMiB / float64(n)
	res.DirBytesPerSec = float64(du1.Apparent-du0.Apparent) / sec
	res.DiskBytesPerSec = float64(du1.Allocated-du0.Allocated) / sec

	// SIGINT makes ffmpeg write the moov atom; a killed one leaves an
	// unreadable file, which the frame count below would show.
	res.Graceful = stopAll(procs, syscall.SIGINT, 5*time.Second)
	src.stopSource()

	files, err := listMP4(outDir)
	if err != nil {
		return nil, err
	}
	res.InFiles = countFrames(ctx, o.ffprobe, files)
	seen := map[string]bool{}
	for i := range procs {
		summarizePlain(filepath.Join(logDir, cameraID(i+1)+".err"), &res.Log, seen)
	}
	res.SourceLog = summarizeSlog(src.stderr, -1)
	return res, nil
}

// stopAll stops the processes in parallel, so N slow finalizers cost one
// grace period, and returns how many exited on the signal alone.
func stopAll(procs []*child, sig syscall.Signal, grace time.Duration) int {
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		graceful int
	)
	for _, c := range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if ok, _ := c.stop(sig, grace); ok {
				mu.Lock()
				graceful++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return graceful
}

// waitFiles waits until each of the n cameras has a non-empty output file.
func waitFiles(outDir string, n int, watch []*child, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		ready := 0
		for i := 1; i <= n; i++ {
			m, _ := filepath.Glob(filepath.Join(outDir, cameraID(i)+"-*.mp4"))
			for _, f := range m {
				if fi, err := os.Stat(f); err == nil && fi.Size() > 0 {
					ready++
					break
				}
			}
		}
		if ready == n {
			return nil
		}
		for _, c := range watch {
			if c.exited() {
				return fmt.Errorf("%s exited (%s): %s", c.name, c.exitStatus(), tail(c.stderr, 10))
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("ffmpeg: %d of %d cameras writing after %s", ready, n, timeout)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
