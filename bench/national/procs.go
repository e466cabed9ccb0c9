package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/kuzet/kuzet/bench/internal/procfs"
	"github.com/kuzet/kuzet/bench/internal/runctl"
	"github.com/kuzet/kuzet/pki"
)

// Centre, catalogue replicas and regions are this program re-executed with
// -role, so /proc shows each one's CPU and memory alone. They talk over a
// line protocol: one command line on stdin, one answer line on stdout (JSON,
// or "err ..."); a closed stdin makes them exit.

// child is one role process.
type child struct {
	name    string
	cmd     *exec.Cmd
	pid     int
	stdin   io.WriteCloser
	lines   chan string
	done    chan struct{}
	ready   string // what followed "ready " in its first line
	logPath string
	logFrom int64 // problems before this offset (start-up) are not counted
	mu      sync.Mutex
}

// startChild runs this program with args and waits (bounded) for its
// "ready ..." line. Its stderr goes to logPath.
func startChild(reg *runctl.Procs, name, logPath string, args ...string) (*child, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, args...)
	cmd.Stderr = logf
	cmd.Env = append(os.Environ(), "QUIC_GO_DISABLE_RECEIVE_BUFFER_WARNING=true")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		logf.Close()
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		logf.Close()
		return nil, err
	}
	// its own process group, so a terminal's Ctrl-C reaches only us and we
	// stop it in order; SIGKILL if we die without cleaning up
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := reg.Start(cmd); err != nil {
		logf.Close()
		return nil, err
	}
	c := &child{name: name, logPath: logPath, cmd: cmd, pid: cmd.Process.Pid, stdin: stdin, lines: make(chan string, 16), done: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 16<<20)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
		close(c.lines)
	}()
	go func() { _ = cmd.Wait(); logf.Close(); close(c.done) }()
	select {
	case line, ok := <-c.lines:
		if r, found := strings.CutPrefix(line, "ready "); ok && found {
			c.ready = r
			return c, nil
		}
		c.stop()
		return nil, fmt.Errorf("%s said %q instead of ready (see %s)", name, line, logPath)
	case <-time.After(60 * time.Second):
		c.stop()
		return nil, fmt.Errorf("%s not ready within 60 s (see %s)", name, logPath)
	}
}

// call sends one command and decodes the JSON answer into v (if not nil).
func (c *child) call(timeout time.Duration, v any, cmd ...string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, err := io.WriteString(c.stdin, strings.Join(cmd, " ")+"\n"); err != nil {
		return fmt.Errorf("%s: %w", c.name, err)
	}
	select {
	case line, ok := <-c.lines:
		if !ok {
			return fmt.Errorf("%s exited", c.name)
		}
		if msg, isErr := strings.CutPrefix(line, "err "); isErr {
			return fmt.Errorf("%s %s: %s", c.name, cmd[0], msg)
		}
		if v == nil {
			return nil
		}
		return json.Unmarshal([]byte(line), v)
	case <-time.After(timeout):
		return fmt.Errorf("%s did not answer %s within %v", c.name, cmd[0], timeout)
	}
}

// stop closes its stdin (it exits), SIGKILL after 15 s.
func (c *child) stop() {
	_ = c.stdin.Close()
	select {
	case <-c.done:
	case <-time.After(15 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
}

func (c *child) cpuTicks() (uint64, error) { return procfs.CPUTicks(strconv.Itoa(c.pid)) }

// pssKB is the proportional set size: private pages plus a share of those
// mapped by other processes too (libraries, page cache of mapped files).
func (c *child) pssKB() (uint64, error) {
	return procfs.KB(fmt.Sprintf("/proc/%d/smaps_rollup", c.pid), "Pss")
}

// peakRSSKB is VmHWM, the peak resident set since the process started.
func (c *child) peakRSSKB() (uint64, error) {
	return procfs.KB(fmt.Sprintf("/proc/%d/status", c.pid), "VmHWM")
}

// serveCommands is a role process's side of the protocol: it answers each
// command line with handle's value as JSON, until stdin closes.
func serveCommands(handle func(cmd string, args []string) (any, error)) {
	out := bufio.NewWriter(os.Stdout)
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		v, err := handle(f[0], f[1:])
		if err != nil {
			fmt.Fprintln(out, "err", strings.ReplaceAll(err.Error(), "\n", " "))
		} else {
			b, _ := json.Marshal(v)
			_, _ = out.Write(append(b, '\n'))
		}
		_ = out.Flush()
	}
}

// ready announces a role process's readiness, with its addresses.
func ready(format string, args ...any) {
	fmt.Printf("ready "+format+"\n", args...)
}

// roleLogger writes a role process's warnings and errors to its stderr,
// which is its log file in the temp dir; the run counts them at the end.
func roleLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// markLog starts counting the log's problems from here: Raft warns while
// the group forms, which is start-up, not load.
func (c *child) markLog() {
	if fi, err := os.Stat(c.logPath); err == nil {
		c.logFrom = fi.Size()
	}
}

// logProblems counts WARN and ERROR lines in the role logs after their
// marks and keeps the first few distinct messages.
func logProblems(procs []*child) (n int, first []string) {
	seen := map[string]bool{}
	for _, c := range procs {
		b, err := os.ReadFile(c.logPath)
		if err != nil || int64(len(b)) < c.logFrom {
			continue
		}
		p := c.logPath
		for line := range strings.Lines(string(b[c.logFrom:])) {
			if !strings.Contains(line, "level=WARN") && !strings.Contains(line, "level=ERROR") && !strings.HasPrefix(line, "bench ") {
				continue
			}
			n++
			msg := filepath.Base(p) + ": " + strings.TrimSpace(line)
			if _, rest, ok := strings.Cut(line, "msg="); ok {
				msg = filepath.Base(p) + ": " + strings.TrimSpace(rest)
			}
			if len(msg) > 200 {
				msg = msg[:200]
			}
			if key := msg[:min(len(msg), 80)]; !seen[key] && len(first) < 5 {
				seen[key] = true
				first = append(first, msg)
			}
		}
	}
	return n, first
}

var errUnknownCommand = errors.New("unknown command")

// Throw-away federation PKI: one CA, a certificate per node, issued in the
// measuring process; role processes load theirs from the directory.

func newCA(dir string) error { return pki.InitCA(dir, "bench national", 24*time.Hour) }

func issue(dir, id string) (*pki.Identity, error) {
	iss, err := pki.IssueNode(dir, id, dir, time.Time{}, 24*time.Hour)
	if err != nil {
		return nil, err
	}
	return pki.LoadIdentity(filepath.Join(dir, pki.CACertFile), iss.CertPath, iss.KeyPath, nil)
}

func loadIdentity(dir, id string) (*pki.Identity, error) {
	return pki.LoadIdentity(filepath.Join(dir, pki.CACertFile),
		filepath.Join(dir, id+".pem"), filepath.Join(dir, id+"-key.pem"), nil)
}
