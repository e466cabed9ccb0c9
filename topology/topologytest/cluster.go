package topologytest

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/kuzet/kuzet/pki"
	"github.com/kuzet/kuzet/topology"
)

// Options configures a cluster of replica processes.
type Options struct {
	N        int    // replicas (1, 3 or 5)
	Dir      string // state, certificates and logs
	Timing   Timing
	LogLevel string
	// Cuttable puts a TCP relay in front of each replica's Raft port, so
	// that Proc.Cut can partition it; off, peers dial the port itself (a
	// benchmark's figures have no extra hop).
	Cuttable bool
}

// Cluster is a Raft group of replica processes on loopback.
type Cluster struct {
	o        Options
	exe      string
	pki      string
	Replicas []*Proc
}

// Proc is one replica process. Its addresses stay the same across
// restarts, as a server's would.
type Proc struct {
	ID       string
	RaftAddr string
	HTTPAddr string
	Dir      string
	Client   *topology.Client
	LogPath  string

	cfg   ReplicaConfig
	exe   string
	relay *cutter // in front of its Raft port: Cut and Heal
	mu    sync.Mutex
	cmd   *exec.Cmd
	done  chan struct{}
}

// Start creates the certificates, starts the first replica as a new
// cluster and joins the others through its API.
func Start(ctx context.Context, o Options) (*Cluster, error) {
	if o.N < 1 {
		return nil, fmt.Errorf("cluster of %d replicas", o.N)
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	c := &Cluster{o: o, exe: exe, pki: filepath.Join(o.Dir, "pki")}
	if err := pki.InitCA(c.pki, "catalogue test federation", 24*time.Hour); err != nil {
		return nil, err
	}
	for i := 1; i <= o.N; i++ {
		id := fmt.Sprintf("replica-%d", i)
		if _, err := pki.IssueNode(c.pki, id, c.pki, time.Time{}, 24*time.Hour); err != nil {
			return nil, err
		}
		dir := filepath.Join(o.Dir, id)
		p := &Proc{ID: id, Dir: dir, LogPath: filepath.Join(o.Dir, id+".log"), exe: exe, cfg: ReplicaConfig{
			ID: id, Dir: dir, PKIDir: c.pki, RaftListen: "127.0.0.1:0", HTTPListen: "127.0.0.1:0",
			Bootstrap: i == 1, Timing: o.Timing, LogLevel: o.LogLevel,
		}}
		if o.Cuttable {
			if p.relay, err = newCutter(); err != nil {
				c.Close()
				return nil, err
			}
			p.cfg.RaftAdvertise = p.relay.addr()
		}
		c.Replicas = append(c.Replicas, p)
		if err := p.start(ctx); err != nil {
			c.Close()
			return nil, err
		}
		if i == 1 {
			if err := c.waitHealthy(ctx, 1); err != nil {
				c.Close()
				return nil, err
			}
			continue
		}
		err = Retry(ctx, func(ctx context.Context) error {
			_, err := c.Replicas[0].Client.Join(ctx, topology.Peer{ID: id, Address: p.RaftAddr})
			return err
		})
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("join %s: %w", id, err)
		}
	}
	if err := c.waitHealthy(ctx, o.N); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// Retry runs f until it succeeds, an error other than an election's comes
// back, or ctx ends. For operations that are safe to repeat.
func Retry(ctx context.Context, f func(ctx context.Context) error) error {
	for {
		actx, cancel := context.WithTimeout(ctx, 15*time.Second)
		err := f(actx)
		cancel()
		if err == nil {
			return nil
		}
		var te *topology.Error
		if errors.As(err, &te) && te.Code != topology.CodeUnavailable && te.Code != topology.CodeUnknownOutcome {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last: %v)", ctx.Err(), err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (p *Proc) start(ctx context.Context) error {
	raw, err := json.Marshal(p.cfg)
	if err != nil {
		return err
	}
	logf, err := os.OpenFile(p.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(p.exe)
	cmd.Env = append(os.Environ(), envReplica+"="+string(raw))
	cmd.Stderr = logf
	// die with the test or bench that started it
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	if err != nil {
		logf.Close()
		return err
	}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start replica %s: %w", p.ID, err)
	}
	done := make(chan struct{})
	ready := make(chan [3]string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if raft, listen, h, ok := parseReady(sc.Text()); ok {
				ready <- [3]string{raft, listen, h}
			}
		}
		_, _ = io.Copy(io.Discard, out)
		_ = cmd.Wait()
		logf.Close()
		close(done)
	}()
	p.mu.Lock()
	p.cmd, p.done = cmd, done
	p.mu.Unlock()
	select {
	case addrs := <-ready:
		// peers dial the relay (addrs[0]), which leads to the bound port
		p.RaftAddr, p.HTTPAddr = addrs[0], addrs[2]
		if p.relay != nil {
			p.relay.setTarget(addrs[1])
		}
		// a restart binds the same addresses again
		p.cfg.RaftListen, p.cfg.HTTPListen, p.cfg.Bootstrap = addrs[1], addrs[2], false
		p.Client, err = topology.NewClient("http://"+addrs[2], &http.Client{Timeout: 30 * time.Second})
		return err
	case <-done:
		return fmt.Errorf("replica %s exited before it was ready (see %s)", p.ID, p.LogPath)
	case <-ctx.Done():
		_ = cmd.Process.Kill()
		<-done
		return fmt.Errorf("replica %s not ready: %w", p.ID, ctx.Err())
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		return fmt.Errorf("replica %s not ready within 60s (see %s)", p.ID, p.LogPath)
	}
}

// Alive reports whether the process runs.
func (p *Proc) Alive() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done == nil {
		return false
	}
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

func (p *Proc) signal(sig syscall.Signal) error {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd == nil {
		return fmt.Errorf("replica %s is not running", p.ID)
	}
	if err := cmd.Process.Signal(sig); err != nil {
		return fmt.Errorf("signal %v to replica %s: %w", sig, p.ID, err)
	}
	if sig == syscall.SIGKILL {
		<-done
	}
	return nil
}

// Kill sends SIGKILL and waits for the process to go.
func (p *Proc) Kill() error { return p.signal(syscall.SIGKILL) }

// Cut partitions the replica from its peers' dialling: every connection
// to its Raft port is dropped and new ones refused until Heal. (Its own
// dialling out is left, as when one link's inbound filter fails.)
// The cluster must have been started Cuttable.
func (p *Proc) Cut() error { return p.setCut(true) }

// Heal undoes Cut.
func (p *Proc) Heal() error { return p.setCut(false) }

func (p *Proc) setCut(on bool) error {
	if p.relay == nil {
		return fmt.Errorf("replica %s: the cluster was not started Cuttable", p.ID)
	}
	p.relay.setCut(on)
	return nil
}

// Pause stops the process (SIGSTOP): it holds its connections but answers
// nothing. The kernel still takes what peers send into its socket
// buffers, which it reads when it resumes: use Cut for a partition.
func (p *Proc) Pause() error { return p.signal(syscall.SIGSTOP) }

// Resume continues a paused process (SIGCONT).
func (p *Proc) Resume() error { return p.signal(syscall.SIGCONT) }

// Restart starts a stopped replica again on its data and addresses.
func (p *Proc) Restart(ctx context.Context) error {
	if p.Alive() {
		return fmt.Errorf("replica %s is still running", p.ID)
	}
	return p.start(ctx)
}

// stop ends the process with SIGTERM, SIGKILL after a grace period.
func (p *Proc) stop() {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	select {
	case <-done:
		return
	default:
	}
	_ = cmd.Process.Signal(syscall.SIGCONT)
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

// Close stops every replica.
func (c *Cluster) Close() {
	var wg sync.WaitGroup
	for _, p := range c.Replicas {
		wg.Add(1)
		go func() { defer wg.Done(); p.stop() }()
	}
	wg.Wait()
	for _, p := range c.Replicas {
		if p.relay != nil {
			p.relay.close()
		}
	}
}

// Live returns the running replicas.
func (c *Cluster) Live() []*Proc {
	var out []*Proc
	for _, p := range c.Replicas {
		if p.Alive() {
			out = append(out, p)
		}
	}
	return out
}

// Leader returns the replica that leads, as every live replica sees it.
func (c *Cluster) Leader(ctx context.Context) (*Proc, error) {
	for {
		if p := c.agreedLeader(ctx, c.Live()); p != nil {
			return p, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("no agreed leader: %w", ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (c *Cluster) agreedLeader(ctx context.Context, live []*Proc) *Proc {
	leader := ""
	for _, p := range live {
		st, err := p.Client.Status(ctx)
		if err != nil || st.Leader == "" || (leader != "" && st.Leader != leader) {
			return nil
		}
		leader = st.Leader
	}
	for _, p := range c.Replicas {
		if p.ID == leader && p.Alive() {
			return p
		}
	}
	return nil
}

// waitHealthy waits until the live replicas agree on a leader, list n
// members and have applied the same revision.
func (c *Cluster) waitHealthy(ctx context.Context, n int) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	for {
		if c.healthy(ctx, n) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cluster not healthy with %d members: %w", n, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (c *Cluster) healthy(ctx context.Context, n int) bool {
	live := c.Live()
	if c.agreedLeader(ctx, live) == nil {
		return false
	}
	var rev uint64
	for i, p := range live {
		st, err := p.Client.Status(ctx)
		if err != nil || len(st.Members) != n || (i > 0 && st.Revision != rev) {
			return false
		}
		rev = st.Revision
	}
	return true
}

// WaitHealthy waits until every live replica agrees on a leader and all
// N are members and caught up.
func (c *Cluster) WaitHealthy(ctx context.Context) error { return c.waitHealthy(ctx, c.o.N) }
