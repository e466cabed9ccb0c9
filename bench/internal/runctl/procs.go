package runctl

import (
	"os"
	"os/exec"
	"sync"
)

// Procs holds the processes a benchmark started, so every exit path can
// kill them (by PID) before it removes its temporary directories.
type Procs struct {
	mu    sync.Mutex
	procs []*os.Process
}

// Start starts cmd and remembers its process.
func (r *Procs) Start(cmd *exec.Cmd) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := cmd.Start(); err != nil {
		return err
	}
	r.procs = append(r.procs, cmd.Process)
	return nil
}

// KillAll kills every process started (an exited, reaped one answers
// "already finished", which is ignored).
func (r *Procs) KillAll() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range r.procs {
		_ = p.Kill()
	}
}
