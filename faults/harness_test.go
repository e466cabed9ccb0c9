package faults

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

// TestFaults is the harness: see doc.go and README.md.
func TestFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("runs five node processes under faults for FAULTS_DURATION (default 90s)")
	}
	st, err := loadSettings()
	if err != nil {
		t.Fatal(err)
	}
	need := st.Total + st.Drain + 5*time.Minute
	if dl, ok := t.Deadline(); ok && time.Until(dl) < need {
		t.Fatalf("go test -timeout leaves %v, too little for FAULTS_DURATION=%v plus set-up, drain and checks: run with -timeout %v or more (make faults: FAULTS_TIMEOUT)",
			time.Until(dl).Round(time.Second), st.Total, need.Round(time.Minute))
	}
	bin := kuzetBinary(t)
	sched := NewSchedule(st.Seed, st.Faults)
	t.Logf("%s\nschedule (%d faults):\n%s", st, len(sched), formatSchedule(sched))

	root, err := os.MkdirTemp("", "kuzet-faults-")
	if err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	defer func() {
		if t.Failed() || st.Keep {
			t.Logf("run directory kept: %s (logs/, conf/, wiped/, data dirs)", root)
			return
		}
		os.RemoveAll(root)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), st.Total+15*time.Minute)
	defer cancel()

	c := newCluster(t, bin, root)
	c.setUp(ctx)
	setUp := time.Since(began)

	// the crossing's trucks run through the faults; the one on its way
	// when they end finishes while the tree settles
	stopTrucks, trucksDone := make(chan struct{}), make(chan struct{})
	dctx, dcancel := context.WithCancel(ctx)
	defer dcancel()
	go func() {
		defer close(trucksDone)
		c.crossing.drive(dctx, "http://"+c.nodes[siteID].httpAddr, stopTrucks)
	}()
	c.play(ctx, sched)
	close(stopTrucks)
	c.act("settle", "all", fmt.Sprintf("every fault healed; %v with the camera recording", st.Settle))
	c.sleep(st.Settle, nil)
	select {
	case <-trucksDone:
	case <-time.After(3 * time.Minute):
		dcancel()
		<-trucksDone
	}

	r := &report{settings: st, schedule: sched}
	c.quiesce(ctx, st.Drain, r)
	c.collect(ctx, r)
	r.checkpointBad, r.checkpoint = c.crossing.check(ctx, r.logs[siteID], c.nodes[siteID].api, c.nodes[centreID].api)
	c.stopAll(r)
	c.verifyOffline(r)
	r.checkSegmentFiles(c)
	r.check()
	r.crashes = c.crashes
	r.notes = c.notes
	r.actions = c.actions
	for _, l := range links() {
		s := c.relay[l].Stats()
		r.relays = append(r.relays, fmt.Sprintf("%-20s %d / %d / %d", l, s.Forwarded, s.Dropped, s.Overflow))
	}
	r.timing = fmt.Sprintf("set-up %v, faults %v, settle %v, drain %v, checks %v; total %v",
		setUp.Round(time.Second), st.Faults, st.Settle, r.drained.Round(time.Second),
		r.checks.Round(time.Second), time.Since(began).Round(time.Second))
	text := r.String()
	_ = os.WriteFile(root+"/report.txt", []byte(text), 0o644)
	t.Log("\n" + text)
	if v := r.violations(); len(v) > 0 {
		t.Fatalf("%d invariant violation(s) (%s; re-run with the same FAULTS_SEED for the same schedule):\n  - %s",
			len(v), st, strings.Join(v, "\n  - "))
	}
}

// setUp starts the tree parents first and fills the catalogues.
func (c *cluster) setUp(ctx context.Context) {
	t := c.t
	centre := c.nodes[centreID]
	if err := c.startNode(ctx, centre); err != nil {
		t.Fatal(err)
	}
	if err := c.applyCatalogue(ctx, centre, "centre", c.centreCatalogue); err != nil {
		t.Fatal(err)
	}
	for _, id := range regionIDs {
		if err := c.start(c.nodes[id]); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range regionIDs { // together: the first waits for a second to found the Raft group
		if err := c.waitUp(ctx, c.nodes[id]); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.applyCatalogue(ctx, c.nodes[regionIDs[0]], "region-a", c.regionCatalogue); err != nil {
		t.Fatal(err)
	}
	site := c.nodes[siteID]
	if err := c.startNode(ctx, site); err != nil {
		t.Fatal(err)
	}
	if !waitFor(30*time.Second, func() bool {
		s, err := site.api.cameraState(ctx, cameraID)
		return err == nil && s == "streaming"
	}) {
		t.Fatalf("the site's camera is not streaming after 30s; log %s:\n%s", site.logPath, tail(site.logPath, 30))
	}
	if !waitFor(30*time.Second, func() bool {
		for _, id := range append([]string{siteID}, regionIDs...) {
			u, err := c.nodes[id].api.upstream(ctx)
			if err != nil || !u.Connected {
				return false
			}
		}
		return true
	}) {
		c.note("not every child linked to a parent within 30s of the site starting; the faults began anyway")
	}
	time.Sleep(3 * time.Second) // a few segments before the first fault
}

// sleep waits d, restarting nodes that crash by themselves meanwhile
// (except those a fault holds down).
func (c *cluster) sleep(d time.Duration, faulted map[string]bool) {
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		c.restartCrashed(faulted)
		time.Sleep(min(250*time.Millisecond, time.Until(end)))
	}
}

// step is the beginning (phase 0), the middle (1, strands only) or the
// end (2) of a fault.
type step struct {
	at    time.Duration
	phase int
	f     Fault
}

func (s step) begin() bool { return s.phase == 0 }

// play runs the schedule in real time.
func (c *cluster) play(ctx context.Context, sched []Fault) {
	var steps []step
	for _, f := range sched {
		steps = append(steps, step{f.At, 0, f}, step{f.At + f.For, 2, f})
		if f.Kind == Strand {
			steps = append(steps, step{f.At + f.For/2, 1, f})
		}
	}
	sort.SliceStable(steps, func(i, j int) bool {
		if steps[i].at != steps[j].at {
			return steps[i].at < steps[j].at
		}
		return steps[i].phase > steps[j].phase // heal before the next fault
	})
	c.t0 = time.Now()
	c.act("begin", "all", fmt.Sprintf("%d faults", len(sched)))
	faulted := map[string]bool{}
	strands := map[time.Duration]string{} // fault start -> the replica stranded
	for _, s := range steps {
		c.sleep(time.Until(c.t0.Add(s.at)), faulted)
		var err error
		if s.f.Kind == Strand {
			err = c.strand(ctx, s, strands)
		} else {
			err = c.apply(s)
		}
		if err != nil {
			c.act("FAILED", s.f.Target, err.Error())
			c.t.Errorf("schedule step %s (phase %d): %v", s.f, s.phase, err)
		}
		if !s.f.onLink() {
			faulted[s.f.Target] = s.begin()
		}
	}
}

// strand plays a Strand fault (see Kind).
func (c *cluster) strand(ctx context.Context, s step, strands map[time.Duration]string) error {
	switch s.phase {
	case 0:
		ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		parent := regionIDs[0]
		how := "the site's parent"
		if u, err := c.nodes[siteID].api.upstream(ctx); err == nil && slices.Contains(regionIDs, u.Parent) {
			parent = u.Parent
		} else {
			how = fmt.Sprintf("the site's parent unknown (%v, %q): taking", err, u.Parent)
		}
		strands[s.f.At] = parent
		c.relay[linkName(parent, centreID)].Cut()
		c.act("cut", linkName(parent, centreID), "strand: "+how+" "+parent+" loses its uplink")
	case 1:
		parent := strands[s.f.At]
		c.relay[linkName(siteID, parent)].Cut()
		c.act("cut", linkName(siteID, parent), "strand: the site must fail over, "+parent+" holds what it acknowledged")
	default:
		parent := strands[s.f.At]
		c.relay[linkName(parent, centreID)].Heal()
		c.relay[linkName(siteID, parent)].Heal()
		c.act("heal", parent, "strand over: both links of "+parent+" heal")
	}
	return nil
}

func (c *cluster) apply(s step) error {
	f := s.f
	if f.onLink() {
		r := c.relay[f.Target]
		switch {
		case f.Kind == Cut && s.begin():
			r.Cut()
			c.act("cut", f.Target, "")
		case f.Kind == Cut:
			r.Heal()
			c.act("heal", f.Target, "")
		case f.Kind == Loss && s.begin():
			r.SetLoss(f.Loss)
			c.act("loss", f.Target, f.detail())
		case f.Kind == Loss:
			r.SetLoss(0)
			c.act("no loss", f.Target, "")
		case f.Kind == Delay && s.begin():
			r.SetDelay(f.Delay, f.Delay/4)
			c.act("delay", f.Target, f.detail())
		case f.Kind == Delay:
			r.SetDelay(0, 0)
			c.act("no delay", f.Target, "")
		}
		return nil
	}
	n := c.nodes[f.Target]
	switch {
	case f.Kind == Kill && s.begin():
		c.act("SIGKILL", n.id, fmt.Sprintf("incarnation %d", n.inc))
		return c.kill(n)
	case f.Kind == Wipe && s.begin():
		c.act("wipe", n.id, fmt.Sprintf("SIGKILL, data dir deleted (incarnation %d)", n.inc))
		return c.wipe(n)
	case f.Kind == Pause && s.begin():
		c.act("SIGSTOP", n.id, "")
		return c.pause(n)
	case f.Kind == Pause:
		c.act("SIGCONT", n.id, "")
		return c.resume(n)
	default: // the end of a kill or a wipe
		if err := c.start(n); err != nil {
			return err
		}
		c.act("restart", n.id, fmt.Sprintf("incarnation %d", n.inc))
		return nil
	}
}

// quiesce stops the camera and waits until the tree has moved everything
// up: no backlog at any child, and the centre holding as many of the
// site's segments as the site.
func (c *cluster) quiesce(ctx context.Context, limit time.Duration, r *report) {
	for _, rl := range c.relay {
		rl.Clear()
	}
	c.cam.Close()
	c.act("camera", "off", "the site's last segment closes; waiting for backlogs and replication to drain")
	start := time.Now()
	site, centre := c.nodes[siteID], c.nodes[centreID]
	from, to := c.t0.Add(-time.Hour), time.Now().Add(time.Hour)
	calm := 0
	ok := waitFor(limit, func() bool {
		c.restartCrashed(nil)
		for _, id := range append([]string{siteID}, regionIDs...) {
			u, err := c.nodes[id].api.upstream(ctx)
			if err != nil || u.Backlog > 0 || !u.Connected {
				calm = 0
				return false
			}
		}
		own, err1 := site.api.segments(ctx, cameraID, from, to)
		held, err2 := centre.api.segments(ctx, siteID+"/"+cameraID, from, to)
		if err1 != nil || err2 != nil || len(held) < len(own) {
			calm = 0
			return false
		}
		calm++
		return calm >= 3 // the same for a while, not one lucky moment
	})
	r.drained = time.Since(start)
	if !ok {
		c.act("drain", "all", fmt.Sprintf("not drained after %v; checking anyway", limit))
	} else {
		c.act("drain", "all", fmt.Sprintf("drained in %.1fs", r.drained.Seconds()))
	}
}

// collect reads the truth first (each origin's own log), then waits for it
// to have moved up, then reads the centre: whatever an origin stored
// before it was read must be at the centre when the centre is read.
func (c *cluster) collect(ctx context.Context, r *report) {
	start := time.Now()
	r.logs = map[string][]ev{}
	r.readErr = map[string]string{}
	for _, id := range append([]string{siteID}, regionIDs...) {
		evs, err := c.nodes[id].api.events(ctx)
		if err != nil {
			r.readErr[id] = err.Error()
		}
		r.logs[id] = evs
	}
	// the upstream backlog of every child, in tree order: the site's
	// reaches the regions, then theirs the centre
	r.backlog = map[string]upstream{}
	for _, id := range append([]string{siteID}, regionIDs...) {
		var last upstream
		var lastErr error
		waitFor(15*time.Second, func() bool {
			last, lastErr = c.nodes[id].api.upstream(ctx)
			return lastErr == nil && last.Backlog == 0 && last.Connected
		})
		if lastErr != nil {
			last.LastError = "reading /api/v1/federation: " + lastErr.Error()
			last.Backlog = ^uint64(0)
		}
		r.backlog[id] = last
	}
	evs, err := c.nodes[centreID].api.events(ctx)
	if err != nil {
		r.readErr[centreID] = err.Error()
	}
	r.logs[centreID] = evs

	// segments: the site's index, and every parent's index of the site's camera
	from, to := c.t0.Add(-time.Hour), time.Now().Add(time.Hour)
	r.segs = map[string][]segment{}
	for _, id := range nodeIDs {
		cam := siteID + "/" + cameraID
		if id == siteID {
			cam = cameraID
		}
		segs, err := c.nodes[id].api.segments(ctx, cam, from, to)
		if err != nil {
			r.readErr[id+" segments"] = err.Error()
		}
		r.segs[id] = segs
	}
	r.archive = map[string]string{}
	for _, id := range nodeIDs {
		r.archive[id] = c.nodes[id].data + "/archive"
	}
	// the incarnations whose disks were wiped
	for _, w := range c.wipes {
		inc, err := readWiped(c.root, w)
		if err != nil {
			r.readErr[fmt.Sprintf("%s incarnation %d (wiped)", w.node, w.inc)] = err.Error()
			continue
		}
		r.wiped = append(r.wiped, inc)
	}
	r.current = map[string]int{}
	for _, id := range nodeIDs {
		r.current[id] = c.nodes[id].inc
	}
	r.checks += time.Since(start)
}

// stopAll ends every node with SIGTERM, children first.
func (c *cluster) stopAll(r *report) {
	c.mu.Lock()
	c.closing = true
	c.mu.Unlock()
	for _, ids := range [][]string{{siteID}, regionIDs, {centreID}} {
		errs := make(chan error, len(ids))
		for _, id := range ids {
			go func() { errs <- c.stop(c.nodes[id], 20*time.Second) }()
		}
		for range ids {
			if err := <-errs; err != nil {
				r.shutdown = append(r.shutdown, err.Error())
			}
		}
	}
}

// verifyOffline runs `kuzet audit verify` and `kuzet archive verify` on
// every stopped node.
func (c *cluster) verifyOffline(r *report) {
	start := time.Now()
	r.audit = map[string]verdict{}
	r.archiveVerify = map[string]verdict{}
	for _, id := range nodeIDs {
		n := c.nodes[id]
		for _, v := range []struct {
			into map[string]verdict
			args []string
		}{
			{r.audit, []string{"audit", "verify", "--data", n.data}},
			{r.archiveVerify, []string{"archive", "verify", "--data", n.data}},
		} {
			out, err := c.cli(5*time.Minute, "", v.args...)
			v.into[id] = verdict{ok: err == nil, out: out, err: err}
		}
	}
	r.checks += time.Since(start)
}

// verdict is the outcome of one offline check command.
type verdict struct {
	ok  bool
	out string
	err error
}

// problems are the lines of a verdict's output that name something wrong.
func (v verdict) problems(n int) []string {
	var out []string
	for _, l := range strings.Split(v.out, "\n") {
		l = strings.TrimSpace(l)
		low := strings.ToLower(l)
		if l == "" || strings.HasSuffix(low, ": intact") {
			continue
		}
		for _, w := range []string{"broken", "not intact", "restarted", "altered", "removed", "reordered", "forged", "malformed", "missing", "sha256", "failed", "error", "mismatch", "size"} {
			if strings.Contains(low, w) {
				out = append(out, l)
				break
			}
		}
	}
	if len(out) == 0 {
		ls := strings.Split(strings.TrimSpace(v.out), "\n")
		out = ls[max(0, len(ls)-3):]
	}
	if len(out) > n {
		out = append(out[:n], fmt.Sprintf("... and %d more lines", len(out)-n))
	}
	return out
}
