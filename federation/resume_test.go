package federation

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/internal/logtest"
	"github.com/kuzet/kuzet/internal/netfault"
	"github.com/kuzet/kuzet/internal/testkit"
	"github.com/kuzet/kuzet/pki"
	"github.com/kuzet/kuzet/replicate"
)

// runServer starts a parent on addr ("" for any port) that can be stopped
// and started again on the same address, as a killed replica would be.
func runServer(t *testing.T, ident *pki.Identity, log *event.Log, addr string, logger *slog.Logger) (*Server, func()) {
	t.Helper()
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	var s *Server
	var err error
	for try := 0; ; try++ {
		// a stopped parent's socket may take a moment to be released
		s, err = Listen(ServerOptions{Listen: addr, Identity: ident, Log: log, LinkDownAfter: time.Second, MaySpeakFor: tierSubtree, Logger: logger})
		if err == nil || try == 50 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	return s, serve(t, s)
}

// tierSubtree is the catalogue of a region tier of two replicas with one
// site under it.
func tierSubtree(child, origin string) bool {
	return (child == "region-a1" || child == "region-a2") && origin == "site"
}

// replica is one region replica: its log, its parent side and its link up.
type replica struct {
	id        string
	ident     *pki.Identity
	log       *event.Log
	addr      string
	stopSrv   func()
	stopUp    func()
	upstreams []string
	logs      *logtest.Buffer
}

func (r *replica) start(t *testing.T) {
	t.Helper()
	var srv *Server
	logger := r.logs.Logger().With("node", r.id)
	srv, r.stopSrv = runServer(t, r.ident, r.log, r.addr, logger)
	r.addr = srv.Addr()
	_, r.stopUp = startClientWith(t, ClientOptions{Upstream: r.upstreams, Identity: r.ident, Log: r.log, Logger: logger})
}

func (r *replica) kill() { r.stopUp(); r.stopSrv() }

// siteSeqs checks that l holds origin's events of incarnation inc exactly
// once, in log order, from inc+1 to inc+n.
func checkExactlyOnce(t *testing.T, l *event.Log, origin string, inc uint64, n int) {
	t.Helper()
	all, err := l.Range(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := inc + 1
	for _, e := range all {
		if e.Origin != origin || e.Inc != inc {
			continue
		}
		if e.Seq != want {
			t.Fatalf("%s holds %s after %s/%d: lost, duplicated or out of order", l.Origin(), e.ID(), origin, want-1)
		}
		want++
	}
	if got := int(want - inc - 1); got != n {
		t.Fatalf("%s holds %d events of %s, want %d", l.Origin(), got, origin, n)
	}
}

// Issue 12, bug 2: events acknowledged by a replica that then dies, and by
// a replica whose disk is then lost, still reach the centre — once, in
// order — because every link-up starts from what that receiver holds.
func TestReplicaFailoverLosesNothing(t *testing.T) {
	ca := newPKI(t)
	centreID, _ := ca.identity("centre", time.Time{}, time.Hour)
	siteID, _ := ca.identity("site", time.Time{}, time.Hour)
	centreLog, siteLog := openLog(t, "centre"), openLog(t, "site")
	logs := &logtest.Buffer{}
	t.Cleanup(func() {
		if t.Failed() { // what each link did, to tell a stall from a loss
			t.Log(logs.String())
		}
	})
	centre, _ := runServer(t, centreID, centreLog, "", logs.Logger().With("node", "centre"))
	// each replica reaches the centre through a relay the test can cut
	cut := map[string]*netfault.Relay{}
	dir := t.TempDir()
	reps := map[string]*replica{}
	for _, id := range []string{"region-a1", "region-a2"} {
		relay, err := netfault.NewRelay(centre.Addr())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { relay.Close() })
		relay.Cut() // the centre is unreachable at first
		cut[id] = relay
		ident, _ := ca.identity(id, time.Time{}, time.Hour)
		l, err := event.OpenLog(filepath.Join(dir, id+".db"), id, nil)
		if err != nil {
			t.Fatal(err)
		}
		reps[id] = &replica{id: id, ident: ident, log: l, upstreams: []string{relay.Addr()}, logs: logs}
		reps[id].start(t)
	}
	a1, a2 := reps["region-a1"], reps["region-a2"]
	t.Cleanup(func() { a1.log.Close(); a2.log.Close() })
	_, stopSite := startClientWith(t, ClientOptions{Upstream: []string{a2.addr, a1.addr}, Identity: siteID, Log: siteLog,
		Logger: logs.Logger().With("node", "site")})
	defer stopSite()
	emit := func(n int) {
		for range n {
			if _, err := siteLog.Append(event.New("test.tick", "", "", nil)); err != nil {
				t.Fatal(err)
			}
		}
	}
	held := func(l *event.Log) uint64 {
		s, _ := l.Held("site", siteLog.Incarnation())
		return s - siteLog.Incarnation()
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("held: a1 %d, a2 %d, centre %d", held(a1.log), held(a2.log), held(centreLog))
		}
	})

	emit(10)
	testkit.WaitFor(t, 10*time.Second, "a2 to hold the first 10", func() bool { return held(a2.log) == 10 })
	a2.kill() // acknowledged 1..10, never forwarded them
	emit(10)
	testkit.WaitFor(t, 15*time.Second, "a1 to hold all 20 after the failover", func() bool { return held(a1.log) == 20 })
	cut["region-a1"].Heal()
	testkit.WaitFor(t, 15*time.Second, "the centre to hold 20 through a1", func() bool { return held(centreLog) == 20 })

	// a1 loses its disk after acknowledging 21..25 and before forwarding them
	cut["region-a1"].Cut()
	emit(5)
	testkit.WaitFor(t, 10*time.Second, "a1 to hold 25", func() bool { return held(a1.log) == 25 })
	a1.kill()
	a1.log.Close()
	wiped, err := event.OpenLog(filepath.Join(dir, "region-a1-new.db"), "region-a1", nil)
	if err != nil {
		t.Fatal(err)
	}
	a1.log = wiped
	cut["region-a1"].Heal()
	a1.start(t)
	a2.start(t) // back with 1..10, which the centre already holds
	cut["region-a2"].Heal()
	emit(5)
	testkit.WaitFor(t, 20*time.Second, "the centre to hold all 30", func() bool { return held(centreLog) == 30 })
	time.Sleep(500 * time.Millisecond) // a duplicate or a stray would land now
	checkExactlyOnce(t, centreLog, "site", siteLog.Incarnation(), 30)
	linked := a2.log // the replica the site ended on holds everything too
	if held(a1.log) == 30 {
		linked = a1.log
	}
	checkExactlyOnce(t, linked, "site", siteLog.Incarnation(), 30)
}

// Issue 12, bug 3: a node that comes back with an empty store under its
// old ID is a new incarnation: the centre keeps both, drops nothing.
func TestEmptyRejoinIsNewIncarnation(t *testing.T) {
	ca := newPKI(t)
	centreID, _ := ca.identity("centre", time.Time{}, time.Hour)
	siteID, _ := ca.identity("site", time.Time{}, time.Hour)
	centreLog := openLog(t, "centre")
	var restarted struct {
		sync.Mutex
		origin    string
		inc, prev uint64
	}
	centre, err := Listen(ServerOptions{Listen: "127.0.0.1:0", Identity: centreID, Log: centreLog,
		OnIncarnation: func(_, origin string, inc, prev uint64) {
			restarted.Lock()
			restarted.origin, restarted.inc, restarted.prev = origin, inc, prev
			restarted.Unlock()
		}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { centre.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	dir := t.TempDir()
	first, err := event.OpenLog(filepath.Join(dir, "first.db"), "site", nil)
	if err != nil {
		t.Fatal(err)
	}
	for range 8 {
		_, _ = first.Append(event.New("test.tick", "", "", nil))
	}
	_, stop := startClient(t, siteID, first, centre.Addr())
	testkit.WaitFor(t, 10*time.Second, "the first incarnation at the centre", func() bool {
		s, _ := centreLog.Held("site", first.Incarnation())
		return s == first.Incarnation()+8
	})
	stop()
	first.Close()
	time.Sleep(5 * time.Millisecond)
	second, err := event.OpenLog(filepath.Join(dir, "second.db"), "site", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	if second.Incarnation() <= first.Incarnation()+8 {
		t.Fatalf("second incarnation %d overlaps the first's sequence (up to %d)", second.Incarnation(), first.Incarnation()+8)
	}
	for range 12 {
		_, _ = second.Append(event.New("test.tick", "", "", nil))
	}
	startClient(t, siteID, second, centre.Addr())
	testkit.WaitFor(t, 10*time.Second, "the restart reported", func() bool {
		restarted.Lock()
		defer restarted.Unlock()
		return restarted.origin == "site" && restarted.inc == second.Incarnation() && restarted.prev == first.Incarnation()
	})
	testkit.WaitFor(t, 10*time.Second, "the second incarnation at the centre", func() bool {
		s, _ := centreLog.Held("site", second.Incarnation())
		return s == second.Incarnation()+12
	})
	checkExactlyOnce(t, centreLog, "site", first.Incarnation(), 8)
	checkExactlyOnce(t, centreLog, "site", second.Incarnation(), 12)
}

// A fetch queued on the replica whose link announced a segment moves to
// the replica the origin now links through when the first cannot serve it
// (found by the fault harness: a replica wiped after forwarding a
// segment.closed left the centre asking it for that file forever).
func TestFetchMovesToTheReplicaThatLeads(t *testing.T) {
	ca := newPKI(t)
	centreID, _ := ca.identity("centre", time.Time{}, time.Hour)
	a1ID, _ := ca.identity("region-a1", time.Time{}, time.Hour)
	a2ID, _ := ca.identity("region-a2", time.Time{}, time.Hour)
	rig := newFragRig(t, 64<<10)
	centreLog := openLog(t, "centre")
	puller := &replicate.Puller{Queue: rig.q, Store: archiveParts(rig.arch)}
	srv, err := Listen(ServerOptions{Listen: "127.0.0.1:0", Identity: centreID, Log: centreLog, MaySpeakFor: tierSubtree,
		Puller: puller})
	if err != nil {
		t.Fatal(err)
	}
	puller.Routes = srv.Descendants
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { srv.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	// region-a1 announced the segment but no longer holds it
	startClientWith(t, ClientOptions{Upstream: []string{srv.Addr()}, Identity: a1ID, Log: openLog(t, "region-a1"),
		Files: PathSource(func(_, r string) (string, error) { return "", fmt.Errorf("segment %s: no such file", r) })})
	// the site now links through region-a2, which holds it
	a2Log := openLog(t, "region-a2")
	if _, err := a2Log.Ingest([]event.Event{{Origin: "site", Seq: 1, Kind: "test.tick"}}, "site"); err != nil {
		t.Fatal(err)
	}
	startClientWith(t, ClientOptions{Upstream: []string{srv.Addr()}, Identity: a2ID, Log: a2Log,
		Files: PathSource(func(_, r string) (string, error) { return filepath.Join(rig.dir, "child", r), nil })})
	testkit.WaitFor(t, 10*time.Second, "the site's route through region-a2", func() bool { return srv.Descendants()["site"] == "region-a2" })
	f := rig.fetch()
	f.Child = "region-a1"
	if err := rig.q.Add(f); err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, 15*time.Second, "the replica at the centre", func() bool {
		_, err := rig.arch.File("centre", "site", rig.rel)
		return err == nil
	})
	if n, _, _ := rig.q.Len("region-a1"); n != 0 {
		t.Fatalf("%d fetches left on region-a1", n)
	}
}

// A replica's resume must not skip events that arrive from its child
// while it works out where to start: the parent said it holds site up to
// 20, this replica held 1..10 when it asked, and 11..30 land meanwhile.
func TestResumeScansEventsStoredWhileStarting(t *testing.T) {
	site := openLog(t, "site")
	var from []event.Event
	for range 30 {
		e, err := site.Append(event.New("test.tick", "", "", nil))
		if err != nil {
			t.Fatal(err)
		}
		from = append(from, e)
	}
	inc := site.Incarnation()
	for round := range 200 {
		replica := openLog(t, fmt.Sprintf("region-%d", round))
		if _, err := replica.Ingest(from[:10], "site"); err != nil {
			t.Fatal(err)
		}
		c := NewClient(ClientOptions{Log: replica, Identity: &pki.Identity{NodeID: replica.Origin()}})
		sh := &shipper{c: c, held: map[string]uint64{event.Mark{Origin: "site", Inc: inc}.Key(): inc + 20}, skip: map[string]bool{}}
		done := make(chan error, 1)
		go func() { _, err := replica.Ingest(from[10:], "site"); done <- err }()
		cursor, err := sh.start()
		if err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		pos, ok, err := replica.PosOf("site", inc, inc+21)
		if err != nil || !ok {
			t.Fatalf("round %d: site/21 not found: %v", round, err)
		}
		if cursor >= pos {
			t.Fatalf("round %d: resume starts after position %d, so site/21 at %d is never sent", round, cursor, pos)
		}
		replica.Close()
	}
}
