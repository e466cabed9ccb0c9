// Command plugins measures what analytics plugins cost a site's ingest:
// one `kuzet run` records test cameras for a window without plugins, then
// again with the two example plugins of sdk/ on every camera beside four
// that misbehave (one that dies in a loop, one that never reads its
// frames, one that floods events, one that posts malformed ones). It
// prints frames recorded per second, frames consumers could not take,
// the site's CPU, and what the plugins got and what was refused.
//
//	go run ./bench/plugins -kuzet bin/kuzet
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/kuzet/kuzet/bench/internal/procfs"
	"github.com/kuzet/kuzet/internal/testkit"
	"github.com/kuzet/kuzet/testcam"
)

func main() {
	if mode := os.Getenv("KUZET_BENCH_PLUGIN"); mode != "" {
		os.Exit(testkit.MisbehavingPlugin(mode))
	}
	kuzet := flag.String("kuzet", "bin/kuzet", "the kuzet binary")
	cams := flag.Int("cameras", 2, "test cameras at the site")
	window := flag.Duration("window", 20*time.Second, "measuring window of each phase")
	flag.Parse()
	if err := run(*kuzet, *cams, *window); err != nil {
		fmt.Fprintln(os.Stderr, "bench/plugins:", err)
		os.Exit(1)
	}
}

// phase is one measured window.
type phase struct {
	FramesPerSec float64
	Dropped      float64 // units consumers could not take
	CPU          float64 // of one core: the node
	ChildCPU     float64 // its children: decoders and plugins
	Plugins      []pluginStatus
	Alarms       []string
}

type pluginStatus struct {
	Name          string `json:"name"`
	State         string `json:"state"`
	Restarts      int    `json:"restarts"`
	FramesSent    uint64 `json:"frames_sent"`
	FramesDropped uint64 `json:"frames_dropped"`
	EventsStored  uint64 `json:"events_stored"`
	EventsRefused uint64 `json:"events_refused"`
}

func run(kuzet string, cams int, window time.Duration) error {
	root, err := testkit.ModuleRoot()
	if err != nil {
		return err
	}
	kuzet, _ = filepath.Abs(kuzet)
	dir, err := os.MkdirTemp("", "kzb")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	color := filepath.Join(dir, "colorchange")
	build := exec.Command("go", "build", "-o", color, "./examples/colorchange")
	build.Dir = filepath.Join(root, "sdk")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("build the example plugin: %v\n%s", err, out)
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	src, err := testcam.Start(testcam.Options{Listen: "127.0.0.1:0", DisableUDP: true, Cameras: cams})
	if err != nil {
		return err
	}
	defer src.Close()
	var ids []string
	var cameras strings.Builder
	for i := 1; i <= cams; i++ {
		id := fmt.Sprintf("Camera%d", i)
		ids = append(ids, id)
		fmt.Fprintf(&cameras, "  - {id: %s, url: %q}\n", id, src.URL(fmt.Sprintf("cam%d", i)))
	}
	granted := "[" + strings.Join(ids, ", ") + "]"
	plugins := fmt.Sprintf(`plugins:
  - {name: colorchange, command: %[1]s, args: ["-threshold", "20"], cameras: %[2]s, frames: {fps: 2, width: 320, height: 180, format: rgb24}}
  - {name: linecount, command: %[3]s, args: [%[4]q], cameras: %[2]s, frames: {fps: 5, width: 320, height: 180}}
  - {name: dies, command: %[5]s, env: [KUZET_BENCH_PLUGIN=crash]}
  - {name: noread, command: %[5]s, env: [KUZET_BENCH_PLUGIN=noread], cameras: %[2]s, frames: {fps: 10}}
  - {name: flood, command: %[5]s, env: [KUZET_BENCH_PLUGIN=flood], limits: {events_per_minute: 600}}
  - {name: garbled, command: %[5]s, env: [KUZET_BENCH_PLUGIN=garbled]}
`, color, granted, "node", filepath.Join(root, "sdk/examples/node/linecount.js"), self)

	fmt.Printf("plugins: a site recording %d test cameras (720p25), %v per phase; machine load %s\n", cams, window, procfs.LoadAvg())
	before, err := measure(kuzet, filepath.Join(dir, "before"), cameras.String(), "", window)
	if err != nil {
		return fmt.Errorf("without plugins: %w", err)
	}
	during, err := measure(kuzet, filepath.Join(dir, "during"), cameras.String(), plugins, window)
	if err != nil {
		return fmt.Errorf("with plugins: %w", err)
	}
	fmt.Printf("  %-40s %10s %10s\n", "", "without", "with")
	fmt.Printf("  %-40s %10.1f %10.1f  (x%.3f)\n", "frames recorded per second", before.FramesPerSec, during.FramesPerSec, during.FramesPerSec/before.FramesPerSec)
	fmt.Printf("  %-40s %10.0f %10.0f\n", "units consumers could not take", before.Dropped, during.Dropped)
	fmt.Printf("  %-40s %9.0f%% %9.0f%%\n", "site process CPU (one core = 100%)", 100*before.CPU, 100*during.CPU)
	fmt.Printf("  %-40s %9.0f%% %9.0f%%\n", "its children's CPU (decoders, plugins)", 100*before.ChildCPU, 100*during.ChildCPU)
	for _, p := range during.Plugins {
		fmt.Printf("  plugin %-10s %-10s restarts %3d  frames sent %5d dropped %5d  events stored %5d refused %5d\n",
			p.Name, p.State, p.Restarts, p.FramesSent, p.FramesDropped, p.EventsStored, p.EventsRefused)
	}
	fmt.Printf("  alarms raised with plugins: %s\n", strings.Join(during.Alarms, ", "))
	return nil
}

// measure runs the site for a warm-up and a window and reads its figures.
func measure(kuzet, data, cameras, plugins string, window time.Duration) (phase, error) {
	var p phase
	if err := os.MkdirAll(data, 0o755); err != nil {
		return p, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return p, err
	}
	addr := l.Addr().String()
	l.Close()
	cfg := fmt.Sprintf("node: {id: site, data_dir: %s}\nhttp: {listen: %q}\narchive: {segment: 10s, min_free_gb: 0}\ncameras:\n%s%s", data, addr, cameras, plugins)
	conf := filepath.Join(data, "node.yaml")
	if err := os.WriteFile(conf, []byte(cfg), 0o644); err != nil {
		return p, err
	}
	logf, err := os.Create(filepath.Join(data, "node.log"))
	if err != nil {
		return p, err
	}
	defer logf.Close()
	cmd := exec.Command(kuzet, "run", "-c", conf)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return p, err
	}
	defer func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	}()
	base := "http://" + addr
	deadline := time.Now().Add(30 * time.Second)
	for {
		if frames, err := metric(base, "kuzet_recorder_frames_written_total"); err == nil && frames > 0 {
			break
		}
		if time.Now().After(deadline) {
			return p, fmt.Errorf("the site records nothing after 30 s (log %s)", logf.Name())
		}
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(5 * time.Second) // plugins up, decoders warm
	pid := strconv.Itoa(cmd.Process.Pid)
	f0, _ := metric(base, "kuzet_recorder_frames_written_total")
	d0, _ := metric(base, "kuzet_camera_frames_dropped_total")
	c0, _ := procfs.CPUTicks(pid)
	k0 := childTicks(pid)
	t0 := time.Now()
	time.Sleep(window)
	f1, _ := metric(base, "kuzet_recorder_frames_written_total")
	d1, _ := metric(base, "kuzet_camera_frames_dropped_total")
	c1, _ := procfs.CPUTicks(pid)
	k1 := childTicks(pid)
	secs := time.Since(t0).Seconds()
	p.FramesPerSec, p.Dropped = (f1-f0)/secs, d1-d0
	p.CPU = float64(c1-c0) / procfs.ClockTicks() / secs
	var kids uint64
	for c, t := range k1 {
		kids += t - min(t, k0[c])
	}
	p.ChildCPU = float64(kids) / procfs.ClockTicks() / secs
	if plugins != "" {
		if err := getJSON(base+"/api/v1/plugins", &p.Plugins); err != nil {
			return p, err
		}
		var alarms []struct {
			Type string `json:"type"`
			Key  string `json:"key"`
		}
		_ = getJSON(base+"/api/v1/alarms", &alarms)
		for _, a := range alarms {
			if strings.HasPrefix(a.Type, "plugin") {
				p.Alarms = append(p.Alarms, a.Key)
			}
		}
	}
	return p, nil
}

// childTicks is the CPU ticks of every live descendant of pid, by PID.
func childTicks(pid string) map[string]uint64 {
	parent := map[string]string{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) > 1 {
			parent[e.Name()] = f[1]
		}
	}
	out := map[string]uint64{}
	for c := range parent {
		for p := parent[c]; p != "" && p != "0" && p != "1"; p = parent[p] {
			if p == pid {
				if t, err := procfs.CPUTicks(c); err == nil {
					out[c] = t
				}
				break
			}
		}
	}
	return out
}

// metric sums a counter's series on /metrics.
func metric(base, name string) (float64, error) {
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var sum float64
	found := false
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name) || (len(line) > len(name) && line[len(name)] != '{' && line[len(name)] != ' ') {
			continue
		}
		f := strings.Fields(line)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err == nil {
			sum, found = sum+v, true
		}
	}
	if !found {
		return 0, fmt.Errorf("%s: not on /metrics", name)
	}
	return sum, nil
}

func getJSON(url string, v any) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}
