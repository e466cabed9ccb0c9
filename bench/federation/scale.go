package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/federation"
	"github.com/kuzet/kuzet/pki"

	"github.com/kuzet/kuzet/bench/internal/procfs"
)

// scaleResult is part 3: one parent process, many children.
type scaleResult struct {
	Links          int     `json:"links"`
	Heartbeat      string  `json:"heartbeat"`
	EventEvery     string  `json:"event_every"`
	IssueS         float64 `json:"issue_certificates_s"`
	OpenLogsS      float64 `json:"open_child_logs_s"`
	LinkS          float64 `json:"all_linked_after_s"`
	ParentPID      int     `json:"parent_pid"`
	WindowS        float64 `json:"window_s"`
	LinkedStart    int     `json:"linked_at_window_start"`
	LinkedEnd      int     `json:"linked_at_window_end"`
	LinkDown       int     `json:"link_down_alarms_at_end"`
	MaxSilentS     int     `json:"max_silence_s_at_end"`
	CPUPct         float64 `json:"parent_cpu_pct_of_one_core"`
	CPUPctPerLink  float64 `json:"parent_cpu_pct_per_link"`
	PSSIdleKiB     uint64  `json:"parent_pss_kib_no_links"`
	PSSEndKiB      uint64  `json:"parent_pss_kib_window_end"`
	KiBPerLink     float64 `json:"parent_pss_kib_per_link"` // (end - no links) / links
	PeakRSSKiB     uint64  `json:"parent_peak_rss_kib"`
	HeapKiBPerLink float64 `json:"parent_go_heap_kib_per_link"`
	GoroutinesEnd  int     `json:"parent_goroutines"`
	RecvPerS       float64 `json:"events_stored_per_s"`
	SentPerS       float64 `json:"events_appended_per_s"`
	ChildrenCPUPct float64 `json:"children_process_cpu_pct"`
}

// parentProc is the scale run's parent, a re-exec of this program.
type parentProc struct {
	cmd   *exec.Cmd
	pid   int
	stdin io.WriteCloser
	lines chan string
	done  chan struct{}
	mu    sync.Mutex
}

func (b *bench) startParent(stateDir string) (*parentProc, string, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, "", err
	}
	cmd := exec.Command(exe, "-role", "parent", "-pki", b.pki.dir, "-state", stateDir)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, "", err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, "", err
	}
	// its own process group, so a terminal's Ctrl-C reaches only us and we
	// stop it in order; SIGKILL if we die without cleaning up (and its
	// stdin closes then too, which also ends it)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := b.reg.Start(cmd); err != nil {
		return nil, "", err
	}
	p := &parentProc{cmd: cmd, pid: cmd.Process.Pid, stdin: stdin, lines: make(chan string, 16), done: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
		close(p.lines)
	}()
	go func() { _ = cmd.Wait(); close(p.done) }()
	select {
	case line, ok := <-p.lines:
		if addr, found := strings.CutPrefix(line, "addr "); ok && found {
			return p, addr, nil
		}
		p.stop()
		return nil, "", fmt.Errorf("parent process said %q instead of its address", line)
	case <-time.After(15 * time.Second):
		p.stop()
		return nil, "", errors.New("parent process did not report its address within 15 s")
	}
}

func (p *parentProc) stat() (parentStat, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var st parentStat
	if _, err := io.WriteString(p.stdin, "stat\n"); err != nil {
		return st, fmt.Errorf("parent process: %w", err)
	}
	select {
	case line, ok := <-p.lines:
		if !ok {
			return st, errors.New("parent process exited")
		}
		return st, json.Unmarshal([]byte(line), &st)
	case <-time.After(10 * time.Second):
		return st, errors.New("parent process did not answer stat within 10 s")
	}
}

// stop closes the parent's stdin (it exits), SIGKILL after 10 s.
func (p *parentProc) stop() {
	_ = p.stdin.Close()
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

func (p *parentProc) cpuTicks() (uint64, error) { return procfs.CPUTicks(strconv.Itoa(p.pid)) }

func (b *bench) runScale(ctx context.Context) (res *scaleResult, err error) {
	L := b.o.links
	res = &scaleResult{Links: L, Heartbeat: b.o.heartbeat.String(), EventEvery: b.o.eventEvery.String()}
	dir, err := os.MkdirTemp(b.root, "scale-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	stateDir, kidsDir := filepath.Join(dir, "region"), filepath.Join(dir, "children")
	for _, d := range []string{stateDir, kidsDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}

	t0 := time.Now()
	ids := make([]string, L)
	idents := make([]*pki.Identity, L)
	for i := range L {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		ids[i] = fmt.Sprintf("sim-%04d", i+1)
		if idents[i], err = b.pki.identity(ids[i]); err != nil {
			return nil, err
		}
	}
	res.IssueS = time.Since(t0).Seconds()

	t0 = time.Now()
	logs := make([]*event.Log, 0, L)
	defer func() {
		for _, l := range logs {
			_ = l.Close()
		}
	}()
	for i := range L {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		l, err := event.OpenLog(filepath.Join(kidsDir, ids[i]+".db"), ids[i], nil)
		if err != nil {
			return nil, err
		}
		logs = append(logs, l)
	}
	res.OpenLogsS = time.Since(t0).Seconds()

	p, addr, err := b.startParent(stateDir)
	if err != nil {
		return nil, err
	}
	defer p.stop()
	res.ParentPID = p.pid
	if err := sleepCtx(ctx, time.Second); err != nil {
		return nil, err
	}
	idle, err := p.stat()
	if err != nil {
		return nil, err
	}
	if res.PSSIdleKiB, err = pssKB(p.pid); err != nil {
		return nil, err
	}

	// the children, started over a second or two so the handshakes spread
	cctx, stopKids := context.WithCancel(context.Background())
	var kidsWG sync.WaitGroup
	defer func() {
		stopKids()
		waited := make(chan struct{})
		go func() { kidsWG.Wait(); close(waited) }()
		select {
		case <-waited:
		case <-time.After(20 * time.Second):
			fmt.Fprintln(os.Stderr, "bench: simulated children did not stop within 20 s")
		}
	}()
	t0 = time.Now()
	stagger := min(4*time.Millisecond, 2*time.Second/time.Duration(L))
	clients := make([]*federation.Client, L)
	for i := range L {
		clients[i] = federation.NewClient(federation.ClientOptions{Upstream: []string{addr}, Identity: idents[i],
			Log: logs[i], Heartbeat: b.o.heartbeat, BackoffMax: 2 * time.Second})
		kidsWG.Add(1)
		go func() { defer kidsWG.Done(); clients[i].Run(cctx) }()
		if err := sleepCtx(ctx, stagger); err != nil {
			return nil, err
		}
	}
	linkTimeout := 30*time.Second + time.Duration(L)*50*time.Millisecond
	var st parentStat
	err = waitFor(ctx, linkTimeout, fmt.Sprintf("%d children to link", L), func() bool {
		time.Sleep(200 * time.Millisecond)
		s, serr := p.stat()
		st = s
		return serr == nil && s.Connected == L
	})
	if err != nil {
		return nil, fmt.Errorf("%w (%d linked)", err, st.Connected)
	}
	res.LinkS = time.Since(t0).Seconds()

	// each child appends an ordinary event every eventEvery, phases spread
	var sent atomic.Uint64
	var appendErr atomic.Value
	for i := range L {
		kidsWG.Add(1)
		go func() {
			defer kidsWG.Done()
			if sleepCtx(cctx, rand.N(b.o.eventEvery)) != nil {
				return
			}
			t := time.NewTicker(b.o.eventEvery)
			defer t.Stop()
			for n := 0; ; n++ {
				if _, err := logs[i].Append(event.New("bench.tick", "Camera1", event.SeverityInfo, map[string]int{"n": n})); err != nil {
					appendErr.CompareAndSwap(nil, err)
				} else {
					sent.Add(1)
				}
				select {
				case <-cctx.Done():
					return
				case <-t.C:
				}
			}
		}()
	}
	if err := sleepCtx(ctx, b.o.eventEvery+b.o.warmup); err != nil {
		return nil, err
	}

	st0, err := p.stat()
	if err != nil {
		return nil, err
	}
	cpu0, err := p.cpuTicks()
	if err != nil {
		return nil, err
	}
	self0, _ := procfs.CPUTicks("self")
	sent0, w0 := sent.Load(), time.Now()
	if err := sleepCtx(ctx, b.o.window); err != nil {
		return nil, err
	}
	cpu1, err := p.cpuTicks()
	if err != nil {
		return nil, err
	}
	self1, _ := procfs.CPUTicks("self")
	sent1, el := sent.Load(), time.Since(w0).Seconds()
	st1, err := p.stat()
	if err != nil {
		return nil, err
	}
	if res.PSSEndKiB, err = pssKB(p.pid); err != nil {
		return nil, err
	}
	res.PeakRSSKiB, _ = peakRSSKB(p.pid)
	if v := appendErr.Load(); v != nil {
		return nil, fmt.Errorf("child append: %w", v.(error))
	}

	res.WindowS = el
	res.LinkedStart, res.LinkedEnd, res.LinkDown, res.MaxSilentS = st0.Connected, st1.Connected, st1.Down, st1.MaxSilentS
	res.CPUPct = float64(cpu1-cpu0) / b.clk / el * 100
	res.CPUPctPerLink = res.CPUPct / float64(L)
	res.ChildrenCPUPct = float64(self1-self0) / b.clk / el * 100
	res.KiBPerLink = (float64(res.PSSEndKiB) - float64(res.PSSIdleKiB)) / float64(L)
	res.HeapKiBPerLink = (float64(st1.HeapInuse) - float64(idle.HeapInuse)) / 1024 / float64(L)
	res.GoroutinesEnd = st1.Goroutines
	res.RecvPerS = float64(st1.Events-st0.Events) / el
	res.SentPerS = float64(sent1-sent0) / el
	return res, nil
}
