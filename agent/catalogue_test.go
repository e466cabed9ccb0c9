package agent

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/kuzet/kuzet/auth"
	"github.com/kuzet/kuzet/site"
	"github.com/kuzet/kuzet/topology"
)

func freeTCP(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// NVMS-6.18: a camera added in the centre's catalogue reaches the site over
// the link and records without a restart; the site caches its slice, so
// started while the centre is down it still runs every camera.
func TestCatalogueCamerasReachSite(t *testing.T) {
	src, dir, tls := federationRig(t)
	centre, stopCentre := startAgent(t, fmt.Sprintf(`
node: {id: centre, data_dir: %s/centre}
http: {listen: "127.0.0.1:0"}
federation: {listen: "127.0.0.1:0", heartbeat: 200ms, tls: %s}
topology: {listen: %q, bootstrap: true}
`, dir, tls("centre"), freeTCP(t)))
	siteYAML := fmt.Sprintf(`
node: {id: site, data_dir: %s/site}
http: {listen: "127.0.0.1:0"}
archive: {segment: 2s}
cameras: [{id: Local1, url: %q}]
federation: {upstream: [%q], heartbeat: 200ms, tls: %s}
`, dir, src.URL("cam1"), centre.FederationAddr(), tls("site"))
	siteA, stopSite := startAgent(t, siteYAML)

	cl, err := topology.NewClient("http://"+centre.HTTPAddr(), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		_, err := cl.PutNode(ctx, topology.Node{ID: "centre", Role: "centre"})
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("catalogue never took a write: %v", err)
		}
		time.Sleep(100 * time.Millisecond) // electing itself
	}
	if _, err := cl.PutNode(ctx, topology.Node{ID: "site", Role: "site", Parent: "centre"}); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.PutCamera(ctx, topology.Camera{ID: "Gate1", Site: "site", URL: src.URL("cam1")}); err != nil {
		t.Fatal(err)
	}
	waitRecording := func(a *Agent, camera string) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			segs, _ := a.Archive().Index().Segments(camera, time.Time{}, time.Time{})
			streaming := false
			for _, st := range a.Site().Status() {
				streaming = streaming || (st.ID == camera && st.State == site.StateStreaming)
			}
			if streaming && len(segs) > 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s never recorded: %+v", camera, a.Site().Status())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	waitRecording(siteA, "Gate1")
	waitRecording(siteA, "Local1")

	// the centre goes away; the site restarts on its own
	if err := stopCentre(); err != nil {
		t.Fatal(err)
	}
	if err := stopSite(); err != nil {
		t.Fatal(err)
	}
	restarted := time.Now()
	siteB, _ := startAgent(t, siteYAML)
	deadline := time.Now().Add(30 * time.Second)
	for {
		segs, _ := siteB.Archive().Index().Segments("Gate1", restarted, time.Now().Add(time.Hour))
		if len(segs) > 0 && segs[len(segs)-1].Start.After(restarted) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Gate1 not recorded after a restart without the parent: %+v", siteB.Site().Status())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Users added to the catalogue can log in at the catalogue's replicas; the
// file's users still can.
func TestCatalogueUsersLogIn(t *testing.T) {
	_, dir, tls := federationRig(t)
	p := auth.DefaultParams
	p.Memory, p.Time = 1024, 1
	hash := func(pw string) string {
		h, err := auth.HashPasswordParams(pw, p)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	centre, _ := startAgent(t, fmt.Sprintf(`
node: {id: centre, data_dir: %s/centre}
http: {listen: "127.0.0.1:0"}
federation: {listen: "127.0.0.1:0", tls: %s}
topology: {listen: %q, bootstrap: true}
users: [{name: root, role: admin, password_hash: %q}]
`, dir, tls("centre"), freeTCP(t), hash("root-password")))
	base := "http://" + centre.HTTPAddr()
	admin := newClient(t, base)
	if code := admin.login("root", "root-password"); code != 200 {
		t.Fatalf("file user login: %d", code)
	}
	body := fmt.Sprintf(`{"name": "olga", "role": "operator", "password_hash": %q}`, hash("olga-password"))
	deadline := time.Now().Add(20 * time.Second)
	for {
		code, msg := admin.do("POST", "/api/v1/topology/users", body)
		if code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("adding a catalogue user: %d %s", code, msg)
		}
		time.Sleep(200 * time.Millisecond) // the replica elects itself first
	}
	olga := newClient(t, base)
	if code := olga.login("olga", "olga-password"); code != 200 {
		t.Fatalf("catalogue user login: %d", code)
	}
	if code, _ := olga.do("GET", "/api/v1/audit", ""); code != 403 {
		t.Fatalf("catalogue operator reached the audit log: %d", code)
	}
	if code := newClient(t, base).login("olga", "wrong-password"); code != 401 {
		t.Fatalf("wrong password for a catalogue user: %d", code)
	}
}
