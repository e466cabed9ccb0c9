package agent

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/kuzet/kuzet/federation"
	"github.com/kuzet/kuzet/internal/testkit"
)

// The centre's tree says, per site, whether its link is up and since
// when, how current its events and segments are, what is left to
// replicate, and which requests for its video failed, and why.
func TestTreeReportsSiteHealth(t *testing.T) {
	src, dir, tls := federationRig(t)
	centre, _ := startAgent(t, fmt.Sprintf(`
node: {id: centre, data_dir: %s/centre}
http: {listen: "127.0.0.1:0"}
federation: {listen: "127.0.0.1:0", heartbeat: 200ms, link_down_after: 1s, tls: %s, fragments: {policy: all}}
`, dir, tls("centre")))
	site, stopSite := startAgent(t, fmt.Sprintf(`
node: {id: site, data_dir: %s/site}
http: {listen: "127.0.0.1:0"}
archive: {segment: 2s}
cameras: [{id: Camera1, url: %q}]
federation: {upstream: [%q], heartbeat: 200ms, tls: %s}
`, dir, src.URL("cam1"), centre.FederationAddr(), tls("site")))
	_ = site
	health := func() (*federation.ObservedNode, *federation.NodeHealth) {
		for _, n := range centre.Tree().Children {
			if n.ID == "site" {
				return n, n.Health
			}
		}
		return nil, nil
	}
	testkit.WaitFor(t, 40*time.Second, "the site's segments at the centre", func() bool {
		_, h := health()
		return h != nil && h.Linked != nil && *h.Linked && time.Since(h.LastSegment) < 5*time.Second
	})
	n, h := health()
	if n.Status != "online" || h.Via != "site" || time.Since(h.LastEvent) > 5*time.Second || h.LinkSince.IsZero() || h.Failed != 0 {
		t.Fatalf("a linked site's health: %s %+v", n.Status, h)
	}

	// a request that fails is counted against the site, with its reason
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	err := centre.ensureRelay(ctx, "site/NoSuchCamera")
	cancel()
	if err == nil {
		t.Fatal("a relay of a camera the site does not have started")
	}
	_, h = health()
	if h.Failed != 1 || !strings.Contains(h.LastFailure, "live NoSuchCamera") || time.Since(h.LastFailureAt) > 10*time.Second {
		t.Fatalf("after a failed relay: %+v", h)
	}

	// the site goes: its link is down since then, and asking it fails
	if err := stopSite(); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	testkit.WaitFor(t, 10*time.Second, "the link down at the centre", func() bool {
		n, h := health()
		return n != nil && n.Status == "offline" && h.Linked != nil && !*h.Linked
	})
	_, h = health()
	if h.LinkSince.Before(stopped.Add(-time.Second)) || h.LinkSince.After(time.Now()) {
		t.Fatalf("link down since %v, the site stopped at %v", h.LinkSince, stopped)
	}
	ctx, cancel = context.WithTimeout(context.Background(), 3*time.Second)
	err = centre.ensureRelay(ctx, "site/Camera1")
	cancel()
	_, h = health()
	if err == nil || h.Failed != 2 || !strings.Contains(h.LastFailure, "no link leads") {
		t.Fatalf("a relay of an unreachable site: %v; health %+v", err, h)
	}
}
