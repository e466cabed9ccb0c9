package plates_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kuzet/kuzet/api"
	"github.com/kuzet/kuzet/plates"
	"github.com/kuzet/kuzet/plates/camevents"
)

// The handler passes the camera's token, address and body to the node,
// answers refusals with their status (auditing all but strangers') and
// bounds the body; only this route skips the allow-list.
func TestCameraPlatesHandler(t *testing.T) {
	var mu sync.Mutex
	var got []plates.CameraPlateEvent
	var bodies []string
	var audited []string
	answer := func(ev plates.CameraPlateEvent) (plates.CameraPlateAnswer, error) {
		switch ev.Token {
		case "wrong":
			return plates.CameraPlateAnswer{}, &camevents.Refusal{Status: 401, Msg: "camera Gate1: wrong token"}
		case "stranger":
			return plates.CameraPlateAnswer{}, &camevents.Refusal{Status: 403, Msg: "client address 127.0.0.1 is not allowed", Quiet: true}
		case "busy":
			return plates.CameraPlateAnswer{}, plates.ErrCameraPlatesBusy
		}
		b, err := io.ReadAll(ev.Body)
		if err != nil {
			return plates.CameraPlateAnswer{}, err
		}
		mu.Lock()
		bodies = append(bodies, string(b))
		mu.Unlock()
		if string(b) == "bad" {
			return plates.CameraPlateAnswer{}, &camevents.Error{Format: "generic", Field: "plate", Msg: "required"}
		}
		return plates.CameraPlateAnswer{Camera: ev.Camera, Plate: "123ABC02"}, nil
	}
	d := api.Deps{Gatherer: prometheus.NewRegistry(), Allow: []netip.Prefix{netip.MustParsePrefix("10.9.9.0/24")},
		Audit: func(r *http.Request, action, object, detail string) {
			mu.Lock()
			defer mu.Unlock()
			if r.Header.Get("Authorization") != "" {
				t.Error("the camera's token handed to the audit log's user lookup")
			}
			audited = append(audited, action+" "+object+": "+detail)
		},
		CameraPlates: func(_ context.Context, ev plates.CameraPlateEvent) (plates.CameraPlateAnswer, error) {
			mu.Lock()
			got = append(got, ev)
			mu.Unlock()
			return answer(ev)
		}}
	srv := httptest.NewServer(api.Handler(d))
	defer srv.Close()
	post := func(target string, hdr http.Header, body io.Reader) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest("POST", srv.URL+target, body)
		for k, v := range hdr {
			req.Header[k] = v
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	// the rest of the API stays behind the allow-list
	if code, _ := get(t, srv.URL+"/api/v1/node"); code != 403 {
		t.Fatalf("node status from outside the allow-list: %d", code)
	}
	basic := http.Header{"Authorization": {"Basic " + "Z2F0ZTE6YmFzaWMtc2VjcmV0"}} // gate1:basic-secret
	for _, c := range []struct {
		target string
		hdr    http.Header
		token  string
	}{
		{"/api/v1/cameras/Gate1/plates", http.Header{"Authorization": {"Bearer bearer-secret"}, "Content-Type": {"application/xml"}}, "bearer-secret"},
		{"/api/v1/cameras/Gate1/plates", basic, "basic-secret"},
		{"/api/v1/cameras/Gate1/plates?token=query-secret", nil, "query-secret"},
	} {
		resp, body := post(c.target, c.hdr, strings.NewReader("event"))
		if resp.StatusCode != 200 || !strings.Contains(body, `"plate": "123ABC02"`) {
			t.Fatalf("%s: %d %s", c.target, resp.StatusCode, body)
		}
		ev := got[len(got)-1]
		if ev.Token != c.token || ev.Camera != "Gate1" || ev.Allowed || ev.Source != netip.MustParseAddr("127.0.0.1") || ev.Received.IsZero() {
			t.Fatalf("%s: event %+v", c.target, ev)
		}
	}
	if got[0].ContentType != "application/xml" || bodies[0] != "event" {
		t.Fatalf("content type %q, body %q", got[0].ContentType, bodies[0])
	}

	resp, body := post("/api/v1/cameras/Gate1/plates", http.Header{"Authorization": {"Bearer wrong"}}, strings.NewReader("x"))
	if resp.StatusCode != 401 || !strings.Contains(body, "wrong token") || resp.Header.Get("WWW-Authenticate") == "" {
		t.Fatalf("wrong token: %d %s", resp.StatusCode, body)
	}
	if resp, body = post("/api/v1/cameras/Gate1/plates?token=stranger", nil, strings.NewReader("x")); resp.StatusCode != 403 || !strings.Contains(body, "not allowed") {
		t.Fatalf("stranger: %d %s", resp.StatusCode, body)
	}
	if len(audited) != 1 || !strings.Contains(audited[0], plates.ActionCameraPlatesRefused+" camera Gate1: camera Gate1: wrong token") {
		t.Fatalf("audited %q", audited)
	}
	if resp, body = post("/api/v1/cameras/Gate1/plates?token=t", nil, strings.NewReader("bad")); resp.StatusCode != 400 || !strings.Contains(body, "plate: required") {
		t.Fatalf("malformed: %d %s", resp.StatusCode, body)
	}
	if resp, body = post("/api/v1/cameras/Gate1/plates?token=busy", nil, strings.NewReader("x")); resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("busy: %d %s", resp.StatusCode, body)
	}
	// bodies beyond 8 MiB: refused from the header, or while read
	n := len(got)
	big := strings.Repeat("x", camevents.MaxBody+1)
	if resp, body = post("/api/v1/cameras/Gate1/plates?token=t", nil, strings.NewReader(big)); resp.StatusCode != 413 || len(got) != n {
		t.Fatalf("big body: %d %s", resp.StatusCode, body)
	}
	if resp, body = post("/api/v1/cameras/Gate1/plates?token=t", nil, io.MultiReader(strings.NewReader(big))); resp.StatusCode != 413 {
		t.Fatalf("big chunked body: %d %s", resp.StatusCode, body)
	}
	// a body of up to 8 MiB is taken, though the rest of the API takes 1 MiB
	if resp, body = post("/api/v1/cameras/Gate1/plates?token=t", nil, strings.NewReader(big[:3<<20])); resp.StatusCode != 200 {
		t.Fatalf("3 MiB body: %d %s", resp.StatusCode, body)
	}

	// a node that takes no camera events
	srv2 := httptest.NewServer(api.Handler(api.Deps{Gatherer: prometheus.NewRegistry(), Allow: d.Allow}))
	defer srv2.Close()
	r2, err := http.Post(srv2.URL+"/api/v1/cameras/Gate1/plates", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	r2.Body.Close()
	if r2.StatusCode != 404 {
		t.Fatalf("no ingest: %d", r2.StatusCode)
	}
}
