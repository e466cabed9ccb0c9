package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// reaper owns every child process and temp dir the benchmark creates, so
// that one call (from main's defer, the signal handler or the overall
// deadline) can tear everything down whatever path we leave by.
type reaper struct {
	keep bool

	mu       sync.Mutex
	children map[*child]struct{}
	dirs     []string
	once     sync.Once
}

func newReaper(keep bool) *reaper {
	return &reaper{keep: keep, children: make(map[*child]struct{})}
}

// child is a started process. done is closed once Wait has returned.
type child struct {
	name   string
	cmd    *exec.Cmd
	pid    int
	done   chan struct{}
	err    error // from Wait; read only after done is closed
	stderr string

	stopMu   sync.Mutex  // serialises stop
	stopped  atomic.Bool // group already swept: never signal a reaped pid again
	graceful bool        // guarded by stopMu
}

// start runs argv with stdout and stderr sent to files, in its own process
// group (so a terminal's Ctrl-C reaches only us and we decide the order of
// shutdown) and with SIGKILL as parent-death signal (the safety net if the
// benchmark itself is killed hard and none of our cleanup runs).
func (r *reaper) start(name, stdoutPath, stderrPath string, argv ...string) (*child, error) {
	outF, err := os.Create(stdoutPath)
	if err != nil {
		return nil, err
	}
	defer outF.Close()
	errF, err := os.Create(stderrPath)
	if err != nil {
		return nil, err
	}
	defer errF.Close()

	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin = nil
	cmd.Stdout = outF
	cmd.Stderr = errF
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}

	r.mu.Lock()
	defer r.mu.Unlock()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	c := &child{name: name, cmd: cmd, pid: cmd.Process.Pid, done: make(chan struct{}), stderr: stderrPath}
	go func() {
		c.err = cmd.Wait()
		close(c.done)
	}()
	r.children[c] = struct{}{}
	return c, nil
}

// exited reports whether the process has ended.
func (c *child) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// stop sends sig to the process, waits up to grace for it to exit and then
// SIGKILLs its whole group. It reports whether the exit was graceful, and
// the Wait error.
func (c *child) stop(sig syscall.Signal, grace time.Duration) (graceful bool, err error) {
	c.stopMu.Lock()
	defer c.stopMu.Unlock()
	if c.stopped.Load() {
		return c.graceful, c.err
	}
	if !c.exited() {
		_ = syscall.Kill(c.pid, sig)
	}
	select {
	case <-c.done:
		graceful = true
	case <-time.After(grace):
		_ = syscall.Kill(-c.pid, syscall.SIGKILL)
		<-c.done
	}
	// Leftover members of its group (e.g. helpers it spawned) go too.
	_ = syscall.Kill(-c.pid, syscall.SIGKILL)
	c.graceful = graceful
	c.stopped.Store(true)
	return graceful, c.err
}

// exitStatus describes how a stopped child ended, for the report.
func (c *child) exitStatus() string {
	<-c.done
	if c.err == nil {
		return "exit 0"
	}
	var ee *exec.ExitError
	if errors.As(c.err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return "killed by " + ws.Signal().String()
		}
		return fmt.Sprintf("exit %d", ee.ExitCode())
	}
	return c.err.Error()
}

// tempDir makes a directory that cleanup removes unless -keep.
func (r *reaper) tempDir(base, pattern string) (string, error) {
	d, err := os.MkdirTemp(base, pattern)
	if err != nil {
		return "", err
	}
	r.mu.Lock()
	r.dirs = append(r.dirs, d)
	r.mu.Unlock()
	return d, nil
}

// cleanup kills every child still running and removes the temp dirs. It
// runs once; a concurrent second caller waits for the first to finish.
func (r *reaper) cleanup() {
	r.once.Do(func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		for c := range r.children {
			// A stop in progress may be in its grace period: do not wait
			// for it, just kill while the leader is still unreaped.
			if !c.stopped.Load() && !c.exited() {
				_ = syscall.Kill(-c.pid, syscall.SIGKILL)
			}
		}
		for c := range r.children {
			select {
			case <-c.done:
			case <-time.After(5 * time.Second):
				fmt.Fprintf(os.Stderr, "bench: %s (pid %d) did not die after SIGKILL\n", c.name, c.pid)
			}
		}
		for _, d := range r.dirs {
			if r.keep {
				fmt.Fprintln(os.Stderr, "bench: kept", d)
				continue
			}
			_ = os.RemoveAll(d)
		}
	})
}
