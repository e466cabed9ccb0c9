package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kuzet/kuzet/auth"
	"github.com/kuzet/kuzet/internal/testkit"
	"github.com/kuzet/kuzet/site"
	"github.com/kuzet/kuzet/topology"
)

// catalogueCentre is the configuration of a centre that keeps the
// catalogue, with the federation certificates of federationRig and extra
// lines appended.
func catalogueCentre(t *testing.T, dir string, tls func(string) string, extra string) string {
	return fmt.Sprintf(`
node: {id: centre, data_dir: %s/centre}
http: {listen: "127.0.0.1:0"}
federation: {listen: "127.0.0.1:0", heartbeat: 200ms, tls: %s}
topology: {listen: %q, bootstrap: true}
`, dir, tls("centre"), testkit.Port(t)) + extra
}

// centreAndSite waits until the centre's catalogue takes writes (it elects
// itself first) and puts the centre and the site in it; ctx bounds the
// test's calls.
// catalogueSite starts a centre with the catalogue and a site below it
// that takes its cameras and zones from it; it returns the site, a client
// of the centre's catalogue (with both nodes in it) and the data folder.
func catalogueSite(t *testing.T) (*Agent, *topology.Client, context.Context, string) {
	t.Helper()
	_, dir, tls := federationRig(t)
	centre, _ := startAgent(t, catalogueCentre(t, dir, tls, ""))
	site, _ := startAgent(t, fmt.Sprintf(`
node: {id: site, data_dir: %s/site}
http: {listen: "127.0.0.1:0", allow: [127.0.0.1]}
federation: {upstream: [%q], heartbeat: 200ms, tls: %s}
`, dir, centre.FederationAddr(), tls("site")))
	cl, ctx := centreAndSite(t, centre)
	return site, cl, ctx, dir
}

func centreAndSite(t *testing.T, centre *Agent) (*topology.Client, context.Context) {
	t.Helper()
	cl, err := topology.NewClient("http://"+centre.HTTPAddr(), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
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
	return cl, ctx
}

// NVMS-6.18: a camera added in the centre's catalogue reaches the site over
// the link and records without a restart; the site caches its slice, so
// started while the centre is down it still runs every camera.
func TestCatalogueCamerasReachSite(t *testing.T) {
	src, dir, tls := federationRig(t)
	centre, stopCentre := startAgent(t, catalogueCentre(t, dir, tls, ""))
	siteYAML := fmt.Sprintf(`
node: {id: site, data_dir: %s/site}
http: {listen: "127.0.0.1:0"}
archive: {segment: 2s}
cameras: [{id: Local1, url: %q}]
federation: {upstream: [%q], heartbeat: 200ms, tls: %s}
`, dir, src.URL("cam1"), centre.FederationAddr(), tls("site"))
	siteA, stopSite := startAgent(t, siteYAML)

	cl, ctx := centreAndSite(t, centre)
	if _, err := cl.PutCamera(ctx, topology.Camera{ID: "Gate1", Site: "site", URL: src.URL("cam1"), SubPath: "/cam1-sub"}); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.PutCamera(ctx, topology.Camera{ID: "Gate2", Site: "site", URL: src.URL("cam1"), SubPath: "cam1-sub"}); err == nil ||
		!strings.Contains(err.Error(), "sub_path") {
		t.Fatalf("a sub_path that is no path: %v", err)
	}
	// a camera recorded on events, from the catalogue; a schedule the site
	// could not follow is refused at the catalogue
	if _, err := cl.PutCamera(ctx, topology.Camera{ID: "Yard9", Site: "site", URL: "rtsp://127.0.0.1:1/yard9", Disabled: true,
		Record: &topology.CameraRecord{Mode: "event", On: []string{"api"}, PreSeconds: 5, Schedule: []string{"funday 08:00-09:00"}}}); err == nil ||
		!strings.Contains(err.Error(), "record.schedule") || !strings.Contains(err.Error(), "funday") {
		t.Fatalf("a schedule with a day that does not exist: %v", err)
	}
	if _, err := cl.PutCamera(ctx, topology.Camera{ID: "Yard9", Site: "site", URL: "rtsp://127.0.0.1:1/yard9", Disabled: true,
		Record: &topology.CameraRecord{Mode: "event", Sub: "sometimes"}}); err == nil || !strings.Contains(err.Error(), "record.sub") {
		t.Fatalf("a sub-stream recording that is neither continuous nor off: %v", err)
	}
	if _, err := cl.PutCamera(ctx, topology.Camera{ID: "Yard9", Site: "site", URL: "rtsp://127.0.0.1:1/yard9", Disabled: true,
		Record: &topology.CameraRecord{Mode: "event", On: []string{"api"}, PreSeconds: 5, Schedule: []string{"sat,sun 00:00-24:00"}}}); err != nil {
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
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if p := siteA.rec.Policy("Yard9"); p.Mode == "event" && p.Pre == 5*time.Second && len(p.Schedule) == 1 && p.Takes("api") && !p.Takes("motion") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the catalogue's recording mode never reached the site: %+v", siteA.rec.Policy("Yard9"))
		}
	}
	// its sub-stream came with it, and the site's tree names it
	if c, _ := siteA.camera("Gate1"); c.SubPath != "/cam1-sub" || c.SubURL() != src.URL("cam1-sub") {
		t.Fatalf("Gate1 at the site: sub_path %q, sub-stream %q", c.SubPath, c.SubURL())
	}
	for _, c := range siteA.Tree().Cameras {
		if want := map[string]string{"Gate1": "Gate1~sub"}[c.ID]; c.Sub != want {
			t.Fatalf("%s in the site's tree: sub %q, want %q", c.ID, c.Sub, want)
		}
	}

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
`, dir, tls("centre"), testkit.Port(t), hash("root-password")))
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

// Issue 14, part 5: camera passwords in the catalogue are write-only.
// Engineers and admins read every camera, slice and the whole catalogue
// through the node's API without ever seeing one (password_set says one is
// stored); a camera read, edited and put back keeps its password; the site
// still gets the real URL over its link and records the camera; the audit
// log says what each change did without the secret; and no file of either
// node holds the password in clear: the replica's Raft log and snapshot
// and the site's cached slice are sealed with each node's own key.
func TestCataloguePasswordsAreWriteOnly(t *testing.T) {
	src, dir, tls := federationRig(t)
	p := auth.DefaultParams
	p.Memory, p.Time = 1024, 1
	hash := func(pw string) string {
		h, err := auth.HashPasswordParams(pw, p)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	centre, _ := startAgent(t, catalogueCentre(t, dir, tls, fmt.Sprintf(`users:
  - {name: root, role: admin, password_hash: %q}
  - {name: erik, role: engineer, password_hash: %q}
  - {name: vera, role: viewer, password_hash: %q}
`, hash("root-password"), hash("erik-password"), hash("vera-password"))))
	siteA, _ := startAgent(t, fmt.Sprintf(`
node: {id: site, data_dir: %s/site}
http: {listen: "127.0.0.1:0"}
archive: {segment: 2s}
federation: {upstream: [%q], heartbeat: 200ms, tls: %s}
`, dir, centre.FederationAddr(), tls("site")))
	base := "http://" + centre.HTTPAddr()
	as := map[string]*client{}
	for user, pw := range map[string]string{"root": "root-password", "erik": "erik-password", "vera": "vera-password"} {
		as[user] = newClient(t, base)
		if code := as[user].login(user, pw); code != 200 {
			t.Fatalf("login %s: %d", user, code)
		}
	}
	must := func(c *client, method, path, body string, want int) string {
		t.Helper()
		code, b := c.do(method, path, body)
		if code != want {
			t.Fatalf("%s %s: %d %s", method, path, code, b)
		}
		return b
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, b := as["erik"].do("POST", "/api/v1/topology/nodes", `{"id": "centre", "role": "centre"}`)
		if code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("catalogue never took a write: %d %s", code, b)
		}
		time.Sleep(100 * time.Millisecond) // electing itself
	}
	must(as["erik"], "POST", "/api/v1/topology/nodes", `{"id": "site", "role": "site", "parent": "centre"}`, 200)
	const pw = "S3cret-Cam-Pw"
	camURL := strings.Replace(src.URL("cam1"), "rtsp://", "rtsp://viewer:"+pw+"@", 1)
	must(as["erik"], "POST", "/api/v1/topology/cameras", fmt.Sprintf(`{"id": "Gate1", "site": "site", "url": %q}`, camURL), 200)

	// the site gets the real URL over its link, and records the camera
	recording := func(a *Agent, camera string, since time.Time) bool {
		segs, _ := a.Archive().Index().Segments(camera, since, time.Now().Add(time.Hour))
		return len(segs) > 0
	}
	waitSite := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("the site: %s: %+v", what, siteA.Site().Status())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	waitSite("Gate1 recorded", func() bool { return recording(siteA, "Gate1", time.Time{}) })
	if c, _ := siteA.camera("Gate1"); c.URL != camURL {
		t.Fatalf("the site pulls %q, want the URL with its password", c.URL)
	}

	// every read, by every role that may read it
	reads := []struct {
		who, path string
	}{
		{"erik", "/api/v1/topology/cameras"}, {"erik", "/api/v1/topology/cameras/site"},
		{"erik", "/api/v1/topology/cameras/site/Gate1"}, {"erik", "/api/v1/topology/slices/site"},
		{"erik", "/api/v1/topology/cameras?consistent=true"}, {"root", "/api/v1/topology/catalogue"},
		{"root", "/api/v1/topology/cameras"}, {"root", "/api/v1/topology/slices/site"},
		{"vera", "/api/v1/topology"}, {"root", "/api/v1/topology"}, {"vera", "/api/v1/tree"},
	}
	for _, r := range reads {
		if b := must(as[r.who], "GET", r.path, "", 200); strings.Contains(b, pw) {
			t.Errorf("GET %s as %s shows the camera password: %s", r.path, r.who, b)
		}
	}
	var cam map[string]any
	_ = json.Unmarshal([]byte(must(as["erik"], "GET", "/api/v1/topology/cameras/site/Gate1", "", 200)), &cam)
	if cam["password_set"] != true || cam["url"] != strings.Replace(camURL, ":"+pw, "", 1) {
		t.Fatalf("camera as engineers read it: %v", cam)
	}

	// read, edit, put back: the site keeps pulling with the password
	cam["direction"] = "exit"
	b, _ := json.Marshal(cam)
	must(as["erik"], "POST", "/api/v1/topology/cameras", string(b), 200)
	waitSite("Gate1 as exit", func() bool { c, _ := siteA.camera("Gate1"); return c.Direction == "exit" })
	if c, _ := siteA.camera("Gate1"); c.URL != camURL {
		t.Fatalf("after a put without the password the site pulls %q", c.URL)
	}
	restarted := time.Now()
	waitSite("Gate1 recorded after the change", func() bool { return recording(siteA, "Gate1", restarted) })

	// the audit log: what changed, never the password
	must(as["erik"], "POST", "/api/v1/topology/snapshot", "", 200)
	auditLog := must(as["root"], "GET", "/api/v1/audit?action=topology.change&limit=100", "", 200)
	if strings.Contains(auditLog, pw) {
		t.Errorf("the audit log shows the password: %s", auditLog)
	}
	for _, want := range []string{`put camera site/Gate1 (new): `, `password: set`, `put camera site/Gate1: direction: \"entry\" → \"exit\"`,
		`put node site (new): id=\"site\"; parent=\"centre\"`, `take a snapshot`} {
		if !strings.Contains(auditLog, want) {
			t.Errorf("the audit log lacks %s: %s", want, auditLog)
		}
	}

	// on disk: sealed everywhere (the video files aside)
	for _, node := range []string{"centre", "site"} {
		root := filepath.Join(dir, node)
		st, err := os.Stat(filepath.Join(root, "secret.key"))
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: node key %v %v", node, st, err)
		}
		err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || strings.HasSuffix(p, ".mp4") {
				return err
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if bytes.Contains(b, []byte(pw)) {
				t.Errorf("%s holds the camera password in clear", p)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"centre/topology/raft.db", "site/catalogue-slice.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	if snaps, _ := filepath.Glob(filepath.Join(dir, "centre", "topology", "snapshots", "*", "state.bin")); len(snaps) == 0 {
		t.Error("no snapshot taken")
	}
}

// A camera added in the centre's catalogue with a plate-event token can
// post its reads to its site: the token reaches the site as its hash over
// the link (and in the cached slice), the site checks it like a file
// camera's, and another token is refused.
func TestCatalogueCameraPostsPlates(t *testing.T) {
	siteA, cl, ctx, dir := catalogueSite(t)
	const token = "catalogue-gate-token-0123"
	if _, err := cl.PutCamera(ctx, topology.Camera{ID: "Gate1", Site: "site", URL: "rtsp://127.0.0.1:1/gate1", Disabled: true,
		Analytics: topology.Analytics{ANPR: topology.ANPR{Ingest: &topology.Ingest{Format: "generic", Token: token}}}}); err != nil {
		t.Fatal(err)
	}
	post := func(tok, plate string) (int, string) {
		req, _ := http.NewRequest("POST", "http://"+siteA.HTTPAddr()+"/api/v1/cameras/Gate1/plates", strings.NewReader(`{"plate": "`+plate+`"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, body := post(token, "123ABC02")
		if code == 200 {
			if !strings.Contains(body, "123ABC02") {
				t.Fatalf("answer %s", body)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the site never took the catalogue camera's event: %d %s", code, body)
		}
		time.Sleep(200 * time.Millisecond) // the slice on its way
	}
	if code, body := post("catalogue-gate-token-9999", "456DEF02"); code != 401 {
		t.Fatalf("another token: %d %s", code, body)
	}
	// the site holds the hash, never the token
	b, err := os.ReadFile(filepath.Join(dir, "site", "catalogue-slice.json"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte(token)) {
		t.Fatal("the cached slice holds the token")
	}
}

// Readers and a barrier set on a site's zones in the catalogue reach the
// site with its slice: the reader posts cards with its own token, and the
// barrier's relay is commanded once both parties named in the catalogue
// have granted the exit.
func TestCatalogueReadersAndBarrier(t *testing.T) {
	var opens atomic.Int32
	relay := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { opens.Add(1) }))
	defer relay.Close()
	site, cl, ctx, _ := catalogueSite(t)
	const token = "catalogue-reader-token-01"
	for _, z := range []topology.Zone{
		{ID: "gate-in", Site: "site", Kind: "entry", Readers: []topology.ZoneReader{{ID: "gate-reader", Token: token}}},
		{ID: "gate-out", Site: "site", Kind: "exit", Barrier: &topology.ZoneBarrier{ID: "gate-barrier", URL: relay.URL, Customs: []string{"local"}, Owner: []string{"token:owner"}}},
	} {
		if _, err := cl.Put(ctx, topology.KindZones, z, false); err != nil {
			t.Fatal(err)
		}
	}
	present := func(tok string) (int, string) {
		req, _ := http.NewRequest("POST", "http://"+site.HTTPAddr()+"/api/v1/readers/gate-reader/presentations", strings.NewReader(`{"token": "CARD-1"}`))
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, body := present(token)
		if code == 202 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the site never took the catalogue reader's card: %d %s", code, body)
		}
		time.Sleep(200 * time.Millisecond) // the slice on its way
	}
	if code, body := present("catalogue-reader-token-99"); code != 401 {
		t.Fatalf("another token: %d %s", code, body)
	}
	// the barrier's zone was put after the reader's: it may come in the
	// next slice
	deadline = time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + site.HTTPAddr() + "/api/v1/barriers")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(b), `"gate-barrier"`) && strings.Contains(string(b), `"closed"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("barriers: %s", b)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
