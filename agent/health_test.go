package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
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

	// the dashboard asks the site itself: its cameras, disk and uplink
	var dash []siteHealth
	testkit.WaitFor(t, 20*time.Second, "the site recording, on the dashboard", func() bool {
		dash = getSitesHealth(t, centre)
		return len(dash) == 2 && dash[1].Status != nil && len(dash[1].Status.Cameras) == 1 && dash[1].Status.Cameras[0].Recording &&
			dash[1].Status.Cameras[0].FPS > 0
	})
	if dash[0].Node != "centre" || dash[0].Status == nil || dash[0].Status.Uplink != nil || dash[0].Status.Disk == nil {
		t.Fatalf("the centre's own status: %+v", dash[0])
	}
	s := dash[1].Status
	if s.Node != "site" || s.Cameras[0].ID != "Camera1" || s.Cameras[0].State != "streaming" || s.Cameras[0].BitrateKbps <= 0 ||
		s.Cameras[0].Oldest.IsZero() || s.Disk == nil || s.Disk.FreeBytes == 0 || s.Disk.TotalBytes < s.Disk.FreeBytes ||
		s.Uplink == nil || !s.Uplink.Connected || s.Uplink.Parent != "centre" {
		t.Fatalf("the site's status at the centre: %+v %+v %+v", s, s.Disk, s.Uplink)
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
	// on the dashboard it is there, with why it did not answer
	dash = getSitesHealth(t, centre)
	if len(dash) != 2 || dash[1].Node != "site" || dash[1].Status != nil || !strings.Contains(dash[1].Error, "no child link") {
		t.Fatalf("the dashboard with the site gone: %+v", dash)
	}
}

func getSitesHealth(t *testing.T, a *Agent) []siteHealth {
	t.Helper()
	resp, err := http.Get("http://" + a.HTTPAddr() + "/api/v1/sites/health")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out []siteHealth
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 {
		t.Fatalf("sites health: %d %v", resp.StatusCode, err)
	}
	return out
}
