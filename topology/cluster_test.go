package topology

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/kuzet/kuzet/internal/testkit"
)

// A write on a follower goes to the leader over the forwarding protocol,
// is visible on that follower when acknowledged, reaches the other
// follower, and watchers see it with its revision.
func TestClusterForwardsWrites(t *testing.T) {
	pki := newTestPKI(t)
	reps := startCluster(t, pki, "region-a1", "region-a2", "region-a3")
	leader := waitLeader(t, reps...)
	fs := followers(reps, leader)
	ctx := ctxT(t)

	watchCtx, stopWatch := context.WithCancel(ctx)
	changes := fs[1].Watch(watchCtx)

	rev := applyR(t, fs[0], putNode("centre", RoleCentre, ""))
	if rev == 0 {
		t.Fatal("no revision")
	}
	// read-your-writes on the replica that took the write
	if _, ok := fs[0].Catalogue().Node("centre"); !ok || fs[0].Catalogue().Revision() < rev {
		t.Fatalf("follower does not see its own acknowledged write (revision %d)", fs[0].Catalogue().Revision())
	}
	for seen := uint64(0); seen < rev; {
		select {
		case ch := <-changes:
			if ch.Revision <= seen || ch.Type != PutNode || ch.Key != "centre" {
				t.Fatalf("change %+v after revision %d, want put_node centre", ch, seen)
			}
			seen = ch.Revision
		case <-time.After(30 * time.Second):
			t.Fatal("watcher did not see the change")
		}
	}
	// a refused change comes back from the leader with its code
	_, err := fs[1].Apply(ctx, putNode("khorgos-1", RoleSite, "nowhere"))
	for c := CodeOf(err); c == CodeUnavailable || c == CodeUnknownOutcome; c = CodeOf(err) {
		_, err = fs[1].Apply(ctx, putNode("khorgos-1", RoleSite, "nowhere"))
	}
	if CodeOf(err) != CodeInvalid || !strings.Contains(err.Error(), "unknown parent nowhere") {
		t.Fatalf("forwarded invalid change: %v", err)
	}
	// a linearizable read on the other follower includes the write
	c, err := fs[1].ConsistentCatalogue(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Node("centre"); !ok {
		t.Fatal("consistent read misses an acknowledged write")
	}
	stopWatch()
	testkit.WaitFor(t, 10*time.Second, "the watch channel to close", func() bool {
		select {
		case _, ok := <-changes:
			return !ok
		default:
			return false
		}
	})
	st := fs[0].Status()
	if len(st.Members) != 3 || st.Revision < rev || st.Leader == "" {
		t.Fatalf("status: %+v", st)
	}
}

// A removed replica gets no more changes and may no longer forward; a
// federation node from outside the group is refused; a node with a
// certificate from another CA cannot even connect.
func TestClusterMembership(t *testing.T) {
	pki := newTestPKI(t)
	reps := startCluster(t, pki, "centre-1", "centre-2", "centre-3")
	ctx := ctxT(t)

	if err := reps[0].Remove(ctx, "nobody"); CodeOf(err) != CodeNotFound {
		t.Fatalf("remove unknown member: %v", err)
	}
	leader := waitLeader(t, reps...)
	gone := followers(reps, leader)[0]
	retry(t, "remove", func(ctx context.Context) error {
		err := leader.Remove(ctx, gone.ID())
		if CodeOf(err) == CodeNotFound { // an earlier attempt did it
			return nil
		}
		return err
	})
	testkit.WaitFor(t, 30*time.Second, "two members", func() bool { return len(leader.Status().Members) == 2 })
	rev := applyR(t, leader, putNode("centre", RoleCentre, ""))
	var err error
	// the removed replica's forwarded write is refused by the leader
	short, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := gone.Apply(short, putNode("x", RoleCentre, "")); err == nil || CodeOf(err) == CodeInternal {
		t.Fatalf("removed replica's write: %v", err)
	}
	time.Sleep(500 * time.Millisecond)
	if gone.Catalogue().Revision() >= rev {
		t.Fatal("removed replica still receives changes")
	}

	// an outsider with a federation certificate: refused on both protocols
	outsider := pki.identity(t, "site-x")
	o := &Replica{ident: outsider, id: "site-x", o: Options{ApplyTimeout: 5 * time.Second}}
	o.layer, err = newLayer("127.0.0.1:0", "", outsider, testLoggerOrDiscard(t))
	if err != nil {
		t.Fatal(err)
	}
	defer o.layer.shutdown()
	resp, err := o.forward(ctx, leader.Address(), fwdRequest{Op: opReadIndex})
	if err != nil || resp.Code != CodeForbidden {
		t.Fatalf("outsider forward: %+v %v", resp, err)
	}
	c, err := o.layer.Dial(raft.ServerAddress(leader.Address()), 5*time.Second)
	if err == nil {
		// the leader closes the connection once it has seen the certificate
		c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := c.Read(make([]byte, 1)); err == nil {
			t.Fatal("outsider kept a Raft connection")
		}
		c.Close()
	}

	// another CA: the handshake itself fails
	other := newTestPKI(t).identity(t, "centre-2")
	d := tls.Dialer{Config: other.MutualTLS(false, RaftALPN, nil)}
	if c, err := d.DialContext(ctx, "tcp", leader.Address()); err == nil {
		c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := c.Read(make([]byte, 1)); err == nil {
			t.Fatal("a foreign CA's node kept a connection")
		}
		c.Close()
	}

	// and the removed replica can come back
	retry(t, "rejoin", func(ctx context.Context) error {
		return leader.Join(ctx, Peer{ID: gone.ID(), Address: gone.Address()})
	})
	if _, err := gone.WaitRevision(ctx, rev); err != nil {
		t.Fatalf("rejoined replica: %v", err)
	}
}

// A snapshot plus the log after it restore the same catalogue on restart,
// with the same revision.
func TestSnapshotAndRestartRestoreCatalogue(t *testing.T) {
	pki := newTestPKI(t)
	dir := t.TempDir()
	r := startReplica(t, pki, "centre-1", dir, func(o *Options) { o.Bootstrap = true })
	waitLeader(t, r)
	ctx := ctxT(t)
	for _, cmd := range []Command{
		putNode("centre", RoleCentre, ""), putNode("region-a", RoleRegion, "centre"),
		putNode("khorgos-1", RoleSite, "region-a"),
		{Type: PutZone, Zone: &Zone{ID: "lane-1", Site: "khorgos-1"}},
		putCamera("khorgos-1", "Camera1", "lane-1"),
	} {
		if _, err := r.Apply(ctx, cmd); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Snapshot(); err != nil {
		t.Fatal(err)
	}
	snaps, _ := filepath.Glob(filepath.Join(dir, "snapshots", "*", "state.bin"))
	if len(snaps) == 0 {
		t.Fatal("no snapshot written")
	}
	// changes after the snapshot come back from the log
	if _, err := r.Apply(ctx, putCamera("khorgos-1", "Camera2", "")); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Apply(ctx, Command{Type: DeleteCamera, Site: "khorgos-1", ID: "Camera1"}); err != nil {
		t.Fatal(err)
	}
	want := r.Catalogue()
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}

	r2 := startReplica(t, pki, "centre-1", dir, nil)
	waitLeader(t, r2)
	got, err := r2.ConsistentCatalogue(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Equal(want) || got.Revision() != want.Revision() {
		t.Fatalf("after restart:\n%+v\nwant\n%+v", got.Contents(), want.Contents())
	}
}

// A snapshot written by a v1 replica restores into the current schema
// when a replica starts on it, and the catalogue goes on from there.
func TestRestoreV1SnapshotFixture(t *testing.T) {
	fixture, err := os.ReadFile("testdata/catalogue-v1.json")
	if err != nil {
		t.Fatal(err)
	}
	pki := newTestPKI(t)
	dir := t.TempDir()
	// found a replica, then plant the v1 snapshot as its latest one
	r := startReplica(t, pki, "almaty-1", dir, func(o *Options) { o.Bootstrap = true })
	waitLeader(t, r)
	addr := r.Address()
	r.Close()
	plantSnapshot(t, dir, "almaty-1", addr, 57, fixture)

	r2 := startReplica(t, pki, "almaty-1", dir, func(o *Options) { o.Listen = addr })
	waitLeader(t, r2)
	c := r2.Catalogue()
	if c.Revision() != 57 {
		t.Fatalf("revision %d, want 57", c.Revision())
	}
	n, _ := c.Node("khorgos-1")
	if len(n.Addresses) != 1 || n.Addresses[0] != "10.20.0.11:7443" || n.CertSerial != "5a1f0c" ||
		n.CertFingerprint != "3f6a0b55219c4e8d1102abcdef0123456789abcdef0123456789abcdef012345" {
		t.Fatalf("migrated node %+v", n)
	}
	cam, _ := c.Camera("khorgos-1", "Camera1")
	if a := cam.Analytics.ANPR; !a.Enabled || a.FPS != 5 || cam.RetentionDays != 90 || cam.Zone != "truck-wait" {
		t.Fatalf("migrated camera %+v", cam)
	}
	if cam2, _ := c.Camera("khorgos-1", "Camera2"); cam2.Analytics.ANPR.Enabled || cam2.Transport != "udp" {
		t.Fatalf("migrated camera %+v", cam2)
	}
	if p, _ := c.Policy("khorgos-1"); p.Fragments != FragmentsReferenced || p.Mbps != 20 {
		t.Fatalf("migrated policy %+v", p)
	}
	if p, _ := c.Policy("region-east"); p.TotalMbps != 50 {
		t.Fatalf("migrated policy %+v", p)
	}
	if u, _ := c.User("admin"); u.PasswordHash == "" || len(u.Allow) != 1 {
		t.Fatalf("migrated user %+v", u)
	}
	s, err := c.SliceFor("khorgos-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Cameras) != 2 || len(s.RevokedNodes) != 1 || s.RevokedNodes[0].CertSerial != "77aa" || len(s.Upstream) != 1 {
		t.Fatalf("slice %+v", s)
	}
	// it goes on: a new change, a new (v2) snapshot, a restart
	ctx := ctxT(t)
	if _, err := r2.Apply(ctx, Command{Type: DeleteNode, ID: "nurzhol"}); err != nil {
		t.Fatal(err)
	}
	if err := r2.Snapshot(); err != nil {
		t.Fatal(err)
	}
	want := r2.Catalogue()
	r2.Close()
	r3 := startReplica(t, pki, "almaty-1", dir, func(o *Options) { o.Listen = addr })
	waitLeader(t, r3)
	if got := r3.Catalogue(); !got.Equal(want) || got.Revision() != want.Revision() {
		t.Fatalf("after the v2 snapshot: %+v", got.Contents())
	}
}

func testLoggerOrDiscard(t *testing.T) *slog.Logger {
	if l := testLogger(t, "outsider"); l != nil {
		return l
	}
	return slog.New(slog.DiscardHandler)
}

// plantSnapshot writes data as the latest snapshot of a one-replica group.
func plantSnapshot(t *testing.T, dir, id, addr string, index uint64, data []byte) {
	t.Helper()
	snaps, err := raft.NewFileSnapshotStore(dir, 3, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	cfg := raft.Configuration{Servers: []raft.Server{{ID: raft.ServerID(id), Address: raft.ServerAddress(addr), Suffrage: raft.Voter}}}
	_, trans := raft.NewInmemTransport(raft.ServerAddress(addr))
	sink, err := snaps.Create(raft.SnapshotVersionMax, index, 1, cfg, 1, trans)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sink.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := sink.Close(); err != nil {
		t.Fatal(err)
	}
}

// Three replicas configured alike (bootstrap with the same peers) found one
// cluster, whichever starts first; a restart with the same settings keeps
// its state rather than founding another.
func TestBootstrapWithPeers(t *testing.T) {
	pki := newTestPKI(t)
	var peers []Peer
	for attempt := 0; ; attempt++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		peers = nil
		free := true
		for i := 1; i <= 3; i++ {
			addr := fmt.Sprintf("127.0.0.%d:%d", i+1, port)
			if l, err := net.Listen("tcp", addr); err != nil {
				free = false
			} else {
				l.Close()
			}
			peers = append(peers, Peer{ID: fmt.Sprintf("centre-%d", i), Address: addr})
		}
		if free {
			break
		}
		if attempt == 5 {
			t.Skip("no port free on 127.0.0.2-4")
		}
	}
	dirs := []string{t.TempDir(), t.TempDir(), t.TempDir()}
	start := func(i int) *Replica {
		return startReplica(t, pki, peers[i].ID, dirs[i], func(o *Options) {
			o.Listen, o.Bootstrap, o.Peers = peers[i].Address, true, peers
		})
	}
	reps := []*Replica{start(2), start(0), start(1)}
	leader := waitLeader(t, reps...)
	rev := applyR(t, reps[0], putNode("centre", RoleCentre, ""))
	for _, r := range reps {
		if st := r.Status(); len(st.Members) != 3 {
			t.Fatalf("%s sees members %+v", r.ID(), st.Members)
		}
	}
	// restart a follower with the same bootstrap settings
	f := followers(reps, leader)[0]
	i := slices.IndexFunc(peers, func(p Peer) bool { return p.ID == f.ID() })
	f.Close()
	again := start(i)
	if _, err := again.WaitRevision(ctxT(t), rev); err != nil {
		t.Fatal(err)
	}
	if _, ok := again.Catalogue().Node("centre"); !ok {
		t.Fatal("restarted replica lost its catalogue")
	}
}
