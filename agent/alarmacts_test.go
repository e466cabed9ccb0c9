package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/kuzet/kuzet/alarm"
	"github.com/kuzet/kuzet/audit"
	"github.com/kuzet/kuzet/config"
	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/federation"
	"github.com/kuzet/kuzet/internal/testkit"
	"github.com/kuzet/kuzet/tamper"
	"github.com/kuzet/kuzet/topology"
)

// waitAlarm waits until the node's table holds alarm id in a state ok
// accepts.
func waitAlarm(t *testing.T, a *Agent, id, what string, ok func(alarm.Alarm) bool) alarm.Alarm {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got, found := a.alarms.Get(id)
		if found && ok(got) {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: alarm %s at %s is %+v (found %v)", what, id, a.cfg.Node.ID, got, found)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// act posts an operator's ack or clear to a node's API.
func act(t *testing.T, a *Agent, id, action, body string) {
	t.Helper()
	resp, err := http.Post("http://"+a.HTTPAddr()+"/api/v1/alarms/"+url.PathEscape(id)+"/"+action,
		"application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var e map[string]string
		_ = json.NewDecoder(resp.Body).Decode(&e)
		t.Fatalf("%s of %s at %s: %s %v", action, id, a.cfg.Node.ID, resp.Status, e)
	}
}

// UA-3.19: an acknowledgement and a clear made at the centre travel down
// through the region to the site that raised the alarm, which applies and
// audits them, and whose own events bring the region's table along; a
// clear made while the site is down reaches it once it is back; an act by
// a role the origin does not allow is refused there and changes nothing.
func TestAlarmActsTravelDownToTheOrigin(t *testing.T) {
	_, dir, tls := federationRig(t)
	centre, _ := startAgent(t, catalogueCentre(t, dir, tls, ""))
	cl, ctx := centreAndSite(t, centre)
	for _, n := range []topology.Node{{ID: "region", Role: "region", Parent: "centre"}, {ID: "site", Role: "site", Parent: "region"}} {
		if _, err := cl.PutNode(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	region, _ := startAgent(t, fmt.Sprintf(`
node: {id: region, data_dir: %s/region}
http: {listen: "127.0.0.1:0"}
federation: {listen: "127.0.0.1:0", upstream: [%q], heartbeat: 200ms, tls: %s}
`, dir, centre.FederationAddr(), tls("region")))
	siteYAML := fmt.Sprintf(`
node: {id: site, data_dir: %s/site}
http: {listen: "127.0.0.1:0"}
cameras: [{id: Dead1, url: "rtsp://127.0.0.1:1/none", offline_after: 1s}]
federation: {upstream: [%q], heartbeat: 200ms, tls: %s}
`, dir, region.FederationAddr(), tls("site"))
	site, stopSite := startAgent(t, siteYAML)

	raise := func(key string) alarm.Alarm {
		a, _, err := site.alarms.Raise(alarm.Condition{Key: key, Type: "tamper_covered", Camera: "Camera1",
			Severity: event.SeverityGrave, Message: "covered"})
		if err != nil {
			t.Fatal(err)
		}
		waitAlarm(t, centre, a.ID, "raised at the site", func(alarm.Alarm) bool { return true })
		return a
	}
	covered := raise("tamper_covered:Camera1")
	act(t, centre, covered.ID, "ack", `{"comment":"on my way"}`)
	got := waitAlarm(t, site, covered.ID, "acknowledged at the centre", func(a alarm.Alarm) bool { return !a.Acked.IsZero() })
	if got.AckUser != "local@centre" || got.AckComment != "on my way" || got.State != alarm.StateAcknowledged {
		t.Fatalf("the site's alarm after the centre's acknowledgement: %+v", got)
	}
	waitAlarm(t, region, covered.ID, "acknowledged at the centre, seen at the region",
		func(a alarm.Alarm) bool { return a.AckUser == "local@centre" })
	audited := func(action string) int {
		evs, _ := site.Events().Search(0, func(e event.Event) bool { return e.Kind == audit.Kind })
		n := 0
		for _, e := range evs {
			var p audit.Payload
			if json.Unmarshal(e.Payload, &p) == nil && p.Action == action && p.Object == covered.ID &&
				p.User == "local@centre" && strings.Contains(p.Detail, "from an ancestor") {
				n++
			}
		}
		return n
	}
	// the site audits an act just after applying it: the state may show first
	auditedOnce := func(action, what string) {
		t.Helper()
		testkit.WaitFor(t, 10*time.Second, "the site to audit the centre's "+what, func() bool { return audited(action) >= 1 })
		if n := audited(action); n != 1 {
			t.Fatalf("the site audited the centre's %s %d times, want 1", what, n)
		}
	}
	auditedOnce(audit.ActionAckAlarm, "acknowledgement")

	// the acknowledgement's act leaves the centre's queue once the site
	// confirmed it (a moment after the site applied it)
	testkit.WaitFor(t, 10*time.Second, "the acknowledgement's act to leave the centre's queue", func() bool { return centre.alarms.ActsQueued() == 0 })

	// the site goes down; the centre's operator clears the alarm meanwhile
	if err := stopSite(); err != nil {
		t.Fatal(err)
	}
	act(t, centre, covered.ID, "clear", "")
	time.Sleep(time.Second)
	if n := centre.alarms.ActsQueued(); n != 1 {
		t.Fatalf("%d acts wait at the centre while the site is down, want 1", n)
	}
	site, _ = startAgent(t, siteYAML)
	got = waitAlarm(t, site, covered.ID, "cleared at the centre while the site was down",
		func(a alarm.Alarm) bool { return !a.State.Open() })
	if got.ClearedBy != "local@centre" {
		t.Fatalf("the site's alarm after the centre's clear: %+v", got)
	}
	auditedOnce(audit.ActionClearAlarm, "clear")
	deadline := time.Now().Add(10 * time.Second)
	for centre.alarms.ActsQueued() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d acts still wait at the centre", centre.alarms.ActsQueued())
		}
		time.Sleep(50 * time.Millisecond)
	}

	// a viewer's acknowledgement (as a centre with logins would send it)
	// is refused at the site and leaves the queue
	other := raise("tamper_covered:Camera2")
	if _, err := centre.alarms.AckBy(other.ID, alarm.Operator{User: "vic", Role: "viewer"}, ""); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(10 * time.Second)
	for centre.alarms.ActsQueued() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the viewer's act is still queued at the centre")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got, _ := site.alarms.Get(other.ID); !got.Acked.IsZero() {
		t.Fatalf("a viewer's acknowledgement was applied at the site: %+v", got)
	}

	// a camera that stays dead: cleared at the centre, it is raised again
	// at the site, and the centre sees it open again
	var dead alarm.Alarm
	deadline = time.Now().Add(20 * time.Second)
	for dead.ID == "" {
		for _, a := range centre.alarms.List(alarm.Filter{Origin: "site", States: []alarm.State{alarm.StateRaised}}) {
			if a.Type == event.AlarmCameraOffline {
				dead = a
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the dead camera's alarm never reached the centre")
		}
		time.Sleep(50 * time.Millisecond)
	}
	act(t, centre, dead.ID, "clear", "")
	again := func(a alarm.Alarm) bool { return a.State.Open() && strings.HasPrefix(a.Message, "still: ") }
	waitAlarm(t, site, dead.ID, "a dead camera's alarm cleared at the centre, at the site", again)
	waitAlarm(t, centre, dead.ID, "a dead camera's alarm cleared at the centre, back at the centre", again)
}

// A tamper condition that the camera's detector still sees persists, so
// an operator's clear of its alarm raises it again; one it no longer
// sees, or another camera's, does not.
func TestTamperConditionPersists(t *testing.T) {
	tc, err := tamper.NewConsumer(tamper.ConsumerOptions{Cameras: map[string]tamper.Config{"Camera1": {Persist: time.Second}}})
	if err != nil {
		t.Fatal(err)
	}
	a := &Agent{tamper: tc}
	covered := alarm.Alarm{Type: tamper.Covered.AlarmType(), Camera: "Camera1"}
	if a.alarmPersists(covered) {
		t.Fatal("covered persists before the detector saw a frame")
	}
	black := image.NewRGBA(image.Rect(0, 0, 640, 360))
	for i := range black.Pix {
		black.Pix[i] = 3
		if i%4 == 3 {
			black.Pix[i] = 255
		}
	}
	t0 := time.Now()
	d := tc.Detector("Camera1")
	for s := 0; s <= 4; s++ {
		d.Observe(black, t0.Add(time.Duration(s)*time.Second))
	}
	if st := tc.Status(); len(st) != 1 || len(st[0].Raised) == 0 {
		t.Fatalf("the detector does not see the lens covered: %+v", st)
	}
	if !a.alarmPersists(covered) {
		t.Error("covered does not persist while the detector sees it")
	}
	if a.alarmPersists(alarm.Alarm{Type: tamper.Covered.AlarmType(), Camera: "Camera2"}) {
		t.Error("another camera's covered alarm persists")
	}
	if a.alarmPersists(alarm.Alarm{Type: tamper.Blinded.AlarmType(), Camera: "Camera1"}) {
		t.Error("a condition the detector does not see persists")
	}
}

// A node with no link below that gets an act for another node (its
// ancestor's route is stale: the node moved) answers that it has no route,
// so the act is tried again rather than dropped.
func TestActForANodeNotBelowIsRetried(t *testing.T) {
	a := &Agent{cfg: &config.Config{Node: config.Node{ID: "site"}}}
	err := a.applyAct(context.Background(), federation.AlarmAct{ID: "centre/1", Origin: "site-2", AlarmID: "site-2:x:1",
		Act: federation.ActAck, User: "alice@centre", Role: "operator"})
	if !errors.Is(err, federation.ErrNoRoute) || errors.Is(err, federation.ErrActRefused) {
		t.Fatalf("act for a node not below: %v, want no route (retried), not a refusal", err)
	}
}
