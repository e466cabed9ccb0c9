package alarm

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/kuzet/kuzet/event"
)

type apiClient struct {
	t   *testing.T
	srv *httptest.Server
}

func (c apiClient) do(method, path, user, contentType, body string) (int, string) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.srv.URL+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if user != "" {
		req.Header.Set("X-User", user)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// The HTTP API lists with filters, shows one alarm, acknowledges and
// clears for the authenticated user, and answers malformed requests and
// unknown IDs with errors that name the problem.
func TestHTTPHandler(t *testing.T) {
	var audited []string
	n := newNode(t, "site-1", Options{
		User:  func(r *http.Request) string { return r.Header.Get("X-User") },
		OnAck: func(user, id, comment string) { audited = append(audited, user+" "+id+" "+comment) },
	})
	srv := httptest.NewServer(n.m.Handler())
	defer srv.Close()
	c := apiClient{t, srv}

	e1 := n.emit(event.KindAlarmRaised, "Camera1", "camera_offline", "camera_offline:Camera1", event.SeverityMedium, "offline")
	n.clock.Advance(time.Second)
	e2 := n.emit(event.KindAlarmRaised, "Camera2", "tamper_covered", "tamper_covered:Camera2", event.SeverityGrave, "covered")
	n.clock.Advance(time.Second)
	// a key holding '/' (a parent's replicated camera) must still be addressable
	e3 := n.emit(event.KindAlarmRaised, "site-9/Camera1", "archive_write_failed", "archive_write_failed:site-9/Camera1",
		event.SeverityMinor, "disk")
	offline := alarmID("site-1", "camera_offline:Camera1", e1.Seq)
	covered := alarmID("site-1", "tamper_covered:Camera2", e2.Seq)
	slashed := alarmID("site-1", "archive_write_failed:site-9/Camera1", e3.Seq)

	list := func(query string) []Alarm {
		t.Helper()
		code, body := c.do("GET", "/api/v1/alarms"+query, "", "", "")
		if code != http.StatusOK {
			t.Fatalf("GET %s: %d %s", query, code, body)
		}
		var as []Alarm
		if err := json.Unmarshal([]byte(body), &as); err != nil {
			t.Fatal(err)
		}
		return as
	}
	if as := list(""); len(as) != 3 || as[0].ID != covered || as[1].ID != offline || as[2].ID != slashed {
		t.Fatalf("list order: %+v", as)
	}
	if as := list("?severity=grave,medium&camera=Camera1"); len(as) != 1 || as[0].ID != offline {
		t.Fatalf("filtered: %+v", as)
	}
	if as := list("?state=cleared"); len(as) != 0 {
		t.Fatalf("cleared: %+v", as)
	}
	if as := list("?origin=site-2"); len(as) != 0 {
		t.Fatalf("other origin: %+v", as)
	}
	if as := list("?type=tamper_covered,archive_write_failed"); len(as) != 2 || as[0].ID != covered || as[1].ID != slashed {
		t.Fatalf("by type: %+v", as)
	}
	if as := list("?limit=1&state=open"); len(as) != 1 || as[0].ID != covered {
		t.Fatalf("limit: %+v", as)
	}

	bad := map[string]string{
		"?severity=urgent":     "severity",
		"?state=closed":        "state",
		"?since=yesterday":     "since",
		"?limit=0":             "limit",
		"?limit=lots":          "limit",
		"?sevrity=grave":       "sevrity",
		"?camera=a&camera=b":   "camera: given 2 times",
		"?state=open,whatever": "whatever",
	}
	for q, want := range bad {
		code, body := c.do("GET", "/api/v1/alarms"+q, "", "", "")
		if code != http.StatusBadRequest || !strings.Contains(body, want) {
			t.Errorf("GET %s: %d %s (want 400 naming %q)", q, code, body, want)
		}
	}

	code, body := c.do("GET", "/api/v1/alarms/"+url.PathEscape(slashed), "", "", "")
	if code != http.StatusOK || !strings.Contains(body, `"archive_write_failed:site-9/Camera1"`) {
		t.Fatalf("GET escaped id: %d %s", code, body)
	}
	if code, body := c.do("GET", "/api/v1/alarms/site-1:nothing:42", "", "", ""); code != http.StatusNotFound ||
		!strings.Contains(body, "site-1:nothing:42") {
		t.Errorf("unknown id: %d %s", code, body)
	}

	ack := "/api/v1/alarms/" + url.PathEscape(offline) + "/ack"
	cases := []struct {
		name, path, user, ct, body string
		code                       int
		want                       string
	}{
		{"no user", ack, "", "application/json", `{"comment":"x"}`, 401, "authenticated user"},
		{"not JSON", ack, "aigerim", "application/json", `{"comment":`, 400, "body"},
		{"unknown field", ack, "aigerim", "application/json", `{"comment":"x","urgent":true}`, 400, "urgent"},
		{"two values", ack, "aigerim", "application/json", `{"comment":"x"} {}`, 400, "more than one"},
		{"wrong type", ack, "aigerim", "application/json", `{"comment":5}`, 400, "comment"},
		{"form body", ack, "aigerim", "application/x-www-form-urlencoded", "comment=x", 400, "application/json"},
		{"long comment", ack, "aigerim", "application/json", `{"comment":"` + strings.Repeat("x", maxComment+1) + `"}`, 400, "comment longer"},
		{"huge body", ack, "aigerim", "application/json", `{"comment":"` + strings.Repeat("x", maxBody) + `"}`, 400, "body over"},
		{"unknown alarm", "/api/v1/alarms/site-1:nothing:42/ack", "aigerim", "", "", 404, "not found"},
		{"unknown action", "/api/v1/alarms/" + url.PathEscape(offline) + "/mute", "aigerim", "", "", 404, "mute"},
		{"clear with comment", "/api/v1/alarms/" + url.PathEscape(offline) + "/clear", "aigerim", "application/json", `{"comment":"x"}`, 400, "no comment"},
	}
	for _, tc := range cases {
		code, body := c.do("POST", tc.path, tc.user, tc.ct, tc.body)
		if code != tc.code || !strings.Contains(body, tc.want) {
			t.Errorf("%s: %d %s (want %d with %q)", tc.name, code, body, tc.code, tc.want)
		}
	}
	if a, _ := n.m.Get(offline); a.State != StateRaised {
		t.Fatalf("a refused request changed the alarm: %+v", a)
	}
	if code, _ := c.do("GET", ack, "aigerim", "", ""); code != http.StatusMethodNotAllowed {
		t.Errorf("GET on ack: %d", code)
	}

	code, body = c.do("POST", ack, "aigerim", "application/json", `{"comment":"technician called"}`)
	var a Alarm
	if code != http.StatusOK || json.Unmarshal([]byte(body), &a) != nil || a.State != StateAcknowledged ||
		a.AckUser != "aigerim" || a.AckComment != "technician called" {
		t.Fatalf("ack: %d %s", code, body)
	}
	if len(audited) != 1 || audited[0] != "aigerim "+offline+" technician called" {
		t.Fatalf("audit: %q", audited)
	}
	if code, body := c.do("POST", ack, "bolat", "", ""); code != http.StatusConflict || !strings.Contains(body, "aigerim") {
		t.Errorf("second ack: %d %s", code, body)
	}
	// an ack with an empty body is fine
	slashAck := "/api/v1/alarms/" + url.PathEscape(slashed) + "/ack"
	if code, body := c.do("POST", slashAck, "bolat", "", ""); code != http.StatusOK {
		t.Errorf("ack without body: %d %s", code, body)
	}
	clear := "/api/v1/alarms/" + url.PathEscape(covered) + "/clear"
	code, body = c.do("POST", clear, "bolat", "", "")
	if code != http.StatusOK || json.Unmarshal([]byte(body), &a) != nil || a.State != StateCleared || a.ClearedBy != "bolat" {
		t.Fatalf("clear: %d %s", code, body)
	}
	if code, _ := c.do("POST", clear, "bolat", "", ""); code != http.StatusConflict {
		t.Errorf("second clear: %d", code)
	}
	if as := list("?state=cleared"); len(as) != 1 || as[0].ID != covered {
		t.Fatalf("cleared list: %+v", as)
	}
	// since selects by the last change
	if as := list("?since=" + url.QueryEscape(n.clock.Now().Format(time.RFC3339))); len(as) != 3 {
		t.Fatalf("changed since now: %+v", as)
	}
	if as := list("?since=" + url.QueryEscape(n.clock.Now().Add(time.Second).Format(time.RFC3339))); len(as) != 0 {
		t.Fatalf("changed since a second from now: %+v", as)
	}
}
