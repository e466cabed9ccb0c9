package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// kuzetResult is the node's side of one N.
type kuzetResult struct {
	CPUPercent          float64 `json:"cpu_percent"` // of one core, whole process
	CPUPercentPerStream float64 `json:"cpu_percent_per_stream"`
	PeakRSSMiB          float64 `json:"peak_rss_mib"` // VmHWM, whole process
	PSSMiB              float64 `json:"pss_mib"`      // at end of window
	PSSMiBPerStream     float64 `json:"pss_mib_per_stream"`
	BytesPerSec         float64 `json:"bytes_per_sec"`     // archive_bytes_written delta
	DirBytesPerSec      float64 `json:"dir_bytes_per_sec"` // apparent size delta of the archive dir
	DiskBytesPerSec     float64 `json:"disk_bytes_per_sec"`
	FPSPerStream        float64 `json:"fps_per_stream"` // frames_received delta / window / N
	SourceCPUPercent    float64 `json:"testcam_cpu_percent"`
	// From the node's own Go collector at window end, to tell heap from
	// runtime/GC slack when reading PSS.
	GoHeapInuseMiB float64 `json:"go_heap_inuse_mib"`
	Goroutines     int     `json:"goroutines"`

	FramesReceived        int64              `json:"frames_received"`
	FramesWrittenMetric   int64              `json:"frames_written_metric"` // last scrape, before SIGTERM
	SkippedWaitingKey     int64              `json:"skipped_waiting_keyframe"`
	SkippedOther          map[string]float64 `json:"skipped_other,omitempty"`
	InFiles               frameCount         `json:"in_files"`
	Lost                  int64              `json:"lost"` // received - skipped(waiting_keyframe) - in files
	LostCameras           map[string]int64   `json:"lost_by_camera,omitempty"`
	Dropped               map[string]float64 `json:"dropped_by_consumer,omitempty"`
	DroppedTotal          int64              `json:"dropped"`
	Exit                  string             `json:"exit"`
	StopSeconds           float64            `json:"stop_seconds"`
	Log                   logSummary         `json:"log"` // up to the source's stop
	SourceLog             logSummary         `json:"testcam_log"`
	StreamingAfterSeconds float64            `json:"streaming_after_seconds"`
}

// freePort asks the kernel for a free loopback port. Another process could
// take it before kuzet binds; then kuzet exits and we say so.
func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func cameraID(i int) string { return fmt.Sprintf("cam%d", i) }

// writeConfig writes a node config recording every source URL over TCP.
// %q quoting is valid YAML for these ASCII paths.
func writeConfig(path, dir, httpAddr string, urls []string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "node: {id: bench, data_dir: %q}\n", filepath.Join(dir, "data"))
	fmt.Fprintf(&b, "http: {listen: %q}\n", httpAddr)
	fmt.Fprintf(&b, "archive: {root: %q, segment: 5m}\n", filepath.Join(dir, "archive"))
	b.WriteString("cameras:\n")
	for i, u := range urls {
		fmt.Fprintf(&b, "  - {id: %s, url: %q, transport: tcp}\n", cameraID(i+1), u)
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

// benchKuzet records n testcam streams with `kuzet run` and measures it.
func benchKuzet(ctx context.Context, r *reaper, o options, n int) (*kuzetResult, error) {
	dir, err := r.tempDir(o.dir, fmt.Sprintf("kuzet-n%d-", n))
	if err != nil {
		return nil, err
	}
	src, err := startSource(r, o.kuzet, dir, n)
	if err != nil {
		return nil, err
	}
	defer src.stopSource()

	httpAddr, err := freePort()
	if err != nil {
		return nil, err
	}
	cfg := filepath.Join(dir, "node.yaml")
	if err := writeConfig(cfg, dir, httpAddr, src.urls); err != nil {
		return nil, err
	}
	nodeErr := filepath.Join(dir, "kuzet.err")
	node, err := r.start("kuzet", filepath.Join(dir, "kuzet.out"), nodeErr, o.kuzet, "run", "-c", cfg)
	if err != nil {
		return nil, err
	}
	stopGrace := 30*time.Second + time.Duration(n)*200*time.Millisecond
	defer node.stop(syscall.SIGTERM, stopGrace) // error paths; a no-op once stopped

	res := &kuzetResult{}
	began := time.Now()
	if err := waitStreaming(ctx, node, httpAddr, n, 30*time.Second+time.Duration(n)*300*time.Millisecond); err != nil {
		return nil, err
	}
	res.StreamingAfterSeconds = time.Since(began).Seconds()
	if err := hold(o.warmup, node, src.child); err != nil {
		return nil, err
	}

	// Window start. The reads are back to back so they describe one instant.
	cpu0, err := cpuSum(node.pid)
	if err != nil {
		return nil, err
	}
	srcCPU0, err := cpuSum(src.pid)
	if err != nil {
		return nil, err
	}
	m0, err := scrape(ctx, httpAddr)
	if err != nil {
		return nil, err
	}
	du0, err := duDir(filepath.Join(dir, "archive"))
	if err != nil {
		return nil, err
	}
	t0 := time.Now()

	if err := hold(o.window, node, src.child); err != nil {
		return nil, err
	}

	cpu1, err := cpuSum(node.pid)
	if err != nil {
		return nil, err
	}
	srcCPU1, err := cpuSum(src.pid)
	if err != nil {
		return nil, err
	}
	m1, err := scrape(ctx, httpAddr)
	if err != nil {
		return nil, err
	}
	du1, err := duDir(filepath.Join(dir, "archive"))
	if err != nil {
		return nil, err
	}
	wall := time.Since(t0)
	mem, err := memSum(node.pid)
	if err != nil {
		return nil, err
	}

	sec := wall.Seconds()
	res.CPUPercent = cpuPercent(cpu1-cpu0, o.clk, wall)
	res.CPUPercentPerStream = res.CPUPercent / float64(n)
	res.SourceCPUPercent = cpuPercent(srcCPU1-srcCPU0, o.clk, wall)
	res.PeakRSSMiB = mib(mem.PeakRSS)
	res.PSSMiB = mib(mem.PSS)
	res.PSSMiBPerStream = res.PSSMiB / float64(n)
	const bw = "kuzet_archive_bytes_written_total"
	res.BytesPerSec = (m1.sum(bw, nil) - m0.sum(bw, nil)) / sec
	res.DirBytesPerSec = float64(du1.Apparent-du0.Apparent) / sec
	res.DiskBytesPerSec = float64(du1.Allocated-du0.Allocated) / sec
	res.GoHeapInuseMiB = m1.sum("go_memstats_heap_inuse_bytes", nil) / (1 << 20)
	res.Goroutines = int(m1.sum("go_goroutines", nil))
	const fr = "kuzet_camera_frames_received_total"
	res.FPSPerStream = (m1.sum(fr, nil) - m0.sum(fr, nil)) / sec / float64(n)

	// Complaints after this point are our shutdown's doing.
	logUpto := fileSize(nodeErr)

	// Frame accounting. The source stops first so that nothing arrives
	// between the last scrape and SIGTERM; the node then flushes and closes
	// its files, and the files are the truth for "written".
	if msg := src.stopSource(); msg != "" {
		fmt.Fprintln(os.Stderr, "bench:", msg)
	}
	if err := hold(time.Second, node); err != nil {
		return nil, err
	}
	final, err := scrape(ctx, httpAddr)
	if err != nil {
		return nil, err
	}
	stopAt := time.Now()
	node.stop(syscall.SIGTERM, stopGrace)
	res.StopSeconds = time.Since(stopAt).Seconds()
	res.Exit = node.exitStatus()

	const sk = "kuzet_recorder_frames_skipped_total"
	res.FramesReceived = int64(final.sum(fr, nil))
	res.FramesWrittenMetric = int64(final.sum("kuzet_recorder_frames_written_total", nil))
	// frames before a session's first keyframe are not recordable: the
	// session counts those it gets before the stream has a timeline, the
	// recorder those after it
	const bs = "kuzet_camera_frames_before_sync_total"
	res.SkippedWaitingKey = int64(final.sum(sk, map[string]string{"reason": "waiting_keyframe"}) + final.sum(bs, nil))
	for reason, v := range final.byLabel(sk, "reason") {
		if reason != "waiting_keyframe" && v != 0 {
			if res.SkippedOther == nil {
				res.SkippedOther = map[string]float64{}
			}
			res.SkippedOther[reason] = v
		}
	}
	for consumer, v := range final.byLabel("kuzet_camera_frames_dropped_total", "consumer") {
		if v != 0 {
			if res.Dropped == nil {
				res.Dropped = map[string]float64{}
			}
			res.Dropped[consumer] = v
			res.DroppedTotal += int64(v)
		}
	}

	// Per camera, so one bad camera is not hidden by another's surplus.
	for i := 1; i <= n; i++ {
		id := cameraID(i)
		files, err := listMP4(filepath.Join(dir, "archive", id))
		if err != nil {
			return nil, err
		}
		fc := countFrames(ctx, o.ffprobe, files)
		res.InFiles.Frames += fc.Frames
		res.InFiles.Files += fc.Files
		res.InFiles.Errors = append(res.InFiles.Errors, fc.Errors...)
		cam := map[string]string{"camera": id}
		lost := int64(final.sum(fr, cam)) -
			int64(final.sum(sk, map[string]string{"camera": id, "reason": "waiting_keyframe"})) -
			int64(final.sum(bs, cam)) -
			int64(fc.Frames)
		res.Lost += lost
		if lost != 0 {
			if res.LostCameras == nil {
				res.LostCameras = map[string]int64{}
			}
			res.LostCameras[id] = lost
		}
	}
	res.Log = summarizeSlog(nodeErr, logUpto)
	res.SourceLog = summarizeSlog(src.stderr, -1)
	return res, nil
}

// waitStreaming polls the camera list until all n cameras stream.
func waitStreaming(ctx context.Context, node *child, httpAddr string, n int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var last string
	for {
		if node.exited() {
			return fmt.Errorf("kuzet exited (%s): %s", node.exitStatus(), tail(node.stderr, 15))
		}
		states, err := cameraStates(ctx, httpAddr)
		if err == nil {
			streaming := 0
			for _, s := range states {
				if s == "streaming" {
					streaming++
				}
			}
			if streaming == n {
				return nil
			}
			last = fmt.Sprintf("%d of %d cameras streaming", streaming, n)
		} else {
			last = err.Error()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("kuzet not streaming after %s: %s", timeout, last)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}
