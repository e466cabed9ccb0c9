package topology_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/kuzet/kuzet/internal/testkit"
	"github.com/kuzet/kuzet/topology"
	"github.com/kuzet/kuzet/topology/topologytest"
)

// The test binary doubles as a replica process (see topologytest).
func TestMain(m *testing.M) {
	topologytest.MaybeRunReplica()
	os.Exit(m.Run())
}

func startProcCluster(t *testing.T, n int, timing topologytest.Timing) *topologytest.Cluster {
	t.Helper()
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := topologytest.Start(ctx, topologytest.Options{N: n, Dir: dir, Timing: timing, Cuttable: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Close()
		if t.Failed() {
			for _, p := range c.Replicas {
				b, _ := os.ReadFile(p.LogPath)
				lines := strings.Split(strings.TrimSpace(string(b)), "\n")
				t.Logf("--- %s log (last 40 lines)\n%s", p.ID, strings.Join(lines[max(0, len(lines)-40):], "\n"))
			}
		}
	})
	return c
}

func camera(id, name string) topology.Camera {
	return topology.Camera{ID: id, Site: "khorgos-1", Name: name, URL: "rtsp://10.0.0.5/" + id}
}

// putSite creates the hierarchy the cameras hang from.
func putSite(t *testing.T, c *topologytest.Cluster) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, n := range []topology.Node{{ID: "centre", Role: "centre"}, {ID: "khorgos-1", Role: "site", Parent: "centre"}} {
		err := topologytest.Retry(ctx, func(ctx context.Context) error {
			_, err := c.Replicas[0].Client.PutNode(ctx, n)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// checkAll asserts that every live replica, read linearizably, holds every
// acknowledged camera.
func checkAll(t *testing.T, c *topologytest.Cluster, acked map[string]bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, p := range c.Live() {
		var ct topology.Contents
		err := topologytest.Retry(ctx, func(ctx context.Context) error {
			var err error
			ct, err = p.Client.Catalogue(ctx, true)
			return err
		})
		if err != nil {
			t.Fatalf("%s: %v", p.ID, err)
		}
		have := map[string]bool{}
		for _, cam := range ct.Cameras {
			have[cam.ID] = true
		}
		for id := range acked {
			if !have[id] {
				t.Errorf("%s lost acknowledged camera %s", p.ID, id)
			}
		}
	}
}

// SIGKILL the leader of three replica processes: a new leader takes writes,
// and once the killed one is back, every replica holds every write that was
// ever acknowledged.
func TestFailoverAfterLeaderSIGKILL(t *testing.T) {
	testkit.Long(t)
	c := startProcCluster(t, 3, topologytest.Timing{})
	putSite(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	acked := map[string]bool{}
	write := func(p *topologytest.Proc, id string) error {
		_, err := p.Client.PutCamera(ctx, camera(id, id))
		if err == nil {
			acked[id] = true
		}
		return err
	}
	for i := range 10 {
		if err := write(c.Replicas[i%3], fmt.Sprintf("before-%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	leader, err := c.Leader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := leader.Kill(); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	survivors := c.Live()
	var took time.Duration
	for i := 0; ; i++ {
		if write(survivors[i%2], fmt.Sprintf("after-%d", i)) == nil {
			took = time.Since(killed)
			break
		}
		if ctx.Err() != nil {
			t.Fatal("no write accepted after the leader was killed")
		}
	}
	t.Logf("first write acknowledged %v after SIGKILL of leader %s", took.Round(time.Millisecond), leader.ID)
	newLeader, err := c.Leader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if newLeader == leader {
		t.Fatal("the killed replica still leads")
	}
	for i := range 10 {
		if err := write(survivors[i%2], fmt.Sprintf("more-%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := leader.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitHealthy(ctx); err != nil {
		t.Fatal(err)
	}
	checkAll(t, c, acked)
}

// A follower cut off (its Raft port partitioned) while the others commit
// enough changes to compact their logs catches up when it comes back, from
// a snapshot and the log after it.
func TestPartitionedFollowerCatchesUp(t *testing.T) {
	testkit.Long(t)
	c := startProcCluster(t, 3, topologytest.Timing{SnapshotThreshold: 16, TrailingLogs: 4, SnapshotInterval: 100 * time.Millisecond})
	putSite(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	leader, err := c.Leader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var cut *topologytest.Proc
	for _, p := range c.Replicas {
		if p != leader {
			cut = p
			break
		}
	}
	before, err := cut.Client.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := cut.Cut(); err != nil {
		t.Fatal(err)
	}
	acked := map[string]bool{}
	var half time.Time
	for i := range 60 {
		id := fmt.Sprintf("cam-%d", i)
		err := topologytest.Retry(ctx, func(ctx context.Context) error {
			_, err := leader.Client.PutCamera(ctx, camera(id, id))
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		acked[id] = true
		if i == 29 {
			half = time.Now()
		}
	}
	// the leader has compacted past where the cut follower stopped: a
	// snapshot taken after the first 30 changes covers far more than the
	// trailing logs it keeps, and the last 30 (over the snapshot
	// threshold) make sure one is taken (a snapshot from before the cut
	// could leave the follower's next entries in the log)
	// Every replica but the cut one, not only the first leader: under load
	// the leadership may move during the changes, and whichever leads when
	// the follower comes back must have compacted.
	waitSnap := time.Now().Add(time.Minute)
	for _, p := range c.Replicas {
		if p == cut {
			continue
		}
		for !snapshotSince(p.Dir, half) {
			if time.Now().After(waitSnap) {
				t.Fatalf("%s took no snapshot after the first 30 changes", p.Dir)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	if err := cut.Heal(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		ct, err := cut.Client.Catalogue(ctx, false) // its own copy, not the leader's
		if err == nil && len(ct.Cameras) == len(acked) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the cut follower has %d of %d cameras (%v)", len(ct.Cameras), len(acked), err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// it got there through a snapshot sent by the leader: the log it missed
	// was gone (raft logs the install a moment after the restore it serves)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if b, _ := os.ReadFile(cut.LogPath); strings.Contains(string(b), "Installed remote snapshot") {
			break
		}
		if time.Now().After(deadline) {
			t.Error("the follower caught up without installing the leader's snapshot")
			break
		}
	}
	after, _ := cut.Client.Status(ctx)
	if after.Revision <= before.Revision {
		t.Fatalf("revision %d after catching up, %d before", after.Revision, before.Revision)
	}
	checkAll(t, c, acked)
}

// kvInput and kvOutput are the operations of the linearizability model: a
// register per camera (its name), read and written through the API.
type kvInput struct {
	put   bool
	key   string
	value string
}

type kvOutput struct {
	value   string
	unknown bool // a put whose outcome the client did not learn
}

var kvModel = porcupine.Model{
	Partition: func(history []porcupine.Operation) [][]porcupine.Operation {
		byKey := map[string][]porcupine.Operation{}
		for _, op := range history {
			k := op.Input.(kvInput).key
			byKey[k] = append(byKey[k], op)
		}
		var out [][]porcupine.Operation
		for _, ops := range byKey {
			out = append(out, ops)
		}
		return out
	},
	Init: func() any { return "" },
	Step: func(state, input, output any) (bool, any) {
		in, out := input.(kvInput), output.(kvOutput)
		if in.put {
			return true, in.value
		}
		return out.value == state.(string), state
	},
	DescribeOperation: func(input, output any) string {
		in, out := input.(kvInput), output.(kvOutput)
		if in.put {
			return fmt.Sprintf("put(%s, %s)", in.key, in.value)
		}
		return fmt.Sprintf("get(%s) -> %q", in.key, out.value)
	},
}

// Several clients put and get cameras through the API of every replica
// (so writes are forwarded and reads go through the leader) while the
// leader is killed; the recorded history must be linearizable.
func TestLinearizableUnderLeaderKill(t *testing.T) {
	testkit.Long(t)
	c := startProcCluster(t, 3, topologytest.Timing{})
	putSite(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	keys := []string{"k0", "k1", "k2"}
	start := time.Now()
	var (
		mu  sync.Mutex
		ops []porcupine.Operation
	)
	record := func(op porcupine.Operation) {
		mu.Lock()
		ops = append(ops, op)
		mu.Unlock()
	}
	now := func() int64 { return int64(time.Since(start)) }
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for client := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(client), 7))
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				live := c.Live()
				if len(live) == 0 {
					return
				}
				p := live[rng.IntN(len(live))]
				key := keys[rng.IntN(len(keys))]
				octx, ocancel := context.WithTimeout(ctx, 15*time.Second)
				call := now()
				if rng.IntN(2) == 0 {
					val := fmt.Sprintf("c%d-%d", client, n)
					_, err := p.Client.PutCamera(octx, camera(key, val))
					ret := now()
					if err != nil {
						// it may have happened at any time after the call
						record(porcupine.Operation{ClientId: client, Input: kvInput{put: true, key: key, value: val}, Call: call, Output: kvOutput{unknown: true}, Return: math.MaxInt64})
					} else {
						record(porcupine.Operation{ClientId: client, Input: kvInput{put: true, key: key, value: val}, Call: call, Output: kvOutput{}, Return: ret})
					}
				} else {
					cam, err := p.Client.Camera(octx, "khorgos-1", key, true)
					ret := now()
					if err == nil || topology.CodeOf(err) == topology.CodeNotFound {
						record(porcupine.Operation{ClientId: client, Input: kvInput{key: key}, Call: call, Output: kvOutput{value: cam.Name}, Return: ret})
					}
				}
				ocancel()
			}
		}()
	}
	time.Sleep(1500 * time.Millisecond)
	leader, err := c.Leader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := leader.Kill(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second)
	close(stop)
	wg.Wait()

	var puts, gets, unknown int
	for _, op := range ops {
		switch {
		case op.Output.(kvOutput).unknown:
			unknown++
		case op.Input.(kvInput).put:
			puts++
		default:
			gets++
		}
	}
	t.Logf("history: %d puts, %d gets, %d puts with unknown outcome; leader %s killed", puts, gets, unknown, leader.ID)
	if puts == 0 || gets == 0 {
		t.Fatal("history too thin to check")
	}
	res, info := porcupine.CheckOperationsVerbose(kvModel, ops, 60*time.Second)
	if res != porcupine.Ok {
		path := filepath.Join(t.TempDir(), "history.html")
		if f, err := os.Create(path); err == nil {
			_ = porcupine.Visualize(kvModel, info, f)
			f.Close()
		}
		t.Fatalf("history is %s (visualisation: %s)", res, path)
	}
}

// snapshotSince reports whether the replica in dir stored a snapshot after t.
func snapshotSince(dir string, t time.Time) bool {
	snaps, _ := filepath.Glob(filepath.Join(dir, "snapshots", "*", "meta.json"))
	for _, m := range snaps {
		if st, err := os.Stat(m); err == nil && st.ModTime().After(t) {
			return true
		}
	}
	return false
}
