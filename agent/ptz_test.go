package agent

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/kuzet/kuzet/audit"
	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/federation"
	"github.com/kuzet/kuzet/testcam"
)

// NVMS-6.20: operators at the centre turn a site's PTZ camera through a
// region: an absolute move reaches the simulated head; the camera stays the
// first operator's for the lock time against another operator, while an
// engineer takes it over; a preset round-trip; bad coordinates, an unknown
// preset, a viewer's command and a camera without PTZ are refused by
// name; the centre audits who turned what.
func TestPTZThroughARegion(t *testing.T) {
	cam, err := testcam.StartONVIF(testcam.ONVIFOptions{PTZ: true, User: "op", Password: "pw", Main: "rtsp://127.0.0.1:1/main", Sub: "rtsp://127.0.0.1:1/sub"})
	if err != nil {
		t.Fatal(err)
	}
	defer cam.Close()
	_, dir, tls := federationRig(t)
	users := ""
	for _, u := range [][3]string{{"olga", "operator", "olga-pass"}, {"oleg", "operator", "oleg-pass"}, {"erik", "engineer", "erik-pass"}, {"vera", "viewer", "vera-pass"}} {
		users += fmt.Sprintf("  - {name: %s, role: %s, password_hash: %q}\n", u[0], u[1], cheapHash(t, u[2]))
	}
	centre, _ := startAgent(t, fmt.Sprintf(`
node: {id: centre, data_dir: %s/centre}
http: {listen: "127.0.0.1:0"}
federation: {listen: "127.0.0.1:0", heartbeat: 200ms, tls: %s, descendants: {region: [site]}}
ptz: {lock: 1m}
users:
%s`, dir, tls("centre"), users))
	region, _ := startAgent(t, fmt.Sprintf(`
node: {id: region, data_dir: %s/region}
http: {listen: "127.0.0.1:0"}
federation: {listen: "127.0.0.1:0", upstream: [%q], heartbeat: 200ms, tls: %s}
`, dir, centre.FederationAddr(), tls("region")))
	startAgent(t, fmt.Sprintf(`
node: {id: site, data_dir: %s/site}
http: {listen: "127.0.0.1:0"}
cameras:
  - {id: Dome1, url: "rtsp://op:pw@127.0.0.1:1/main", offline_after: 1h, onvif: %q}
  - {id: Fixed1, url: "rtsp://127.0.0.1:1/fixed", offline_after: 1h}
federation: {upstream: [%q], heartbeat: 200ms, tls: %s}
`, dir, cam.DeviceURL(), region.FederationAddr(), tls("site")))
	base := "http://" + centre.HTTPAddr()
	as := map[string]*client{}
	for _, u := range [][2]string{{"olga", "olga-pass"}, {"oleg", "oleg-pass"}, {"erik", "erik-pass"}, {"vera", "vera-pass"}} {
		as[u[0]] = newClient(t, base)
		if code := as[u[0]].login(u[0], u[1]); code != 200 {
			t.Fatalf("login %s: %d", u[0], code)
		}
	}
	var st PTZState
	cmd := func(who, body string, want int, says string) {
		t.Helper()
		var code int
		var b string
		for i := 0; i < 200; i++ { // the links come up, and the centre learns the route, within moments
			if code, b = as[who].do("POST", "/api/v1/ptz/site/Dome1", body); code != 503 {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if code != want || !strings.Contains(b, says) {
			t.Fatalf("%s %s: %d %s, want %d saying %q", who, body, code, b, want, says)
		}
		if code == 200 {
			st = PTZState{}
			if err := json.Unmarshal([]byte(b), &st); err != nil {
				t.Fatal(err)
			}
		}
	}
	// every command is audited, a refused one too: wait for the route
	// first, so that olga's one command is her one audit entry
	for i := 0; ; i++ {
		if code, _ := as["vera"].do("GET", "/api/v1/ptz/site/Dome1", ""); code == 200 {
			break
		} else if i == 200 {
			t.Fatalf("no route to the site's camera: %d", code)
		}
		time.Sleep(100 * time.Millisecond)
	}
	cmd("olga", `{"action": "absolute", "pan": 0.5, "tilt": -0.25, "zoom": 0.5}`, 200, `"camera": "site/Dome1"`)
	if x, y, z := cam.Position(); x != 0.5 || y != -0.25 || z != 0.5 {
		t.Fatalf("the head after olga's move: %v %v %v", x, y, z)
	}
	if st.Position == nil || st.Position.Pan != 0.5 || st.Lock == nil || st.Lock.User != "olga@centre" {
		t.Fatalf("state after olga's move: %+v", st)
	}
	cmd("oleg", `{"action": "move", "pan": -0.5}`, 409, "camera Dome1 is held by olga@centre (operator)")
	cmd("erik", `{"action": "set_preset", "name": "Lane 2"}`, 200, `"preset": "preset-1"`)
	cmd("erik", `{"action": "relative", "pan": -1}`, 200, `"user": "erik@centre"`)
	if x, _, _ := cam.Position(); x != -0.5 {
		t.Fatalf("after erik's relative move: pan %v", x)
	}
	cmd("erik", `{"action": "goto", "preset": "preset-1"}`, 200, `"name": "Lane 2"`)
	if x, y, _ := cam.Position(); x != 0.5 || y != -0.25 {
		t.Fatalf("at the preset: %v %v", x, y)
	}
	cmd("erik", `{"action": "absolute", "pan": 2}`, 400, "pan: 2 is out of range -1..1")
	cmd("erik", `{"action": "goto", "preset": "preset-9"}`, 400, "NoToken")
	cmd("erik", `{"action": "spin"}`, 400, `action: \"spin\" is not`)
	cmd("vera", `{"action": "stop"}`, 403, "")
	if code, b := as["vera"].do("GET", "/api/v1/ptz/site/Dome1", ""); code != 200 || !strings.Contains(b, `"Lane 2"`) {
		t.Fatalf("a viewer's status: %d %s", code, b)
	}
	if code, b := as["erik"].do("POST", "/api/v1/ptz/site/Fixed1", `{"action": "stop"}`); code != 409 || !strings.Contains(b, "camera Fixed1 has no PTZ") {
		t.Fatalf("a camera without PTZ: %d %s", code, b)
	}
	// more requests than a link lets the parent open streams at once
	// (childAcceptsStreams, 128): each closes its stream on both links
	for i := 0; i < 300; i++ {
		if code, b := as["vera"].do("GET", "/api/v1/ptz/site/Dome1", ""); code != 200 {
			t.Fatalf("status request %d: %d %s", i, code, b)
		}
	}

	// NVMS-6.13 from the centre: an engineer finds and describes the
	// site's camera through the region; the probe goes out at the site
	code, b := as["erik"].do("POST", "/api/v1/onvif/discover",
		fmt.Sprintf(`{"node": "site", "targets": [%q], "no_multicast": true, "timeout": "1s", "user": "op", "password": "pw"}`, cam.DiscoveryAddr()))
	var found DiscoverResult
	if code != 200 || json.Unmarshal([]byte(b), &found) != nil || found.Node != "site" || len(found.Devices) != 1 ||
		found.Devices[0].XAddrs[0] != cam.DeviceURL() || len(found.Described) != 1 || found.Described[0].Main == nil {
		t.Fatalf("discovery at the site from the centre: %d %s", code, b)
	}
	if code, b := as["erik"].do("POST", "/api/v1/onvif/describe",
		fmt.Sprintf(`{"node": "site", "device": %q, "user": "op", "password": "pw"}`, cam.DeviceURL())); code != 200 || !strings.Contains(b, `"ptz": true`) {
		t.Fatalf("a description at the site from the centre: %d %s", code, b)
	}
	if code, b := as["erik"].do("POST", "/api/v1/onvif/describe",
		fmt.Sprintf(`{"node": "site", "device": %q, "user": "op", "password": "wrong"}`, cam.DeviceURL())); code != 502 || !strings.Contains(b, "NotAuthorized") {
		t.Fatalf("a wrong login, asked below: %d %s", code, b)
	}
	if code, b := as["erik"].do("POST", "/api/v1/onvif/discover", `{"node": "site", "timeout": "1h"}`); code != 400 || !strings.Contains(b, "timeout") {
		t.Fatalf("a bad request is refused by the site, by name: %d %s", code, b)
	}
	if code, b := as["erik"].do("POST", "/api/v1/onvif/discover", `{"node": "nowhere", "no_multicast": true}`); code != 503 || !strings.Contains(b, "nowhere") {
		t.Fatalf("a node that is not below: %d %s", code, b)
	}
	// one discovery at a time on a node, whoever asks
	discoverBusy.Lock()
	code, b = as["erik"].do("POST", "/api/v1/onvif/discover", `{"node": "site", "no_multicast": true}`)
	discoverBusy.Unlock()
	if code != 429 || !strings.Contains(b, "a discovery is running on node site") {
		t.Fatalf("a discovery while one runs: %d %s", code, b)
	}
	if code, _ := as["olga"].do("POST", "/api/v1/onvif/discover", `{"node": "site"}`); code != 403 {
		t.Fatalf("an operator's discovery: %d", code)
	}
	// the site checks the role its ancestor names, too
	ans, err := region.applyControl(t.Context(), federation.ControlReq{Op: federation.OpONVIFDiscover, Origin: "region",
		User: "olga@centre", Role: "operator", Body: []byte(`{}`)})
	if err != nil || ans.Status != 403 || !strings.Contains(string(ans.Body), "engineer") {
		t.Fatalf("an operator's discovery asked down the links: %+v %v", ans, err)
	}

	evs, _ := centre.Events().Search(0, func(e event.Event) bool { return e.Kind == audit.Kind })
	turned := map[string]int{}
	for _, e := range evs {
		var p audit.Payload
		if json.Unmarshal(e.Payload, &p) == nil && p.Action == audit.ActionPTZ && p.Object == "site/Dome1" {
			turned[p.User]++
		}
	}
	if turned["olga"] != 1 || turned["erik"] < 4 {
		t.Fatalf("the centre's audit of PTZ: %v", turned)
	}
}
