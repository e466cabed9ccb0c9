package faults

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kuzet/kuzet/internal/netfault"
	"github.com/kuzet/kuzet/internal/testkit"
	"github.com/kuzet/kuzet/testcam"
)

// node is one `kuzet run` process and everything that outlives its
// incarnations: configuration, addresses, logs.
type node struct {
	id       string
	cfg      string // configuration file
	data     string // data_dir
	httpAddr string
	fedAddr  string // federation listen (UDP), parents only
	topoAddr string // catalogue replica (TCP), parents only
	api      *client

	mu       sync.Mutex
	cmd      *exec.Cmd
	exited   chan struct{}
	exitErr  error
	inc      int    // incarnations started so far
	state    string // running | paused | down
	expected bool   // the coming exit is the harness's doing
	started  time.Time
	logPath  string
}

// cluster is the whole tree under test.
type cluster struct {
	t     *testing.T
	bin   string
	root  string
	pki   string
	nodes map[string]*node
	relay map[string]*netfault.Relay // by linkName
	cam   *testcam.Server
	hash  string // argon2id hash of apiPassword
	// crossing is the checkpoint workload at the site
	crossing *crossing
	opts     clusterOpts

	t0      time.Time // the faults begin
	mu      sync.Mutex
	actions []string // what was done, when
	crashes []string // exits nobody asked for
	notes   []string // setup remarks for the report
	wipes   []wiped
	closing bool
}

// wiped is a replica's data dir as it was when its disk was "lost": the
// events it had stored are the truth for that incarnation.
type wiped struct {
	node   string
	inc    int           // the incarnation whose disk went
	at     time.Duration // since t0
	events string        // a copy of its events.db
}

// since is the time from the beginning of the faults, for the report.
func (c *cluster) since() time.Duration {
	if c.t0.IsZero() {
		return 0
	}
	return time.Since(c.t0)
}

// act records an action in the executed schedule.
func (c *cluster) act(action, target, detail string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.actions = append(c.actions, fmt.Sprintf("t+%7.1fs  %-8s  %-18s  %s", c.since().Seconds(), action, target, detail))
}

func (c *cluster) note(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.notes = append(c.notes, fmt.Sprintf(format, args...))
}

// cli runs the kuzet binary to completion (bounded) and returns its output.
func (c *cluster) cli(timeout time.Duration, stdin string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.bin, args...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// clusterOpts change the tree from the one TestFaults runs.
type clusterOpts struct {
	clip        []byte  // the camera's Annex-B clip (nil: the demo clip)
	siteSegment string  // the site's archive.segment (default 2s)
	regionStore string  // archive.store of every region replica (flow-style YAML)
	regionCap   float64 // federation.fragments.child_mbps of the regions (0: the default)
}

// newCluster makes the certificates, relays, camera and configurations;
// nothing runs yet but the camera and the relays.
func newCluster(t *testing.T, bin, root string) *cluster {
	return newClusterWith(t, bin, root, clusterOpts{})
}

func newClusterWith(t *testing.T, bin, root string, o clusterOpts) *cluster {
	if o.siteSegment == "" {
		o.siteSegment = "2s"
	}
	c := &cluster{t: t, bin: bin, root: root, opts: o, pki: filepath.Join(root, "pki"), nodes: map[string]*node{}, relay: map[string]*netfault.Relay{}}
	for _, d := range []string{"logs", "conf", "wiped"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := c.cli(30*time.Second, "", "pki", "init", "--dir", c.pki); err != nil {
		t.Fatalf("kuzet pki init: %v\n%s", err, out)
	}
	for _, id := range nodeIDs {
		if out, err := c.cli(30*time.Second, "", "pki", "issue", "--dir", c.pki, "--node", id); err != nil {
			t.Fatalf("kuzet pki issue --node %s: %v\n%s", id, err, out)
		}
	}
	out, err := c.cli(30*time.Second, apiPassword+"\n", "user", "hash")
	if err != nil {
		t.Fatalf("kuzet user hash: %v\n%s", err, out)
	}
	c.hash = strings.TrimSpace(out[strings.LastIndex(strings.TrimSpace(out), "\n")+1:])
	if !strings.HasPrefix(c.hash, "$argon2id$") {
		t.Fatalf("kuzet user hash printed %q", out)
	}
	for _, id := range nodeIDs {
		n := &node{id: id, cfg: filepath.Join(root, "conf", id+".yaml"), data: filepath.Join(root, id),
			httpAddr: testkit.Port(t), state: "down"}
		if id != siteID {
			n.fedAddr, n.topoAddr = testkit.Port(t), testkit.Port(t)
		}
		n.api = newClient(n.httpAddr)
		c.nodes[id] = n
	}
	for _, r := range regionIDs {
		c.newRelay(linkName(siteID, r), c.nodes[r].fedAddr)
		c.newRelay(linkName(r, centreID), c.nodes[centreID].fedAddr)
	}
	cam, err := testcam.Start(testcam.Options{Listen: "127.0.0.1:0", DisableUDP: true, Clip: o.clip})
	if err != nil {
		t.Fatal(err)
	}
	c.cam = cam
	t.Cleanup(func() { cam.Close() })
	c.crossing = newCrossing(t)
	for _, id := range nodeIDs {
		if err := os.WriteFile(c.nodes[id].cfg, []byte(c.config(id)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(c.killAll)
	return c
}

func (c *cluster) newRelay(name, target string) {
	r, err := netfault.NewRelay(target)
	if err != nil {
		c.t.Fatal(err)
	}
	c.relay[name] = r
	c.t.Cleanup(r.Close)
}

// config is a node's configuration file.
func (c *cluster) config(id string) string {
	n := c.nodes[id]
	var b strings.Builder
	fmt.Fprintf(&b, "node: {id: %s, data_dir: %s, time_zone: UTC}\n", id, n.data)
	fmt.Fprintf(&b, "http: {listen: %q}\n", n.httpAddr)
	fmt.Fprintf(&b, "users:\n  - {name: %s, role: admin, password_hash: %q}\n", apiUser, c.hash)
	if id == siteID {
		b.WriteString(c.crossing.siteConfig(c.hash))
	}
	b.WriteString("federation:\n")
	fmt.Fprintf(&b, "  tls: {ca: %[1]s/ca.pem, cert: %[1]s/%[2]s.pem, key: %[1]s/%[2]s-key.pem}\n", c.pki, id)
	b.WriteString("  heartbeat: 500ms\n  link_down_after: 3s\n")
	switch {
	case id == siteID:
		var up []string
		for _, r := range regionIDs {
			up = append(up, c.relay[linkName(siteID, r)].Addr())
		}
		fmt.Fprintf(&b, "  upstream: [%s]\n", strings.Join(up, ", "))
	case slices.Contains(regionIDs, id):
		fmt.Fprintf(&b, "  listen: %s\n  upstream: [%s]\n", n.fedAddr, c.relay[linkName(id, centreID)].Addr())
	default:
		fmt.Fprintf(&b, "  listen: %s\n", n.fedAddr)
	}
	switch {
	case id != siteID && id != centreID && c.opts.regionCap > 0:
		fmt.Fprintf(&b, "  fragments: {policy: all, child_mbps: %g}\n", c.opts.regionCap)
	case id != siteID:
		b.WriteString("  fragments: {policy: all}\n")
	}
	if id != siteID {
		fmt.Fprintf(&b, "topology:\n  listen: %s\n  bootstrap: true\n  peers:\n", n.topoAddr)
		peers := []string{centreID}
		if id != centreID {
			peers = regionIDs
		}
		for _, p := range peers {
			fmt.Fprintf(&b, "    - {id: %s, address: %s}\n", p, c.nodes[p].topoAddr)
		}
	}
	if id == siteID {
		fmt.Fprintf(&b, "archive: {segment: %s, min_free_gb: 0}\n", c.opts.siteSegment)
		fmt.Fprintf(&b, "cameras:\n  - {id: %s, url: %q, transport: tcp, offline_after: 2s}\n", cameraID, c.cam.URL("cam1"))
		b.WriteString(c.crossing.siteCameras())
	} else if c.opts.regionStore != "" && id != centreID {
		fmt.Fprintf(&b, "archive: {min_free_gb: 0, store: %s}\n", c.opts.regionStore)
	} else {
		b.WriteString("archive: {min_free_gb: 0}\n")
	}
	return b.String()
}

// start runs a new incarnation of n.
func (c *cluster) start(n *node) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if err := os.MkdirAll(n.data, 0o755); err != nil {
		return err
	}
	n.inc++
	n.logPath = filepath.Join(c.root, "logs", fmt.Sprintf("%s.%d.log", n.id, n.inc))
	f, err := os.Create(n.logPath)
	if err != nil {
		return err
	}
	cmd := exec.Command(c.bin, "run", "-c", n.cfg)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		return fmt.Errorf("start %s: %w", n.id, err)
	}
	exited := make(chan struct{})
	n.cmd, n.exited, n.exitErr, n.state, n.expected, n.started = cmd, exited, nil, "running", false, time.Now()
	go func() {
		err := cmd.Wait()
		f.Close()
		n.mu.Lock()
		n.exitErr = err
		expected := n.expected
		n.state = "down"
		logPath := n.logPath
		n.mu.Unlock()
		close(exited)
		if !expected {
			c.mu.Lock()
			if !c.closing {
				c.crashes = append(c.crashes, fmt.Sprintf("%s exited by itself at t+%.1fs (%v); log %s:\n%s",
					n.id, c.since().Seconds(), err, logPath, tail(logPath, 15)))
			}
			c.mu.Unlock()
		}
	}()
	return nil
}

// signal sends sig to the running incarnation of n (by its PID).
func (n *node) signal(sig syscall.Signal) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd == nil || n.state == "down" {
		return fmt.Errorf("%s is not running", n.id)
	}
	if sig == syscall.SIGKILL || sig == syscall.SIGTERM {
		n.expected = true
	}
	return n.cmd.Process.Signal(sig)
}

// wait waits for the running incarnation to exit.
func (n *node) wait(d time.Duration) bool {
	n.mu.Lock()
	ch := n.exited
	n.mu.Unlock()
	if ch == nil {
		return true
	}
	select {
	case <-ch:
		return true
	case <-time.After(d):
		return false
	}
}

func (c *cluster) kill(n *node) error {
	_ = n.signal(syscall.SIGCONT) // a stopped process dies as well, but say so plainly
	if err := n.signal(syscall.SIGKILL); err != nil {
		return err
	}
	if !n.wait(10 * time.Second) {
		return fmt.Errorf("%s survived SIGKILL for 10s", n.id)
	}
	return nil
}

func (c *cluster) pause(n *node) error {
	if err := n.signal(syscall.SIGSTOP); err != nil {
		return err
	}
	n.mu.Lock()
	n.state = "paused"
	n.mu.Unlock()
	return nil
}

func (c *cluster) resume(n *node) error {
	n.mu.Lock()
	if n.state == "paused" {
		n.state = "running"
	}
	n.mu.Unlock()
	return n.signal(syscall.SIGCONT)
}

// wipe kills n and deletes its data dir, keeping a copy of its event log
// as the truth about what that incarnation stored.
func (c *cluster) wipe(n *node) error {
	if err := c.kill(n); err != nil {
		return err
	}
	n.mu.Lock()
	inc := n.inc
	n.mu.Unlock()
	cp := filepath.Join(c.root, "wiped", fmt.Sprintf("%s.%d.events.db", n.id, inc))
	if err := copyFile(filepath.Join(n.data, "events.db"), cp); err != nil {
		return fmt.Errorf("keep %s's event log before the wipe: %w", n.id, err)
	}
	c.mu.Lock()
	c.wipes = append(c.wipes, wiped{node: n.id, inc: inc, at: c.since(), events: cp})
	c.mu.Unlock()
	return os.RemoveAll(n.data)
}

// stop ends n with SIGTERM, as an operator would.
func (c *cluster) stop(n *node, d time.Duration) error {
	_ = n.signal(syscall.SIGCONT)
	if err := n.signal(syscall.SIGTERM); err != nil {
		return nil // not running
	}
	if n.wait(d) {
		return nil
	}
	_ = n.signal(syscall.SIGKILL)
	n.wait(10 * time.Second)
	return fmt.Errorf("%s did not stop within %v of SIGTERM (killed)", n.id, d)
}

// killAll is the last cleanup: whatever still runs is killed, by PID.
func (c *cluster) killAll() {
	c.mu.Lock()
	c.closing = true
	c.mu.Unlock()
	for _, n := range c.nodes {
		_ = n.signal(syscall.SIGCONT)
		if n.signal(syscall.SIGKILL) == nil {
			n.wait(10 * time.Second)
		}
	}
}

// restartCrashed brings back nodes that died by themselves, so that one
// crash does not hide everything after it; the crash is reported anyway.
func (c *cluster) restartCrashed(faulted map[string]bool) {
	for _, id := range nodeIDs {
		n := c.nodes[id]
		n.mu.Lock()
		crashed := n.state == "down" && !n.expected && n.cmd != nil
		quick := time.Since(n.started) < 3*time.Second
		n.mu.Unlock()
		if !crashed || faulted[id] || quick {
			continue
		}
		c.act("restart", id, "after it exited by itself")
		if err := c.start(n); err != nil {
			c.t.Errorf("restart %s after its crash: %v", id, err)
		}
	}
}

// waitFor polls cond until it holds or d passes; each poll queries nodes
// over HTTP, so four times a second is enough.
func waitFor(d time.Duration, cond func() bool) bool {
	return testkit.EventuallyEvery(d, 250*time.Millisecond, cond)
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// tail is the last lines of a log file, for failure messages.
func tail(path string, lines int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	ls := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return "    " + strings.Join(ls[max(0, len(ls)-lines):], "\n    ")
}

// startNode starts n and waits until its API answers.
func (c *cluster) startNode(ctx context.Context, n *node) error {
	if err := c.start(n); err != nil {
		return err
	}
	return c.waitUp(ctx, n)
}

// waitUp waits until n's API answers.
func (c *cluster) waitUp(ctx context.Context, n *node) error {
	ok := waitFor(30*time.Second, func() bool {
		n.mu.Lock()
		down := n.state == "down"
		n.mu.Unlock()
		return down || n.api.healthy(ctx)
	})
	n.mu.Lock()
	down, logPath := n.state == "down", n.logPath
	n.mu.Unlock()
	if down || !ok {
		return fmt.Errorf("%s did not come up (log %s):\n%s", n.id, logPath, tail(logPath, 30))
	}
	return nil
}

var errNoLeader = errors.New("no catalogue leader")
