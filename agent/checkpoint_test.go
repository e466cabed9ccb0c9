package agent

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kuzet/kuzet/auth"
	"github.com/kuzet/kuzet/checkpoint"
	"github.com/kuzet/kuzet/internal/testkit"
)

// A truck through a crossing with pass tokens and the two-key exit
// barrier, over HTTP as the readers, the operators, customs' and the
// owner's systems and the relay box see it: the card waits for the plates
// at the entry, a mismatch at customs takes three failed attempts to block
// the card (a grave alarm the centre holds), only an admin unblocks it,
// and the barrier opens once, after both permissions; the site is killed
// in the middle and the centre lists the barrier and the case.
func TestCheckpointCrossing(t *testing.T) {
	hash := func(pw string) string {
		p := auth.DefaultParams
		p.Memory, p.Time = 1024, 1
		h, err := auth.HashPasswordParams(pw, p)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	var opens atomic.Int32
	relay := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var c checkpoint.Command
		if json.NewDecoder(r.Body).Decode(&c) != nil || c.Action != "open" || r.Header.Get("X-Relay-Key") != "relay-key" {
			http.Error(w, "bad command", 400)
			return
		}
		opens.Add(1)
	}))
	defer relay.Close()

	_, dir, tls := federationRig(t)
	centreYAML := `
node: {id: centre, data_dir: %s/centre}
http: {listen: "127.0.0.1:0"}
federation: {listen: %q, heartbeat: 200ms, tls: %s}
`
	// the centre starts again on the same address after its outage
	centre, stopCentre := startAgent(t, fmt.Sprintf(centreYAML, dir, testkit.Port(t), tls("centre")))
	siteYAML := fmt.Sprintf(`
node: {id: site, data_dir: %s/site, time_zone: UTC}
http: {listen: "127.0.0.1:0", allow: [127.0.0.1]}
federation: {upstream: [%q], heartbeat: 200ms, tls: %s}
users:
  - {name: oper, role: operator, password_hash: %q}
  - {name: kemal, role: operator, password_hash: %q}
  - {name: owner, role: operator, password_hash: %q}
  - {name: adam, role: admin, password_hash: %q}
zones:
  - {id: gate-in, kind: entry}
  - {id: customs, kind: customs}
  - {id: gate-out, kind: exit}
cameras:
  - {id: Entry1, url: "rtsp://127.0.0.1:1/e", disabled: true, zone: gate-in, anpr: {ingest: {format: generic, token: entry1-secret-0123456789}}}
  - {id: Customs1, url: "rtsp://127.0.0.1:1/c", disabled: true, zone: customs, anpr: {ingest: {format: generic, token: customs1-secret-0123456}}}
  - {id: Exit1, url: "rtsp://127.0.0.1:1/x", disabled: true, zone: gate-out, direction: auto, allowed_direction: exit, anpr: {ingest: {format: generic, token: exit1-secret-0123456789}}}
checkpoint:
  readers:
    - {id: entry-reader, zone: gate-in, token: entry-reader-secret-01, from: [127.0.0.1]}
    - {id: customs-reader, zone: customs, token: customs-reader-secret-1}
  barriers:
    - {id: exit-barrier, zone: gate-out, url: %q, auth_header: "X-Relay-Key: relay-key"}
  exit_parties: {customs: [kemal], owner: [owner]}
`, dir, centre.FederationAddr(), tls("site"), hash("oper-pass"), hash("kemal-pass"), hash("owner-pass"), hash("adam-pass"), relay.URL+"/open")
	site, stopSite := startAgent(t, siteYAML)
	base := "http://" + site.HTTPAddr()
	login := func(user string) *client {
		c := newClient(t, base)
		if code := c.login(user, user+"-pass"); code != 200 {
			t.Fatalf("login %s: %d", user, code)
		}
		return c
	}
	oper := login("oper")

	send := func(path, token, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("POST", base+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode, string(b)
	}
	plate := func(camera, token, p string, more ...string) {
		t.Helper()
		if code, b := send("/api/v1/cameras/"+camera+"/plates", token, `{"plate": "`+p+`", "confidence": 0.97`+strings.Join(more, "")+`}`); code != 200 {
			t.Fatalf("%s: %d %s", camera, code, b)
		}
	}
	present := func(reader, token, card string) (int, checkpoint.Presented, string) {
		t.Helper()
		code, b := send("/api/v1/readers/"+reader+"/presentations", token, `{"token": "`+card+`"}`)
		var p checkpoint.Presented
		_ = json.Unmarshal([]byte(b), &p)
		return code, p, b
	}
	until := func(what string, f func() bool) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for !f() {
			if time.Now().After(deadline) {
				t.Fatalf("never: %s", what)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	visitOf := func(c *client, p string) checkpoint.Visit {
		t.Helper()
		var v checkpoint.Visit
		until("a visit of "+p, func() bool {
			code, b := c.do("GET", "/api/v1/visits?plate="+p, "")
			var body struct{ Visits []checkpoint.Visit }
			if code != 200 || json.Unmarshal([]byte(b), &body) != nil || len(body.Visits) == 0 {
				return false
			}
			v = body.Visits[0]
			return true
		})
		return v
	}

	// the reader's own token, from its own address
	if code, _, b := present("entry-reader", "customs-reader-secret-1", "CARD-7"); code != 401 || !strings.Contains(b, "wrong token") {
		t.Fatalf("another reader's token: %d %s", code, b)
	}
	if code, _, b := present("entry-reader", "entry-reader-secret-01", "CARD 7"); code != 400 || !strings.Contains(b, "token") {
		t.Fatalf("a malformed card: %d %s", code, b)
	}
	if code, _, b := present("entry-reader", "entry-reader-secret-01", "CARD-7"); code != 202 {
		t.Fatalf("the card before the plates: %d %s", code, b)
	}
	plate("Entry1", "entry1-secret-0123456789", "123ABC02")
	until("the card bound", func() bool { return visitOf(oper, "123ABC02").Token == "CARD-7" })
	if code, _, b := present("entry-reader", "entry-reader-secret-01", "CARD-7"); code != 409 || !strings.Contains(b, "already bound") {
		t.Fatalf("bound twice: %d %s", code, b)
	}

	// customs reads another plate: a case, three failed attempts
	plate("Customs1", "customs1-secret-0123456", "123ABD02")
	visitOf(oper, "123ABD02")
	code, res, b := present("customs-reader", "customs-reader-secret-1", "CARD-7")
	if code != 200 || res.Result != checkpoint.ResultMismatch || res.Case == "" {
		t.Fatalf("mismatch at customs: %d %s", code, b)
	}
	attempt := func(body string) (int, checkpoint.Case) {
		t.Helper()
		code, b := oper.do("POST", "/api/v1/cases/"+res.Case+"/attempts", body)
		var c checkpoint.Case
		_ = json.Unmarshal([]byte(b), &c)
		if code != 200 && code/100 != 4 {
			t.Fatalf("attempt: %d %s", code, b)
		}
		return code, c
	}
	// the uplink is cut while the case is settled: nothing changes at the
	// site, and the centre catches up with every step once it is back
	fedAddr := centre.FederationAddr()
	if err := stopCentre(); err != nil {
		t.Fatal(err)
	}
	if code, _ := attempt(`{"action": "correct", "tractor": "123ABD02"}`); code != 200 {
		t.Fatal("first attempt")
	}
	if err := stopSite(); err != nil { // killed between two attempts
		t.Fatal(err)
	}
	site, _ = startAgent(t, siteYAML)
	base = "http://" + site.HTTPAddr()
	oper = login("oper")
	kemal, owner, adam := login("kemal"), login("owner"), login("adam")
	if code, c := attempt(`{"action": "telepathy"}`); code != 400 || len(c.Attempts) != 0 {
		t.Fatal("a bad action")
	}
	attempt(`{"action": "manual", "tractor": "999ZZZ02"}`)
	code, c := attempt(`{"action": "correct", "tractor": "123ABD02", "comment": "the camera is right"}`)
	if code != 200 || c.State != checkpoint.CaseBlocked || len(c.Attempts) != 3 {
		t.Fatalf("after three attempts: %d %+v", code, c)
	}
	centre, _ = startAgent(t, fmt.Sprintf(centreYAML, dir, fedAddr, tls("centre")))
	until("the grave block at the centre", func() bool {
		for _, al := range alarmsAt(t, centre) {
			if al.Type == checkpoint.AlarmTokenBlocked && al.Severity == "grave" && al.Origin == "site" && strings.Contains(al.Message, "investigation") {
				return true
			}
		}
		return false
	})
	if code, _, b := present("customs-reader", "customs-reader-secret-1", "CARD-7"); code != 409 || !strings.Contains(b, "blocked") {
		t.Fatalf("the blocked card: %d %s", code, b)
	}
	if code, b := oper.do("POST", "/api/v1/tokens/CARD-7/unblock", `{"reason": "x"}`); code != 403 {
		t.Fatalf("an operator unblocks: %d %s", code, b)
	}
	if code, b := adam.do("POST", "/api/v1/tokens/CARD-7/unblock", `{}`); code != 400 || !strings.Contains(b, "reason") {
		t.Fatalf("an unblock without a reason: %d %s", code, b)
	}
	if code, b := adam.do("POST", "/api/v1/tokens/CARD-7/unblock", `{"reason": "papers checked by the shift chief"}`); code != 200 {
		t.Fatalf("unblock: %d %s", code, b)
	}

	// the exit: customs grants, the truck comes, the owner grants
	v := visitOf(oper, "123ABC02")
	if code, b := oper.do("POST", "/api/v1/visits/"+v.ID+"/exit", ""); code != 403 || !strings.Contains(b, "neither customs nor the site owner") {
		t.Fatalf("a permission from someone who holds no key: %d %s", code, b)
	}
	if code, b := kemal.do("POST", "/api/v1/visits/"+v.ID+"/exit", ""); code != 200 {
		t.Fatalf("customs: %d %s", code, b)
	}
	if code, b := kemal.do("POST", "/api/v1/visits/"+v.ID+"/exit", ""); code != 409 {
		t.Fatalf("customs twice: %d %s", code, b)
	}
	if code, b := owner.do("POST", "/api/v1/visits/site/99999/exit", ""); code != 404 {
		t.Fatalf("an unknown visit: %d %s", code, b)
	}
	// it reverses in the exit lane first: a violation, and no exit yet
	plate("Exit1", "exit1-secret-0123456789", "123ABC02", `, "direction": "entry"`)
	until("the reversal filed", func() bool { return len(visitOf(oper, "123ABC02").Passages) == 2 })
	if v := visitOf(oper, "123ABC02"); !v.Open() {
		t.Fatalf("reversing at the exit closed the visit: %+v", v)
	}
	plate("Exit1", "exit1-secret-0123456789", "123ABC02", `, "direction": "exit"`)
	barrier := func(c *client) checkpoint.BarrierState {
		code, b := c.do("GET", "/api/v1/barriers?site=site", "")
		var body struct{ Barriers []checkpoint.BarrierState }
		if code != 200 || json.Unmarshal([]byte(b), &body) != nil || len(body.Barriers) != 1 {
			t.Fatalf("barriers: %d %s", code, b)
		}
		return body.Barriers[0]
	}
	until("waiting for the owner", func() bool {
		st := barrier(oper)
		return st.State == checkpoint.BarrierWaiting && strings.Join(st.Missing, ",") == "owner"
	})
	if opens.Load() != 0 {
		t.Fatal("opened on one key")
	}
	if code, b := owner.do("POST", "/api/v1/visits/"+v.ID+"/exit", ""); code != 200 {
		t.Fatalf("the owner: %d %s", code, b)
	}
	until("opened", func() bool { return barrier(oper).State == checkpoint.BarrierOpened })
	if opens.Load() != 1 {
		t.Fatalf("opened %d times", opens.Load())
	}
	// the centre sees the barrier and the investigation
	centreGet := func(path string) string {
		resp, err := http.Get("http://" + centre.HTTPAddr() + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return string(b)
	}
	until("the centre's barrier and case", func() bool {
		var cases struct{ Cases []checkpoint.Case }
		if json.Unmarshal([]byte(centreGet("/api/v1/cases?state=blocked")), &cases) != nil || len(cases.Cases) != 1 {
			return false
		}
		cc := cases.Cases[0]
		inOrder := len(cc.Attempts) == 3
		for i, a := range cc.Attempts {
			inOrder = inOrder && a.N == i+1 && !a.OK
		}
		return strings.Contains(centreGet("/api/v1/barriers"), `"state": "opened"`) && inOrder &&
			cc.Unblocked != nil && cc.Unblocked.Reason == "papers checked by the shift chief"
	})
	// the visit through every zone, its time in each, and the reversal's
	// violation, medium, at the centre
	until("the centre's visit", func() bool {
		var body struct{ Visits []checkpoint.Visit }
		if json.Unmarshal([]byte(centreGet("/api/v1/visits?plate=123ABC02")), &body) != nil || len(body.Visits) != 1 {
			return false
		}
		cv := body.Visits[0]
		var zones []string
		for _, p := range cv.Passages {
			zones = append(zones, p.Zone)
		}
		return !cv.Open() && cv.Token == "CARD-7" && len(cv.Exit) == 2 && strings.Join(zones, ",") == "gate-in,gate-out,gate-out"
	})
	var stats struct{ Zones []checkpoint.ZoneStats }
	if err := json.Unmarshal([]byte(centreGet("/api/v1/visits/dwell?site=site&zone=gate-in")), &stats); err != nil || len(stats.Zones) != 1 || stats.Zones[0].Vehicles != 1 {
		t.Fatalf("dwell at the centre: %v %+v", err, stats)
	}
	until("the reversal at the centre", func() bool {
		for _, al := range alarmsAt(t, centre) {
			if al.Type == checkpoint.AlarmWrongDirection && al.Severity == "medium" && al.Origin == "site" && strings.Contains(al.Message, "123ABC02") {
				return true
			}
		}
		return false
	})
	code, b = adam.do("GET", "/api/v1/audit?limit=200", "")
	for _, want := range []string{"case.attempt", "token.unblock", "exit.grant", "barrier.request_refused", "reader.refused", `"barrier.open"`, "barrier.held"} {
		if code != 200 || !strings.Contains(b, want) {
			t.Errorf("no %s in the audit log", want)
		}
	}
}
