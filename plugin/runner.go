package plugin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/kuzet/kuzet/event"
)

// Status is one plugin as GET /api/v1/plugins shows it.
type Status struct {
	Name          string    `json:"name"`
	State         string    `json:"state"` // starting | running | restarting | failed | stopped
	PID           int       `json:"pid,omitempty"`
	Started       time.Time `json:"started,omitzero"`
	Restarts      int       `json:"restarts"`
	FramesSent    uint64    `json:"frames_sent"`
	FramesDropped uint64    `json:"frames_dropped"`
	EventsStored  uint64    `json:"events_stored"`
	EventsRefused uint64    `json:"events_refused"`
	LastError     string    `json:"last_error,omitempty"`
	Stderr        []string  `json:"stderr"` // its last lines
	Cameras       []string  `json:"cameras"`
	Remote        bool      `json:"remote,omitempty"`  // it runs elsewhere and connects over mutual TLS
	Address       string    `json:"address,omitempty"` // where a remote plugin connected from last
}

// Alarm types about plugins.
const (
	AlarmFailed      = "plugin_failed"
	AlarmMisbehaving = "plugin_misbehaving"
	AlarmStalled     = "plugin_stalled" // it holds a frame stream open and reads nothing
)

// runner serves one plugin's socket and supervises its process.
type runner struct {
	m    *Manager
	spec Spec
	sock string
	rate *bucket
	// posting bounds a plugin's posts under way
	posting chan struct{}
	// restart asks for the process to be started again now (an operator's)
	restart chan struct{}

	mu                         sync.Mutex
	st                         Status
	exits                      []time.Time // recent exits, for the failed alarm
	failed                     bool        // plugin_failed raised
	misbehaving                bool        // plugin_misbehaving raised
	malformed                  []time.Time
	stderr                     *lines
	mux                        http.Handler // the protocol
	conns                      int          // a remote plugin's open connections
	frameStreams, eventStreams int          // open now
	lastSeen                   time.Time    // a remote plugin's last request or connection
}

func newRunner(m *Manager, s Spec) *runner {
	r := &runner{m: m, spec: s, sock: filepath.Join(m.o.Dir, s.Name+".sock"),
		rate:    newBucket(float64(s.Limits.EventsPerMinute), time.Minute, m.o.Now),
		posting: make(chan struct{}, 4), restart: make(chan struct{}, 1),
		st:     Status{Name: s.Name, State: "starting", Stderr: []string{}, Cameras: s.Cameras},
		stderr: newLines(30)}
	if s.Remote { // no process: it comes (or is dialled) over the network
		r.st.State, r.st.Remote, r.st.Address = "waiting", true, s.Connect
	}
	r.mux = r.routes()
	return r
}

func (r *runner) status() Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.st
	st.Stderr = r.stderr.last()
	return st
}

func (r *runner) update(f func(*Status)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f(&r.st)
}

func (r *runner) log() *slog.Logger { return r.m.o.Logger.With("plugin", r.spec.Name) }

// run serves the socket and keeps the process up until ctx ends.
func (r *runner) run(ctx context.Context) {
	if r.spec.Remote && r.spec.Connect != "" {
		r.dialOut(ctx)
		return
	}
	if r.spec.Remote {
		r.runRemote(ctx)
		return
	}
	log := r.log()
	if len(r.sock) > 104 {
		err := fmt.Errorf("socket path %s is longer than a Unix socket's 104 bytes: use a shorter node.data_dir", r.sock)
		r.update(func(s *Status) { s.State, s.LastError = "failed", err.Error() })
		log.Error("listen", "err", err)
		return
	}
	_ = os.Remove(r.sock) // a socket left by an earlier run
	l, err := net.Listen("unix", r.sock)
	if err != nil {
		r.update(func(s *Status) { s.State, s.LastError = "failed", err.Error() })
		log.Error("listen", "socket", r.sock, "err", err)
		return
	}
	// only the node's user reaches it: the plugin runs as that user
	if err := os.Chmod(r.sock, 0o600); err != nil {
		log.Warn("socket mode", "err", err)
	}
	// the path is removed here, once the server is gone: a listener that
	// unlinked it when closed late would take the next run's socket
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	srv := &http.Server{Handler: r.mux, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.Serve(limitConns(l, maxConns))
	}()
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		_ = srv.Close()
		<-served
		_ = os.Remove(r.sock)
	}()
	backoff := r.m.o.Backoff
	for ctx.Err() == nil {
		started := r.m.o.Now()
		err := r.runOnce(ctx)
		if ctx.Err() != nil {
			break
		}
		if errors.Is(err, errRestarted) {
			backoff = r.m.o.Backoff
			continue
		}
		ran := r.m.o.Now().Sub(started)
		if ran >= r.m.o.FailWindow {
			backoff = r.m.o.Backoff
		}
		r.exited(err, backoff)
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
			backoff = min(backoff*2, r.m.o.MaxBackoff)
		case <-r.restart:
			backoff = r.m.o.Backoff
		}
	}
	r.update(func(s *Status) { s.State, s.PID = "stopped", 0 })
	r.m.o.Metrics.Up.WithLabelValues(r.spec.Name).Set(0)
}

// runOnce starts the process under its limits and waits for it.
func (r *runner) runOnce(ctx context.Context) error {
	cmd := exec.Command(r.spec.Command, r.spec.Args...)
	cmd.Env = []string{"KUZET_PLUGIN_SOCKET=" + r.sock, "KUZET_PLUGIN_NAME=" + r.spec.Name, "KUZET_PLUGIN_PROTOCOL=1",
		"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "TZ=" + os.Getenv("TZ"), "LANG=C.UTF-8"}
	cmd.Env = append(cmd.Env, r.spec.Env...)
	cmd.Dir = r.m.o.Dir
	r.stderr.reset()
	cmd.Stdout = r.stderr
	cmd.Stderr = r.stderr
	// its own process group, killed with the node
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return err
	}
	pid := cmd.Process.Pid
	r.limit(pid)
	now := r.m.o.Now()
	r.update(func(s *Status) { s.State, s.PID, s.Started = "running", pid, now })
	r.m.o.Metrics.Up.WithLabelValues(r.spec.Name).Set(1)
	r.log().Info("started", "pid", pid, "command", r.spec.Command)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	clear := time.NewTimer(r.m.o.FailWindow)
	defer clear.Stop()
	for {
		select {
		case err := <-done:
			r.m.o.Metrics.Up.WithLabelValues(r.spec.Name).Set(0)
			if err == nil {
				err = errors.New("exited")
			}
			return err
		case <-clear.C:
			r.upLong()
		case <-r.restart:
			r.log().Info("restarting at an operator's request", "pid", pid)
			stop(pid, done)
			r.m.o.Metrics.Up.WithLabelValues(r.spec.Name).Set(0)
			r.update(func(s *Status) { s.State, s.PID, s.Restarts = "starting", 0, s.Restarts+1 })
			r.m.o.Metrics.Restarts.WithLabelValues(r.spec.Name).Inc()
			return errRestarted
		case <-ctx.Done():
			stop(pid, done)
			return ctx.Err()
		}
	}
}

// errRestarted ends a run an operator restarted: not an exit that counts
// towards plugin_failed.
var errRestarted = errors.New("restarted by an operator")

// stop ends the plugin's process group: SIGTERM, then SIGKILL after 3 s.
func stop(pid int, done <-chan error) {
	_ = syscall.Kill(-pid, syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		<-done
	}
}

// limit puts the process under its memory limit (writable data, so the
// address space runtimes reserve does not count) and below recording in
// CPU priority. It is set just after the start: a plugin cannot take much
// in the microseconds before.
func (r *runner) limit(pid int) {
	mem := uint64(r.spec.Limits.MemoryMB) << 20
	if err := unix.Prlimit(pid, unix.RLIMIT_DATA, &unix.Rlimit{Cur: mem, Max: mem}, nil); err != nil {
		r.log().Warn("memory limit", "err", err)
	}
	if err := unix.Setpriority(unix.PRIO_PROCESS, pid, r.spec.Limits.Nice); err != nil {
		r.log().Warn("CPU priority", "err", err)
	}
}

// exited counts an exit; enough in the window raise plugin_failed.
func (r *runner) exited(err error, wait time.Duration) {
	now := r.m.o.Now()
	r.mu.Lock()
	r.st.State, r.st.PID, r.st.Restarts, r.st.LastError = "restarting", 0, r.st.Restarts+1, "exited: "+err.Error()
	r.exits = append(r.exits, now)
	for len(r.exits) > 0 && now.Sub(r.exits[0]) > r.m.o.FailWindow {
		r.exits = r.exits[1:]
	}
	raise := len(r.exits) >= r.m.o.FailAfter && !r.failed
	if raise {
		r.failed = true
	}
	if r.failed {
		r.st.State = "failed"
	}
	tail := r.stderr.last()
	r.mu.Unlock()
	r.m.o.Metrics.Restarts.WithLabelValues(r.spec.Name).Inc()
	r.log().Warn("exited; starting again", "err", err, "in", wait)
	if raise {
		msg := fmt.Sprintf("plugin %s exited %d times in %v (last: %v); restarted with backoff", r.spec.Name, len(r.exits), r.m.o.FailWindow, err)
		if w := lastWords(tail); w != "" {
			msg += "; it said: " + w
		}
		r.m.emit(event.New(event.KindAlarmRaised, "", event.SeverityMedium, event.Alarm{
			Key: AlarmFailed + ":" + r.spec.Name, Type: AlarmFailed, Message: msg}))
	}
}

// upLong clears plugin_failed once the plugin has run a whole window.
func (r *runner) upLong() {
	r.mu.Lock()
	was := r.failed
	r.failed, r.exits = false, nil
	r.mu.Unlock()
	if was {
		r.m.emit(event.New(event.KindAlarmCleared, "", event.SeverityInfo, event.Alarm{
			Key: AlarmFailed + ":" + r.spec.Name, Type: AlarmFailed,
			Message: "plugin " + r.spec.Name + " has run for " + r.m.o.FailWindow.String()}))
	}
}

// refuse counts a refused event; malformed ones, or any over the rate,
// raise plugin_misbehaving.
func (r *runner) refuse(reason, why string) {
	r.m.o.Metrics.Refused.WithLabelValues(r.spec.Name, reason).Inc()
	now := r.m.o.Now()
	r.mu.Lock()
	r.st.EventsRefused++
	r.st.LastError = reason + ": " + why
	raise := false
	switch reason {
	case "rate":
		raise = !r.misbehaving
	case "malformed", "snapshot":
		r.malformed = append(r.malformed, now)
		for len(r.malformed) > 0 && now.Sub(r.malformed[0]) > time.Minute {
			r.malformed = r.malformed[1:]
		}
		raise = len(r.malformed) >= 10 && !r.misbehaving
	}
	if raise {
		r.misbehaving = true
	}
	r.mu.Unlock()
	if raise {
		r.m.emit(event.New(event.KindAlarmRaised, "", event.SeverityMinor, event.Alarm{
			Key: AlarmMisbehaving + ":" + r.spec.Name, Type: AlarmMisbehaving,
			Message: fmt.Sprintf("plugin %s: %s (%s); what it posts is refused meanwhile", r.spec.Name, reasonText(reason), why)}))
	}
}

func reasonText(reason string) string {
	switch reason {
	case "rate":
		return "posts more events than its limit"
	case "snapshot":
		return "attaches snapshots that are too large or not JPEG"
	}
	return "posts malformed events"
}

// behaved clears plugin_misbehaving after a minute of good events.
func (r *runner) behaved() {
	now := r.m.o.Now()
	r.mu.Lock()
	r.st.EventsStored++
	clear := r.misbehaving && (len(r.malformed) == 0 || now.Sub(r.malformed[len(r.malformed)-1]) > time.Minute) && r.rate.quiet(time.Minute)
	if clear {
		r.misbehaving, r.malformed = false, nil
	}
	r.mu.Unlock()
	if clear {
		r.m.emit(event.New(event.KindAlarmCleared, "", event.SeverityInfo, event.Alarm{
			Key: AlarmMisbehaving + ":" + r.spec.Name, Type: AlarmMisbehaving,
			Message: "plugin " + r.spec.Name + " posts well-formed events within its limit again"}))
	}
}

// lastWords picks why a plugin died from what it wrote: a runtime's
// fatal line if there is one, else its last line.
func lastWords(out []string) string {
	for _, l := range out {
		for _, p := range []string{"fatal error:", "panic:", "Error:", "error:", "Traceback", "FATAL"} {
			if strings.HasPrefix(strings.TrimSpace(l), p) {
				return strings.TrimSpace(l)
			}
		}
	}
	for i := len(out) - 1; i >= 0; i-- {
		if l := strings.TrimSpace(out[i]); l != "" {
			return l
		}
	}
	return ""
}
