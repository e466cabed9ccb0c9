package agent

import (
	"encoding/json"
	"fmt"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kuzet/kuzet/config"
	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/plates"
)

// appendRead stores a plate read at a node as its analyzer would.
func appendRead(t *testing.T, a *Agent, plate string, conf float64) event.Event {
	t.Helper()
	at := time.Now().UTC().Truncate(time.Millisecond)
	pr := plates.PlateRead{Plate: plate, Country: "KZ", Confidence: conf, Direction: "entry", First: at, Last: at, Frames: 4,
		Candidates: []plates.Candidate{{Text: plate, Country: "KZ", Confidence: conf}}}
	e := event.New(plates.KindPlateRead, "Camera1", event.SeverityInfo, pr)
	e.Time = at
	stored, err := a.Events().Append(e)
	if err != nil {
		t.Fatal(err)
	}
	return stored
}

// waitQueue polls a node's uncertain queue until it lists want.
func waitQueue(t *testing.T, a *Agent, what string, want ...string) {
	t.Helper()
	var got []string
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		es, _, err := a.plates.Uncertain(plates.UncertainQuery{})
		if err != nil {
			t.Fatal(err)
		}
		got = got[:0]
		for _, e := range es {
			got = append(got, e.ID)
		}
		if reflect.DeepEqual(got, want) || (len(got) == 0 && len(want) == 0) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: queue %v, want %v", what, got, want)
		}
	}
}

// anpr.review_below is checked on load and reaches the plate index.
func TestUncertainConfig(t *testing.T) {
	base := "node: {id: n1}\n"
	c := mustParse(t, base)
	if c.ANPR.ReviewThreshold() != config.DefaultReviewBelow || config.DefaultReviewBelow != plates.DefaultReviewBelow {
		t.Errorf("default threshold %v", c.ANPR.ReviewThreshold())
	}
	if c := mustParse(t, base+"anpr: {review_below: 0}\n"); c.ANPR.ReviewThreshold() != 0 {
		t.Errorf("review_below 0 read as %v", c.ANPR.ReviewThreshold())
	}
	for yaml, says := range map[string]string{
		"anpr: {review_below: 1.5}\n":  "line 2: anpr.review_below: must be a confidence between 0 and 1, e.g. 0.9 for 90 % (got 1.5)",
		"anpr: {review_below: 90}\n":   "anpr.review_below: must be a confidence between 0 and 1",
		"anpr: {review_below: -0.1}\n": "anpr.review_below: must be a confidence between 0 and 1",
		"anpr: {review_below: .nan}\n": "anpr.review_below: must be a confidence between 0 and 1",
		"anpr: {review_below: high}\n": "anpr.review_below",
		"anpr: {review_blow: 0.5}\n":   "anpr.review_blow: unknown key",
	} {
		if _, err := config.Parse([]byte(base+yaml), config.Options{}); err == nil || !strings.Contains(err.Error(), says) {
			t.Errorf("%q: %v, want an error saying %q", yaml, err, says)
		}
	}
}

// With users, viewers list the queue and are refused confirming (403);
// operators confirm with the CSRF token, once (409 after); the answers
// have their documented shapes; the act is in the audit log; the
// threshold is the configured one.
func TestUncertainRolesAndAudit(t *testing.T) {
	dir := t.TempDir()
	a, _ := startAgent(t, fmt.Sprintf(`
node: {id: site, data_dir: %s, time_zone: UTC}
http: {listen: "127.0.0.1:0"}
anpr: {review_below: 0.75}
users:
  - {name: vera, role: viewer, password_hash: %q}
  - {name: olga, role: operator, password_hash: %q}
  - {name: adam, role: admin, password_hash: %q}
`, dir, cheapHash(t, "viewer-pass"), cheapHash(t, "operator-pass"), cheapHash(t, "admin-pass")))
	base := "http://" + a.HTTPAddr()
	r := &apiRig{t: t, top: t, spec: loadSpec(t), base: base}
	login := func(user, pw string) *client {
		c := newClient(t, base)
		c.http.Timeout = time.Minute
		if code := c.login(user, pw); code != 200 {
			t.Fatalf("login %s: %d", user, code)
		}
		return c
	}
	viewer, op, admin := login("vera", "viewer-pass"), login("olga", "operator-pass"), login("adam", "admin-pass")

	low := appendRead(t, a, "123ABD02", 0.7)
	appendRead(t, a, "777KZ02", 0.8) // under the default, not under 0.75
	waitQueue(t, a, "after two reads", low.ID())

	var q plates.UncertainQueue
	_ = json.Unmarshal(r.call(viewer, "GET", "/api/v1/plates/uncertain", nil, nil, "", 200), &q)
	if q.ReviewBelow != 0.75 || q.Total != 1 || len(q.Items) != 1 || q.Items[0].ID != low.ID() || q.Items[0].Read.Confidence != 0.7 || len(q.Items[0].Read.Candidates) != 1 {
		t.Errorf("queue: %+v", q)
	}
	_ = json.Unmarshal(r.call(viewer, "GET", "/api/v1/plates/uncertain", nil, url.Values{"count": {"1"}, "camera": {"Camera1"}}, "", 200), &q)
	if q.Total != 1 || len(q.Items) != 0 {
		t.Errorf("count: %+v", q)
	}
	r.call(viewer, "GET", "/api/v1/plates/uncertain", nil, url.Values{"count": {"2"}}, "", 400)

	read := map[string]string{"origin": "site", "seq": strconv.FormatUint(low.Seq, 10)}
	r.call(viewer, "POST", "/api/v1/plates/{origin}/{seq}/confirm", read, nil, "", 403)
	r.call(r.anonClient(), "POST", "/api/v1/plates/{origin}/{seq}/confirm", read, nil, "", 401)
	csrf := op.csrf
	op.csrf = ""
	r.call(op, "POST", "/api/v1/plates/{origin}/{seq}/confirm", read, nil, "", 403)
	op.csrf = csrf
	b := r.call(op, "POST", "/api/v1/plates/{origin}/{seq}/confirm", read, nil, `{"comment": "overview checked"}`, 200)
	if !strings.Contains(string(b), `"confirmed": true`) || !strings.Contains(string(b), `"user": "olga"`) {
		t.Errorf("confirmation: %s", b)
	}
	if b := r.call(op, "POST", "/api/v1/plates/{origin}/{seq}/confirm", read, nil, "", 409); !strings.Contains(string(b), "already confirmed as 123ABD02 by olga") {
		t.Errorf("second confirmation: %s", b)
	}
	_ = json.Unmarshal(r.call(viewer, "GET", "/api/v1/plates/uncertain", nil, nil, "", 200), &q)
	if q.Total != 0 || len(q.Items) != 0 {
		t.Errorf("queue after the confirmation: %+v", q)
	}
	// the event's payload is a documented Correction
	evs, _ := a.Events().Search(10, func(e event.Event) bool { return e.Kind == plates.KindCorrected })
	if len(evs) != 1 {
		t.Fatalf("%d plate.corrected events", len(evs))
	}
	var payload any
	dec := json.NewDecoder(strings.NewReader(string(evs[0].Payload)))
	dec.UseNumber()
	_ = dec.Decode(&payload)
	for _, e := range r.spec.validate(&oaSchema{Ref: "#/components/schemas/Correction"}, payload, "plate.corrected payload") {
		t.Error(e)
	}

	code, body := admin.do("GET", "/api/v1/audit?action=plate.confirm&limit=10", "")
	if code != 200 || !strings.Contains(body, `"olga"`) || !strings.Contains(body, low.ID()) || !strings.Contains(body, "overview checked") {
		t.Errorf("audit of the confirmation: %d %s", code, body)
	}
	if code, body := admin.do("GET", "/api/v1/audit?action=access.denied&limit=10", ""); code != 200 || !strings.Contains(body, `"vera"`) {
		t.Errorf("audit of the viewer's refusal: %d %s", code, body)
	}
}

func (r *apiRig) anonClient() *client { return newClient(r.t, r.base) }

// Reviews go up the tree, not down: a confirmation at the centre empties
// the centre's queue and leaves the site's; a correction at the site
// empties both.
func TestUncertainQueueUpTheTree(t *testing.T) {
	_, dir, tls := federationRig(t)
	centre, _ := startAgent(t, fmt.Sprintf(`
node: {id: centre, data_dir: %s/centre}
http: {listen: "127.0.0.1:0"}
federation: {listen: "127.0.0.1:0", heartbeat: 200ms, tls: %s}
`, dir, tls("centre")))
	site, _ := startAgent(t, fmt.Sprintf(`
node: {id: site, data_dir: %s/site}
http: {listen: "127.0.0.1:0"}
federation: {upstream: [%q], heartbeat: 200ms, tls: %s}
`, dir, centre.FederationAddr(), tls("site")))
	r1 := appendRead(t, site, "123ABD02", 0.5)
	r2 := appendRead(t, site, "A123BC7", 0.6)
	waitQueue(t, site, "site", r2.ID(), r1.ID())
	waitQueue(t, centre, "centre", r2.ID(), r1.ID())

	post := func(a *Agent, path, body string) {
		t.Helper()
		c := newClient(t, "http://"+a.HTTPAddr())
		if code, b := c.do("POST", path, body); code != 200 {
			t.Fatalf("POST %s: %d %s", path, code, b)
		}
	}
	post(centre, fmt.Sprintf("/api/v1/plates/site/%d/confirm", r1.Seq), "")
	waitQueue(t, centre, "centre after its confirmation", r2.ID())
	post(site, fmt.Sprintf("/api/v1/plates/site/%d/correction", r2.Seq), `{"plate": "A123BC77"}`)
	waitQueue(t, site, "site after its correction", r1.ID())
	waitQueue(t, centre, "centre after the site's correction")
	// by now the centre's events would have reached the site, were they sent down
	if e, _, _ := site.plates.Lookup(r1.ID()); e.Reviewed {
		t.Errorf("the centre's confirmation reached the site: %+v", e)
	}
	waitQueue(t, site, "site at the end", r1.ID())
}
