package plates_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kuzet/kuzet/api"
	"github.com/kuzet/kuzet/archive"
	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/plates"
	"github.com/kuzet/kuzet/site"
)

func TestPlateSearch(t *testing.T) {
	dir := t.TempDir()
	idx, _ := archive.OpenIndex(filepath.Join(dir, "archive.db"))
	defer idx.Close()
	ev, err := event.OpenLog(filepath.Join(dir, "events.db"), "region", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ev.Close()
	t0 := time.Date(2025, 8, 18, 10, 0, 0, 0, time.UTC)
	read := func(origin string, seq uint64, cam, plate string, at time.Time) event.Event {
		e := event.New(plates.KindPlateRead, cam, "", plates.PlateRead{Plate: plate, Country: "KZ", Direction: "entry",
			ArchiveLink: `Camera1\2025\08\18\10\Camera1_2025_08_18_10_00.mp4`})
		e.Origin, e.Seq, e.Time, e.Path = origin, seq, at, []string{origin}
		return e
	}
	if _, err := ev.Ingest([]event.Event{
		read("site-a", 1, "Camera1", "123ABC02", t0),
		read("site-a", 2, "Camera1", "123ABD02", t0.Add(time.Minute)),
		read("site-a", 3, "Camera2", "A123BC77", t0.Add(2*time.Minute)),
	}, "site-a"); err != nil {
		t.Fatal(err)
	}
	if _, err := ev.Ingest([]event.Event{read("site-b", 1, "Camera1", "123ABC02", t0.Add(3*time.Minute))}, "site-b"); err != nil {
		t.Fatal(err)
	}
	px, err := plates.Open(filepath.Join(dir, "plates.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer px.Close()
	if err := px.Sync(ev, plates.KindPlateRead); err != nil {
		t.Fatal(err)
	}
	for _, ix := range []*plates.Index{nil, px} {
		t.Run(fmt.Sprintf("index=%v", ix != nil), func(t *testing.T) {
			reg := prometheus.NewRegistry()
			srv := httptest.NewServer(api.Handler(api.Deps{NodeID: "region", Site: site.New(site.Options{Registerer: reg}),
				Index: idx, Events: ev, Gatherer: reg, Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, Plates: ix}))
			defer srv.Close()
			plateSearchCases(t, srv)
		})
	}
	// a correction re-files the read under its new plate
	reg := prometheus.NewRegistry()
	srv := httptest.NewServer(api.Handler(api.Deps{NodeID: "region", Site: site.New(site.Options{Registerer: reg}),
		Index: idx, Events: ev, Gatherer: reg, Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, Plates: px,
		User: func(*http.Request) string { return "op1" }}))
	defer srv.Close()
	post := func(path, body string) (int, string) {
		resp, err := http.Post(srv.URL+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for body, want := range map[string]int{
		`{"plate": "123ABD02"}`: 409, `{"plate": ""}`: 400, `{"plate": "ABCDEFGHIJKLMNOP"}`: 400, `{plate`: 400,
	} {
		if code, msg := post("/api/v1/plates/site-a/2/correction", body); code != want {
			t.Errorf("%s: %d %s, want %d", body, code, msg, want)
		}
	}
	if code, msg := post("/api/v1/plates/site-a/99/correction", `{"plate": "1"}`); code != 404 {
		t.Errorf("unknown read: %d %s", code, msg)
	}
	if code, msg := post("/api/v1/plates/site-a/2/correction", `{"plate": "123abc02", "comment": "B read as D"}`); code != 200 {
		t.Fatalf("correction: %d %s", code, msg)
	}
	if err := px.Sync(ev, plates.KindPlateRead); err != nil {
		t.Fatal(err)
	}
	code, body := get(t, srv.URL+"/api/v1/plates?plate=123ABC02")
	var hits []plates.PlateHit
	_ = json.Unmarshal([]byte(body), &hits)
	if code != 200 || len(hits) != 3 || hits[1].ID != "site-a/2" || hits[1].Plate != "123ABC02" || hits[1].Read.Plate != "123ABD02" ||
		hits[1].Corrected == nil || hits[1].Corrected.User != "op1" || hits[1].Corrected.Comment != "B read as D" {
		t.Fatalf("after correction: %d %s", code, body)
	}
}

func plateSearchCases(t *testing.T, srv *httptest.Server) {
	search := func(q string) []plates.PlateHit {
		t.Helper()
		code, body := get(t, srv.URL+"/api/v1/plates?"+q)
		if code != 200 {
			t.Fatalf("%s: %d %s", q, code, body)
		}
		var hits []plates.PlateHit
		if err := json.Unmarshal([]byte(body), &hits); err != nil {
			t.Fatal(err)
		}
		return hits
	}
	cases := []struct {
		q    string
		want []string
	}{
		{"plate=123abc02", []string{"site-b/1", "site-a/1"}},
		{"plate=123ABC02&node=site-a", []string{"site-a/1"}},
		{"plate=123AB&match=prefix", []string{"site-b/1", "site-a/2", "site-a/1"}},
		{"plate=123ABC02&match=fuzzy", []string{"site-b/1", "site-a/2", "site-a/1"}},
		{"plate=A123&match=prefix&camera=Camera2", []string{"site-a/3"}},
		{"plate=123ABC02&from=2025-08-18T10:02:00Z", []string{"site-b/1"}},
		{"plate=123ABC02&to=2025-08-18T10:02:00Z", []string{"site-a/1"}},
		{"plate=999ZZZ99", nil},
		{"camera=Camera1&node=site-a", []string{"site-a/2", "site-a/1"}},
		{"camera=site-a%2FCamera2", []string{"site-a/3"}},
	}
	for _, c := range cases {
		hits := search(c.q)
		var got []string
		for _, h := range hits {
			got = append(got, h.ID)
		}
		if strings.Join(got, ",") != strings.Join(c.want, ",") {
			t.Errorf("%s: %v, want %v", c.q, got, c.want)
		}
	}
	if h := search("plate=A123BC77"); len(h) != 1 || h[0].Read.ArchiveLink == "" || h[0].Camera != "Camera2" {
		t.Errorf("hit %+v", h)
	}
	for q, msg := range map[string]string{"": "plate: required", "plate=1&match=soundex": "match", "plate=1&from=x": "from", "plate=1&limit=0": "limit"} {
		if code, body := get(t, srv.URL+"/api/v1/plates?"+q); code != 400 || !strings.Contains(body, msg) {
			t.Errorf("%q: %d %s", q, code, body)
		}
	}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// The live feed follows the log: the newest reads first as a window back
// from the end, then what arrives after the position it names, other
// events skipped, one camera if asked.
func TestPlateFeed(t *testing.T) {
	dir := t.TempDir()
	idx, _ := archive.OpenIndex(filepath.Join(dir, "archive.db"))
	defer idx.Close()
	ev, err := event.OpenLog(filepath.Join(dir, "events.db"), "centre", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ev.Close()
	seq := uint64(0)
	read := func(cam, plate string) {
		t.Helper()
		seq++
		e := event.New(plates.KindPlateRead, cam, "", plates.PlateRead{Plate: plate})
		e.Origin, e.Seq, e.Time, e.Path = "site-a", seq, time.Now().UTC(), []string{"site-a"}
		if _, err := ev.Ingest([]event.Event{e}, "site-a"); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 30 {
		read("Camera1", fmt.Sprintf("%03dABC02", i))
		if _, err := ev.Append(event.New("camera.state", "Camera9", "", map[string]string{"state": "streaming"})); err != nil {
			t.Fatal(err)
		}
	}
	reg := prometheus.NewRegistry()
	srv := httptest.NewServer(api.Handler(api.Deps{NodeID: "centre", Site: site.New(site.Options{Registerer: reg}),
		Index: idx, Events: ev, Gatherer: reg, Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}))
	defer srv.Close()
	get := func(q string) ([]plates.PlateHit, string, int) {
		t.Helper()
		resp, err := http.Get(srv.URL + "/api/v1/plates?" + q)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var hits []plates.PlateHit
		_ = json.NewDecoder(resp.Body).Decode(&hits)
		return hits, resp.Header.Get("X-Kuzet-Next-After"), resp.StatusCode
	}
	hits, next, code := get("after=-10")
	if code != 200 || len(hits) != 5 || hits[0].Plate != "025ABC02" || hits[4].Plate != "029ABC02" || next != fmt.Sprint(ev.Last()) {
		t.Fatalf("the last 10 events: %d, %d reads, next %s: %+v", code, len(hits), next, hits)
	}
	if hits, n2, _ := get("after=" + next); len(hits) != 0 || n2 != next {
		t.Fatalf("nothing new: %+v, next %s", hits, n2)
	}
	read("Camera2", "777KZA02")
	read("Camera1", "888KZA02")
	if hits, _, _ := get("after=" + next + "&camera=site-a/Camera2"); len(hits) != 1 || hits[0].Plate != "777KZA02" {
		t.Fatalf("Camera2 after %s: %+v", next, hits)
	}
	if hits, _, _ := get("after=" + next + "&limit=1"); len(hits) != 1 || hits[0].Plate != "777KZA02" {
		t.Fatalf("one read after %s: %+v", next, hits)
	}
	for _, bad := range []string{"after=x", "after=5&plate=123ABC02", "after=-5&from=2025-08-18T10:00:00Z"} {
		if _, _, code := get(bad); code != 400 {
			t.Errorf("%s: %d", bad, code)
		}
	}
}
