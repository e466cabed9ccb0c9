package plates_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kuzet/kuzet/api"
	"github.com/kuzet/kuzet/archive"
	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/plates"
	"github.com/kuzet/kuzet/site"
)

type auditCall struct{ action, object, detail string }

// uncertainRig is a parent ("centre") holding two sites' reads, its plate
// index filed under a threshold of 0.8, and the API over both.
type uncertainRig struct {
	srv    *httptest.Server
	ev     *event.Log
	t0     time.Time
	mu     sync.Mutex
	audits []auditCall
}

func newUncertainRig(t *testing.T, withIndex bool) *uncertainRig {
	t.Helper()
	dir := t.TempDir()
	idx, err := archive.OpenIndex(filepath.Join(dir, "archive.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idx.Close() })
	ev, err := event.OpenLog(filepath.Join(dir, "events.db"), "centre", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ev.Close() })
	r := &uncertainRig{ev: ev, t0: time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)}
	read := func(origin string, seq uint64, cam, plate string, conf float64, min int) event.Event {
		pr := plates.PlateRead{Plate: plate, Country: "KZ", Confidence: conf, Direction: "entry",
			Candidates: []plates.Candidate{{Text: plate, Country: "KZ", Confidence: conf}, {Text: plate[:len(plate)-1] + "8", Country: "KZ", Confidence: conf / 2}}}
		e := event.New(plates.KindPlateRead, cam, "", pr)
		e.Origin, e.Seq, e.Time, e.Path = origin, seq, r.t0.Add(time.Duration(min)*time.Minute), []string{origin}
		return e
	}
	if _, err := ev.Ingest([]event.Event{
		read("site-a", 1, "Camera1", "123ABC02", 0.97, 0), // confident
		read("site-a", 2, "Camera1", "123ABD02", 0.62, 5),
		read("site-a", 3, "Camera2", "777KZ02", 0.41, 10),
		read("site-a", 4, "Camera1", "A123BC77", 0.85, 15), // queued under 0.9, not under 0.8
	}, "site-a"); err != nil {
		t.Fatal(err)
	}
	if _, err := ev.Ingest([]event.Event{
		read("site-b", 1, "Camera1", "AA1234BB", 0.55, 7),
		read("site-b", 2, "Camera1", "456KTA05", 0.7, 20),
	}, "site-b"); err != nil {
		t.Fatal(err)
	}
	var px *plates.Index
	if withIndex {
		px, err = plates.OpenWith(filepath.Join(dir, "plates.db"), plates.Options{ReviewBelow: 0.8})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { px.Close() })
		if err := px.Sync(ev, plates.KindPlateRead); err != nil {
			t.Fatal(err)
		}
	}
	reg := prometheus.NewRegistry()
	r.srv = httptest.NewServer(api.Handler(api.Deps{NodeID: "centre", Site: site.New(site.Options{Registerer: reg}),
		Index: idx, Events: ev, Gatherer: reg, Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, Plates: px,
		User: func(*http.Request) string { return "olga" },
		Audit: func(_ *http.Request, action, object, detail string) {
			r.mu.Lock()
			r.audits = append(r.audits, auditCall{action, object, detail})
			r.mu.Unlock()
		}}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *uncertainRig) post(t *testing.T, path, body string) (int, string) {
	t.Helper()
	resp, err := http.Post(r.srv.URL+path, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (r *uncertainRig) queue(t *testing.T, q url.Values) plates.UncertainQueue {
	t.Helper()
	code, body := get(t, r.srv.URL+"/api/v1/plates/uncertain?"+q.Encode())
	var u plates.UncertainQueue
	if err := json.Unmarshal([]byte(body), &u); code != 200 || err != nil {
		t.Fatalf("queue %v: %d %s", q, code, body)
	}
	return u
}

func (r *uncertainRig) audited() []auditCall {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]auditCall(nil), r.audits...)
}

func hitIDs(hs []plates.PlateHit) []string {
	out := []string{}
	for _, h := range hs {
		out = append(out, h.ID)
	}
	return out
}

// GET /api/v1/plates/uncertain lists the reads below the node's threshold,
// newest first, filtered by node, camera and time, with the total for a
// badge; bad parameters are named.
func TestUncertainList(t *testing.T) {
	r := newUncertainRig(t, true)
	all := r.queue(t, nil)
	if want := []string{"site-b/2", "site-a/3", "site-b/1", "site-a/2"}; !reflect.DeepEqual(hitIDs(all.Items), want) || all.Total != 4 || all.ReviewBelow != 0.8 {
		t.Fatalf("queue: %v total %d below %v, want %v", hitIDs(all.Items), all.Total, all.ReviewBelow, want)
	}
	h := all.Items[1]
	if h.Plate != "777KZ02" || h.Node != "site-a" || h.Camera != "Camera2" || h.Read.Confidence != 0.41 || len(h.Read.Candidates) != 2 || h.Corrected != nil {
		t.Errorf("item: %+v", h)
	}
	for _, c := range []struct {
		q     url.Values
		total int
		want  []string
	}{
		{url.Values{"limit": {"1"}}, 4, []string{"site-b/2"}},
		{url.Values{"count": {"1"}}, 4, []string{}},
		{url.Values{"count": {"true"}, "node": {"site-b"}}, 2, []string{}},
		{url.Values{"node": {"site-a"}}, 2, []string{"site-a/3", "site-a/2"}},
		{url.Values{"camera": {"Camera1"}}, 3, []string{"site-b/2", "site-b/1", "site-a/2"}},
		{url.Values{"camera": {"site-a/Camera1"}}, 1, []string{"site-a/2"}},
		{url.Values{"camera": {"Camera1"}, "node": {"site-b"}, "limit": {"1"}}, 2, []string{"site-b/2"}},
		{url.Values{"from": {r.t0.Add(7 * time.Minute).Format(time.RFC3339)}, "to": {r.t0.Add(20 * time.Minute).Format(time.RFC3339)}}, 2, []string{"site-a/3", "site-b/1"}},
		{url.Values{"from": {r.t0.Add(21 * time.Minute).Format(time.RFC3339)}}, 0, []string{}},
	} {
		if got := r.queue(t, c.q); !reflect.DeepEqual(hitIDs(got.Items), c.want) || got.Total != c.total {
			t.Errorf("%v: %v total %d, want %v total %d", c.q, hitIDs(got.Items), got.Total, c.want, c.total)
		}
	}
	for q, says := range map[string]string{
		"count=maybe": "count: ", "limit=0": "limit: ", "limit=1001": "limit: ", "from=yesterday": "from: ",
		"from=2026-03-02T09:00:00Z&to=2026-03-02T08:00:00Z": "to must be after from",
		"camera=site-a/Camera1&node=site-b":                 `camera \"site-a/Camera1\" is not of node \"site-b\"`,
	} {
		if code, body := get(t, r.srv.URL+"/api/v1/plates/uncertain?"+q); code != 400 || !strings.Contains(body, says) {
			t.Errorf("%s: %d %s, want 400 saying %s", q, code, body, says)
		}
	}
	if a := r.audited(); len(a) != 0 {
		t.Errorf("listing the queue was audited: %+v", a)
	}

	none := newUncertainRig(t, false)
	if code, body := get(t, none.srv.URL+"/api/v1/plates/uncertain"); code != 404 || !strings.Contains(body, "no plate index") {
		t.Errorf("without an index: %d %s", code, body)
	}
	if code, body := none.post(t, "/api/v1/plates/site-a/2/confirm", ""); code != 404 {
		t.Errorf("confirm without an index: %d %s", code, body)
	}
}

// A confirmation stores a plate.corrected event with the same plate and
// confirmed set, is audited, and takes the read out of the queue; so does
// a correction. A read not in the queue cannot be confirmed (409), and of
// two operators confirming one read at once, one succeeds.
func TestUncertainConfirmAndCorrect(t *testing.T) {
	r := newUncertainRig(t, true)
	code, body := r.post(t, "/api/v1/plates/site-a/3/confirm", `{"comment": "checked on the overview"}`)
	var res struct {
		Correction plates.Correction
		Event      string
	}
	if err := json.Unmarshal([]byte(body), &res); code != 200 || err != nil {
		t.Fatalf("confirm: %d %s", code, body)
	}
	want := plates.Correction{Read: "site-a/3", Plate: "777KZ02", Previous: "777KZ02", User: "olga", Comment: "checked on the overview", Confirmed: true}
	if res.Correction != want || !strings.HasPrefix(res.Event, "centre/") {
		t.Errorf("confirm answered %+v", res)
	}
	evs, err := r.ev.Search(10, func(e event.Event) bool { return e.Kind == plates.KindCorrected })
	if err != nil || len(evs) != 1 || evs[0].ID() != res.Event || !strings.Contains(string(evs[0].Payload), `"confirmed":true`) {
		t.Fatalf("stored: %+v %v", evs, err)
	}
	if q := r.queue(t, nil); q.Total != 3 || !reflect.DeepEqual(hitIDs(q.Items), []string{"site-b/2", "site-b/1", "site-a/2"}) {
		t.Errorf("after the confirmation: %v total %d", hitIDs(q.Items), q.Total)
	}
	if a := r.audited(); len(a) != 1 || a[0] != (auditCall{"plate.confirm", "site-a/3", "777KZ02 checked on the overview"}) {
		t.Errorf("audit: %+v", a)
	}
	// the search shows the review
	_, sb := get(t, r.srv.URL+"/api/v1/plates?plate=777KZ02")
	var hits []plates.PlateHit
	_ = json.Unmarshal([]byte(sb), &hits)
	if len(hits) != 1 || hits[0].Corrected == nil || !hits[0].Corrected.Confirmed {
		t.Errorf("search after the confirmation: %s", sb)
	}

	for _, c := range []struct {
		path, body string
		code       int
		says       string
	}{
		{"/api/v1/plates/site-a/3/confirm", "", 409, "plate read site-a/3 was already confirmed as 777KZ02 by olga"},
		{"/api/v1/plates/site-a/1/confirm", "", 409, "plate read site-a/1 is not in the uncertain queue: its confidence 0.97 is not below 0.80"},
		{"/api/v1/plates/site-a/4/confirm", "{}", 409, "its confidence 0.85 is not below 0.80"},
		{"/api/v1/plates/site-a/99/confirm", "", 404, "no plate read site-a/99"},
		{"/api/v1/plates/site-a/2/confirm", `{"plate": "123ABD02"}`, 400, `unknown field \"plate\"`},
		{"/api/v1/plates/site-a/2/confirm", `{"comment":`, 400, "body: "},
		{"/api/v1/plates/site-a/2/confirm", `{"comment": "` + strings.Repeat("x", 1001) + `"}`, 400, "comment: at most 1000 bytes"},
	} {
		if code, body := r.post(t, c.path, c.body); code != c.code || !strings.Contains(body, c.says) {
			t.Errorf("POST %s %.40s: %d %s, want %d saying %q", c.path, c.body, code, body, c.code, c.says)
		}
	}

	// a correction of a queued read takes it out too; it cannot be
	// confirmed afterwards
	if code, body := r.post(t, "/api/v1/plates/site-b/1/correction", `{"plate": "AA1284BB", "comment": "3 read as 8"}`); code != 200 {
		t.Fatalf("correction: %d %s", code, body)
	}
	if q := r.queue(t, nil); !reflect.DeepEqual(hitIDs(q.Items), []string{"site-b/2", "site-a/2"}) || q.Total != 2 {
		t.Errorf("after the correction: %v total %d", hitIDs(q.Items), q.Total)
	}
	if code, body := r.post(t, "/api/v1/plates/site-b/1/confirm", ""); code != 409 || !strings.Contains(body, "already corrected to AA1284BB by olga") {
		t.Errorf("confirm a corrected read: %d %s", code, body)
	}
	if a := r.audited(); a[len(a)-1].action != "plate.correct" || a[len(a)-1].object != "site-b/1" {
		t.Errorf("correction audit: %+v", a)
	}

	// eight operators confirm the same read at once: one wins
	var wg sync.WaitGroup
	codes := make([]int, 8)
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i], _ = r.post(t, "/api/v1/plates/site-a/2/confirm", "")
		}()
	}
	wg.Wait()
	ok, conflicts := 0, 0
	for _, c := range codes {
		switch c {
		case 200:
			ok++
		case 409:
			conflicts++
		}
	}
	if ok != 1 || conflicts != 7 {
		t.Errorf("concurrent confirmations: %v", codes)
	}
	if q := r.queue(t, url.Values{"count": {"1"}}); q.Total != 1 || len(q.Items) != 0 {
		t.Errorf("count at the end: %+v", q)
	}
}
