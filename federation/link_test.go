package federation

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/internal/netfault"
	"github.com/kuzet/kuzet/internal/testkit"
	"github.com/kuzet/kuzet/pki"
)

// testCA builds a CA in dir and issues certificates on demand.
type testCA struct {
	t   *testing.T
	dir string
}

func newPKI(t *testing.T) *testCA {
	dir := t.TempDir()
	if err := pki.InitCA(dir, "test federation", 24*time.Hour); err != nil {
		t.Fatal(err)
	}
	return &testCA{t: t, dir: dir}
}

func (p *testCA) identity(id string, notBefore time.Time, validity time.Duration, revoked ...string) (*pki.Identity, pki.Issued) {
	p.t.Helper()
	iss, err := pki.IssueNode(p.dir, id, p.dir, notBefore, validity)
	if err != nil {
		p.t.Fatal(err)
	}
	ident, err := pki.LoadIdentity(filepath.Join(p.dir, pki.CACertFile), iss.CertPath, iss.KeyPath, revoked)
	if err != nil {
		p.t.Fatal(err)
	}
	return ident, iss
}

// syncBuffer collects log output from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func openLog(t *testing.T, origin string) *event.Log {
	t.Helper()
	l, err := event.OpenLog(filepath.Join(t.TempDir(), "events.db"), origin, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// testSubtree is the catalogue of the tests' hierarchy: centre → region →
// site → grandchild.
func testSubtree(child, origin string) bool {
	under := map[string][]string{"region": {"site", "grandchild"}, "site": {"grandchild"}}
	return slices.Contains(under[child], origin)
}

func startServer(t *testing.T, ident *pki.Identity, log *event.Log, logs *syncBuffer) *Server {
	t.Helper()
	lg := slog.New(slog.DiscardHandler)
	if logs != nil {
		lg = slog.New(slog.NewTextHandler(logs, nil))
	}
	s, err := Listen(ServerOptions{Listen: "127.0.0.1:0", Identity: ident, Log: log, Logger: lg, LinkDownAfter: time.Second,
		MaySpeakFor: testSubtree})
	if err != nil {
		t.Fatal(err)
	}
	serve(t, s)
	return s
}

// serve runs s until stop is called or the test ends.
func serve(t *testing.T, s *Server) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return stop
}

func startClient(t *testing.T, ident *pki.Identity, log *event.Log, upstream ...string) (*Client, func()) {
	t.Helper()
	return startClientWith(t, ClientOptions{Upstream: upstream, Identity: ident, Log: log})
}

// startClientWith runs a child link with test timings.
func startClientWith(t *testing.T, o ClientOptions) (*Client, func()) {
	t.Helper()
	o.Heartbeat, o.IdleTimeout, o.BackoffMax = 200*time.Millisecond, 2*time.Second, 500*time.Millisecond
	c := NewClient(o)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { c.Run(ctx); close(done) }()
	var once sync.Once
	stop := func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return c, stop
}

// Peers that must not link are refused during the handshake, with the
// reason in the parent's log.
func TestLinkRefusesBadPeers(t *testing.T) {
	ca := newPKI(t)
	other := newPKI(t)
	now := time.Now()
	parentID, _ := ca.identity("region-1", time.Time{}, time.Hour)
	_, revokedCert := ca.identity("site-revoked", time.Time{}, time.Hour)
	parentID.SetRevoked([]string{revokedCert.Serial})
	var logs syncBuffer
	srv := startServer(t, parentID, openLog(t, "region-1"), &logs)

	good, _ := ca.identity("site-good", time.Time{}, time.Hour)
	_, foreign := other.identity("site-foreign", time.Time{}, time.Hour)
	// it trusts our CA too, so the refusal comes from the parent
	ours, _ := os.ReadFile(filepath.Join(ca.dir, pki.CACertFile))
	theirs, _ := os.ReadFile(filepath.Join(other.dir, pki.CACertFile))
	bundle := filepath.Join(t.TempDir(), "both-ca.pem")
	if err := os.WriteFile(bundle, append(theirs, ours...), 0o644); err != nil {
		t.Fatal(err)
	}
	wrongCA, err := pki.LoadIdentity(bundle, foreign.CertPath, foreign.KeyPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	revoked, err := pki.LoadIdentity(filepath.Join(ca.dir, pki.CACertFile), revokedCert.CertPath, revokedCert.KeyPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	expired, _ := ca.identity("site-expired", now.Add(-30*time.Minute), 10*time.Minute)
	liar, _ := ca.identity("site-liar", time.Time{}, time.Hour)
	liar.NodeID = "site-good" // claims another node's name in its hello

	cases := []struct {
		ident  *pki.Identity
		reason string
	}{
		{wrongCA, `"site-foreign" is not signed by the federation CA`},
		{revoked, "is revoked"},
		{expired, `certificate of "site-expired" expired`},
		{liar, `node ID "site-good" does not match its certificate, which names "site-liar"`},
	}
	for _, c := range cases {
		cl, stop := startClient(t, c.ident, openLog(t, c.ident.NodeID), srv.Addr())
		defer func() {
			if t.Failed() {
				t.Logf("parent log:\n%s\nchild: %+v", logs.String(), cl.Status())
			}
		}()
		testkit.WaitFor(t, 5*time.Second, "refusal of "+c.ident.NodeID, func() bool {
			parentLog := strings.ReplaceAll(logs.String(), `\"`, `"`)
			return strings.Contains(parentLog, c.reason) && cl.Status().LastError != ""
		})
		stop()
		if cl.Status().Connected {
			t.Errorf("%s linked", c.ident.NodeID)
		}
		t.Logf("%s: child saw %q", c.ident.NodeID, cl.Status().LastError)
	}
	for _, ch := range srv.Children() {
		t.Errorf("refused peer listed as child: %+v", ch)
	}

	// and the good one links, measuring RTT and clock offset
	cl, _ := startClient(t, good, openLog(t, "site-good"), srv.Addr())
	testkit.WaitFor(t, 5*time.Second, "good link", func() bool { st := cl.Status(); return st.Connected && st.RTT > 0 })
	st := cl.Status()
	if st.Parent != "region-1" || st.ClockOffset > time.Second || st.ClockOffset < -time.Second {
		t.Fatalf("status %+v", st)
	}
}

// A child's parent must also present a valid federation certificate.
func TestChildRefusesForeignParent(t *testing.T) {
	ca, other := newPKI(t), newPKI(t)
	parent, _ := other.identity("region-x", time.Time{}, time.Hour)
	srv := startServer(t, parent, openLog(t, "region-x"), nil)
	child, _ := ca.identity("site-1", time.Time{}, time.Hour)
	cl, _ := startClient(t, child, openLog(t, "site-1"), srv.Addr())
	testkit.WaitFor(t, 5*time.Second, "refusal", func() bool {
		return strings.Contains(cl.Status().LastError, `"region-x" is not signed by the federation CA`)
	})
}

// NVMS-6.17/6.18/6.7: site → region → centre. The site keeps logging while
// its uplink is cut and is restarted once; afterwards the centre holds every
// site event exactly once, in order, with its path.
func TestEventsReachCentreExactlyOnceAcrossCutAndRestart(t *testing.T) {
	ca := newPKI(t)
	centreID, _ := ca.identity("centre", time.Time{}, time.Hour)
	regionID, _ := ca.identity("region", time.Time{}, time.Hour)
	siteID, _ := ca.identity("site", time.Time{}, time.Hour)
	centreLog, regionLog := openLog(t, "centre"), openLog(t, "region")
	siteDB := filepath.Join(t.TempDir(), "events.db")
	siteLog, err := event.OpenLog(siteDB, "site", nil)
	if err != nil {
		t.Fatal(err)
	}

	centre := startServer(t, centreID, centreLog, nil)
	region := startServer(t, regionID, regionLog, nil)
	startClient(t, regionID, regionLog, centre.Addr())
	relay, err := netfault.NewRelay(region.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer relay.Close()
	siteClient, stopSite := startClient(t, siteID, siteLog, relay.Addr())

	emit := func(l *event.Log, from, to int) {
		for i := from; i < to; i++ {
			if _, err := l.Append(event.New("test.tick", "Camera1", "", map[string]int{"n": i})); err != nil {
				t.Fatal(err)
			}
		}
	}
	emit(siteLog, 0, 50)
	testkit.WaitFor(t, 10*time.Second, "first 50 at the centre", func() bool { return countOrigin(t, centreLog, "site") == 50 })

	relay.Cut()
	emit(siteLog, 50, 100)              // the site keeps working while cut off
	time.Sleep(2500 * time.Millisecond) // longer than the region's link-down threshold
	if siteClient.Status().Backlog == 0 {
		t.Fatal("nothing waiting while the link is cut")
	}
	// restart: process state goes, the durable log and cursor stay
	stopSite()
	siteLog.Close()
	siteLog, err = event.OpenLog(siteDB, "site", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer siteLog.Close()
	emit(siteLog, 100, 120)
	startClient(t, siteID, siteLog, relay.Addr())
	time.Sleep(500 * time.Millisecond)
	relay.Heal()

	testkit.WaitFor(t, 15*time.Second, "all 120 at the centre", func() bool { return countOrigin(t, centreLog, "site") >= 120 })
	time.Sleep(500 * time.Millisecond) // any duplicate would arrive now
	all, _ := centreLog.Range(0, 0)
	var seqs []uint64
	for _, e := range all {
		if e.Origin != "site" {
			continue
		}
		seqs = append(seqs, e.Seq)
		if fmt.Sprint(e.Path) != "[site region centre]" {
			t.Fatalf("event %s path %v", e.ID(), e.Path)
		}
	}
	if len(seqs) != 120 {
		t.Fatalf("centre holds %d site events, want 120 exactly once", len(seqs))
	}
	for i, s := range seqs {
		if s != siteLog.Incarnation()+uint64(i+1) {
			t.Fatalf("site events out of order or missing at %d: seq %d", i, s)
		}
	}
	// the region's own link alarm (the site went silent) reached the centre too
	if countOrigin(t, centreLog, "region") == 0 {
		r, _ := regionLog.Range(0, 0)
		for _, e := range r {
			if e.Origin == "region" {
				t.Logf("region event %s %s", e.Kind, e.Payload)
			}
		}
		t.Fatal("no region events at the centre")
	}
}

func countOrigin(t *testing.T, l *event.Log, origin string) int {
	t.Helper()
	all, err := l.Range(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range all {
		if e.Origin == origin {
			n++
		}
	}
	return n
}

// A child whose configured parent address is dead moves to a replica
// address the catalogue gave it.
func TestChildFailsOverToCatalogueReplicas(t *testing.T) {
	p := newPKI(t)
	parentID, _ := p.identity("centre-2", time.Time{}, time.Hour)
	childID, _ := p.identity("site-x", time.Time{}, time.Hour)
	srv := startServer(t, parentID, openLog(t, "centre-2"), nil)
	dead := "127.0.0.1:9" // nothing answers QUIC on the discard port
	cl, _ := startClient(t, childID, openLog(t, "site-x"), dead)
	time.Sleep(500 * time.Millisecond)
	if cl.Status().Connected {
		t.Fatal("linked to a dead address")
	}
	cl.SetUpstream([]string{dead, srv.Addr()})
	testkit.WaitFor(t, 15*time.Second, "failover to the catalogue's replica", func() bool {
		st := cl.Status()
		return st.Connected && st.Parent == "centre-2"
	})
}

// A child whose certificate is revoked while linked is cut off at once.
func TestRevocationDropsLiveLink(t *testing.T) {
	p := newPKI(t)
	parentID, _ := p.identity("centre-3", time.Time{}, time.Hour)
	childID, issued := p.identity("site-r", time.Time{}, time.Hour)
	srv := startServer(t, parentID, openLog(t, "centre-3"), nil)
	cl, _ := startClient(t, childID, openLog(t, "site-r"), srv.Addr())
	testkit.WaitFor(t, 10*time.Second, "link up", func() bool { return cl.Status().Connected })
	if n := srv.DropRevoked(); n != 0 {
		t.Fatalf("dropped %d links with nothing revoked", n)
	}
	parentID.SetRevoked([]string{issued.Serial})
	if n := srv.DropRevoked(); n != 1 {
		t.Fatalf("dropped %d links, want the revoked child's", n)
	}
	testkit.WaitFor(t, 10*time.Second, "link down", func() bool { return !cl.Status().Connected })
	time.Sleep(time.Second) // it may not link again
	if cl.Status().Connected {
		t.Fatal("revoked child linked again")
	}
}

// A revocation that lands while a child is half-way through its handshake
// (certificate checked, link not yet registered) must still close the
// link: whatever the moment, a revoked child ends up unlinked and stays so.
func TestRevocationDuringHandshake(t *testing.T) {
	testkit.Long(t)
	p := newPKI(t)
	parentID, _ := p.identity("centre-4", time.Time{}, time.Hour)
	srv := startServer(t, parentID, openLog(t, "centre-4"), nil)
	// how long a link takes to come up here, to sweep the revocation
	// across it
	probeID, _ := p.identity("site-probe", time.Time{}, time.Hour)
	t0 := time.Now()
	probe, stopProbe := startClient(t, probeID, openLog(t, "site-probe"), srv.Addr())
	testkit.WaitFor(t, 10*time.Second, "probe linked", func() bool { return probe.Status().Connected })
	up := time.Since(t0)
	stopProbe()
	const steps = 30
	var revoked []string
	for i := range steps {
		id := fmt.Sprintf("site-h%d", i)
		childID, issued := p.identity(id, time.Time{}, time.Hour)
		cl, stop := startClient(t, childID, openLog(t, id), srv.Addr())
		time.Sleep(up * time.Duration(i) / steps) // sweep the handshake
		revoked = append(revoked, issued.Serial)
		parentID.SetRevoked(revoked)
		srv.DropRevoked()
		linked := func() bool {
			if cl.Status().Connected {
				return true
			}
			for _, c := range srv.Children() {
				if c.NodeID == id && c.Connected {
					return true
				}
			}
			return false
		}
		testkit.WaitFor(t, 5*time.Second, id+" unlinked", func() bool { return !linked() })
		// a handshake that slipped past the revocation completes in about
		// up: wait twice that before looking again
		time.Sleep(max(100*time.Millisecond, 2*up))
		if linked() {
			t.Fatalf("revoked %s linked again (revoked %v after its start)", id, up*time.Duration(i)/steps)
		}
		stop()
	}
}
