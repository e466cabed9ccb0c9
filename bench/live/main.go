// Command live measures the live view on loopback: the latency from a
// camera sending a frame to a player holding the LL-HLS part with it, for
// a player that follows the playlist like hls.js and for a naive one, and
// the node's CPU with many concurrent viewers of one camera. The camera
// (testcam + a publisher that stamps each frame's send time) and the
// players run in child processes, so the CPU figure is the node's own.
// It prints figures, not verdicts.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/kuzet/kuzet/bench/internal/procfs"
	"github.com/kuzet/kuzet/live/livetest"
)

func main() {
	role := flag.String("role", "", "internal: camera | viewers (child processes)")
	fpsList := flag.String("fps", "25,30", "camera frame rates of the latency runs (GOP is always 25 frames)")
	window := flag.Duration("window", 15*time.Second, "measuring window of each run")
	warmup := flag.Duration("warmup", 3*time.Second, "players run this long before figures count")
	viewers := flag.Int("viewers", 50, "concurrent hls.js players in the load run (0 skips it)")
	part := flag.Duration("part", 200*time.Millisecond, "live.part")
	segment := flag.Duration("segment", time.Second, "live.segment")
	jsonPath := flag.String("json", "", "also write the figures as JSON to this file")
	// child flags
	camFPS := flag.Int("camera-fps", 25, "internal")
	base := flag.String("base", "", "internal")
	n := flag.Int("n", 1, "internal")
	modes := flag.String("modes", "hls.js,naive", "internal")
	flag.Parse()

	var err error
	switch *role {
	case "camera":
		err = runCamera(*camFPS)
	case "viewers":
		var ms []livetest.Mode
		for _, m := range strings.Split(*modes, ",") {
			switch m {
			case "hls.js":
				ms = append(ms, livetest.HLSJS)
			case "naive":
				ms = append(ms, livetest.Naive)
			default:
				err = fmt.Errorf("-modes: unknown player %q", m)
			}
		}
		if err == nil {
			err = runViewers(*base, *n, ms, *warmup, *window)
		}
	case "":
		err = run(*fpsList, *window, *warmup, *viewers, *part, *segment, *jsonPath)
	default:
		err = fmt.Errorf("-role %q: want camera or viewers", *role)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench/live:", err)
		os.Exit(1)
	}
}

type latencyRun struct {
	FPS     int                   `json:"fps"`
	Players map[string]*modeStats `json:"players"`
}

type loadRun struct {
	FPS           int        `json:"fps"`
	Viewers       int        `json:"viewers"`
	IdleCPUPct    float64    `json:"node_cpu_pct_no_viewers"`
	LoadCPUPct    float64    `json:"node_cpu_pct"`
	NodeRSSMiB    float64    `json:"node_rss_mib"`
	ViewersCPUPct float64    `json:"viewer_processes_cpu_pct"`
	Players       *modeStats `json:"players"`
}

type report struct {
	StartedAt time.Time     `json:"started_at"`
	Host      procfs.Host   `json:"host"`
	Cores     int           `json:"cores"`
	LoadStart string        `json:"loadavg_start"`
	LoadEnd   string        `json:"loadavg_end"`
	Part      string        `json:"part"`
	Segment   string        `json:"segment"`
	Window    string        `json:"window"`
	Latency   []*latencyRun `json:"latency"`
	Load      *loadRun      `json:"load,omitempty"`
}

func run(fpsList string, window, warmup time.Duration, viewers int, part, segment time.Duration, jsonPath string) error {
	rep := &report{StartedAt: time.Now().UTC(), Host: procfs.ReadHost(), Cores: runtime.NumCPU(),
		LoadStart: procfs.LoadAvg(), Part: part.String(), Segment: segment.String(), Window: window.String()}
	clk := procfs.ClockTicks()
	var fpss []int
	for _, f := range strings.Split(fpsList, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || v < 1 || v > 120 {
			return fmt.Errorf("-fps %q: want frame rates between 1 and 120", fpsList)
		}
		fpss = append(fpss, v)
	}
	for i, fps := range fpss {
		cam, url, err := startCamera(fps)
		if err != nil {
			return err
		}
		nd, err := startNode(url, part, segment)
		if err != nil {
			cam.stop()
			return err
		}
		lr := &latencyRun{FPS: fps}
		var v *viewerRun
		v, err = startViewers(nd.base, 1, "hls.js,naive", warmup, window)
		if err == nil {
			_, err = v.wait(&lr.Players)
		}
		if err == nil && i == 0 && viewers > 0 {
			rep.Load, err = loadPhase(nd, fps, viewers, warmup, window, clk)
		}
		nd.stop()
		cam.stop()
		if err != nil {
			return err
		}
		rep.Latency = append(rep.Latency, lr)
	}
	rep.LoadEnd = procfs.LoadAvg()
	printReport(rep)
	if jsonPath != "" {
		b, _ := json.MarshalIndent(rep, "", "  ")
		if err := os.WriteFile(jsonPath, append(b, '\n'), 0o644); err != nil {
			return fmt.Errorf("write %s: %w", jsonPath, err)
		}
	}
	return nil
}

// loadPhase measures the node without viewers (its live muxer stopped),
// then with n hls.js players of the camera.
func loadPhase(nd *node, fps, n int, warmup, window time.Duration, clk float64) (*loadRun, error) {
	lr := &loadRun{FPS: fps, Viewers: n}
	// the latency players just left: wait for the muxer to stop
	if err := nd.waitIdle(30 * time.Second); err != nil {
		return nil, err
	}
	t0, err := procfs.CPUTicks("self")
	if err != nil {
		return nil, err
	}
	start := time.Now()
	time.Sleep(window / 2)
	t1, _ := procfs.CPUTicks("self")
	lr.IdleCPUPct = float64(t1-t0) / clk / time.Since(start).Seconds() * 100

	v, err := startViewers(nd.base, n, "hls.js", warmup, window)
	if err != nil {
		return nil, err
	}
	var players map[string]*modeStats
	cpu, err := v.wait(&players)
	if err != nil {
		return nil, err
	}
	lr.LoadCPUPct = cpu.node
	lr.ViewersCPUPct = cpu.child
	lr.Players = players["hls.js"]
	if kb, err := procfs.KB("/proc/self/status", "VmRSS"); err == nil {
		lr.NodeRSSMiB = float64(kb) / 1024
	}
	return lr, nil
}

// child is a child process of this program.
type child struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Reader
}

func startChild(args ...string) (*child, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	c := &child{cmd: exec.Command(self, args...)}
	c.cmd.Stderr = os.Stderr
	if c.stdin, err = c.cmd.StdinPipe(); err != nil {
		return nil, err
	}
	stdout, err := c.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	c.out = bufio.NewReader(stdout)
	if err := c.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %v: %w", args, err)
	}
	return c, nil
}

// stop closes the child's stdin and waits; it kills the child (by PID)
// if it does not leave within 10 s.
func (c *child) stop() {
	c.stdin.Close()
	done := make(chan struct{})
	go func() { _ = c.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = c.cmd.Process.Kill()
		<-done
	}
}

func startCamera(fps int) (*child, string, error) {
	c, err := startChild("-role", "camera", "-camera-fps", strconv.Itoa(fps))
	if err != nil {
		return nil, "", err
	}
	url, err := c.out.ReadString('\n')
	if err != nil {
		c.stop()
		return nil, "", fmt.Errorf("camera process: %w", err)
	}
	return c, strings.TrimSpace(url), nil
}

type viewerRun struct {
	c   *child
	clk float64
}

func startViewers(base string, n int, modes string, warmup, window time.Duration) (*viewerRun, error) {
	c, err := startChild("-role", "viewers", "-base", base, "-n", strconv.Itoa(n), "-modes", modes,
		"-warmup", warmup.String(), "-window", window.String())
	if err != nil {
		return nil, err
	}
	return &viewerRun{c: c, clk: procfs.ClockTicks()}, nil
}

type cpuFigures struct{ node, child float64 }

// wait reads the viewers' figures into out and returns the node's and
// the viewer process's CPU over the measuring window.
func (v *viewerRun) wait(out *map[string]*modeStats) (cpuFigures, error) {
	defer v.c.stop()
	var fig cpuFigures
	line, err := v.c.out.ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "measuring" {
		return fig, fmt.Errorf("viewers process: %q %v", line, err)
	}
	pid := strconv.Itoa(v.c.cmd.Process.Pid)
	n0, _ := procfs.CPUTicks("self")
	c0, _ := procfs.CPUTicks(pid)
	start := time.Now()
	line, err = v.c.out.ReadString('\n')
	elapsed := time.Since(start).Seconds()
	n1, _ := procfs.CPUTicks("self")
	c1, _ := procfs.CPUTicks(pid)
	if err != nil {
		return fig, fmt.Errorf("viewers process: %w", err)
	}
	if err := json.Unmarshal([]byte(line), out); err != nil {
		return fig, fmt.Errorf("viewers process said %q: %w", line, err)
	}
	fig.node = float64(n1-n0) / v.clk / elapsed * 100
	fig.child = float64(c1-c0) / v.clk / elapsed * 100
	return fig, nil
}

func printReport(r *report) {
	fmt.Printf("Live view benchmark, %s (%d cores), load average %s at start, %s at end\n",
		r.Host.CPUModel, r.Cores, r.LoadStart, r.LoadEnd)
	fmt.Printf("live.part %s, live.segment %s, window %s; GOP 25 frames; loopback\n\n", r.Part, r.Segment, r.Window)
	fmt.Println("Latency: camera sends a frame -> player has downloaded the part holding it")
	fmt.Printf("%-4s %-7s %7s %7s %9s %9s %9s %s\n", "fps", "player", "parts", "frames", "median", "p95", "max", "segment-end requests (held)")
	for _, lr := range r.Latency {
		for _, mode := range []string{"hls.js", "naive"} {
			st := lr.Players[mode]
			if st == nil {
				continue
			}
			seg := "-"
			if mode == "naive" {
				seg = fmt.Sprintf("%d (%d), longest wait %.0f ms", st.Boundaries, st.BoundaryHeld, st.BoundaryMaxMS)
			}
			fmt.Printf("%-4d %-7s %7d %7d %6.0f ms %6.0f ms %6.0f ms %s%s\n", lr.FPS, mode, st.Parts, st.Frames,
				st.MedianMS, st.P95MS, st.MaxMS, seg, errNote(st))
		}
	}
	if l := r.Load; l != nil {
		st := l.Players
		fmt.Printf("\n%d hls.js viewers of one camera at %d fps\n", l.Viewers, l.FPS)
		fmt.Printf("  node CPU: %.1f%% of one core with no viewer (muxer stopped), %.1f%% with %d viewers; RSS %.0f MiB\n",
			l.IdleCPUPct, l.LoadCPUPct, l.Viewers, l.NodeRSSMiB)
		fmt.Printf("  viewer processes: %.1f%% CPU (they share the machine)\n", l.ViewersCPUPct)
		if st != nil {
			fmt.Printf("  latency over %d frames: median %.0f ms, p95 %.0f ms, max %.0f ms%s\n",
				st.Frames, st.MedianMS, st.P95MS, st.MaxMS, errNote(st))
		}
	}
}

func errNote(st *modeStats) string {
	if st.Errors == 0 {
		return ""
	}
	return fmt.Sprintf("  [%d player errors, first: %s]", st.Errors, st.FirstError)
}

var errNotReady = errors.New("live view did not start")
