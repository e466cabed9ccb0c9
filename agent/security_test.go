package agent

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"

	"github.com/kuzet/kuzet/audit"
	"github.com/kuzet/kuzet/auth"
	"github.com/kuzet/kuzet/event"
)

// client is a browser-like API client: a cookie jar and the CSRF token.
type client struct {
	t    *testing.T
	base string
	http *http.Client
	csrf string
}

func newClient(t *testing.T, base string) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, base: base, http: &http.Client{Jar: jar}}
}

func (c *client) do(method, path, body string) (int, string) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.csrf != "" {
		req.Header.Set("X-CSRF-Token", c.csrf)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (c *client) login(user, pw string) int {
	code, body := c.do("POST", "/api/v1/auth/login", fmt.Sprintf(`{"user": %q, "password": %q}`, user, pw))
	var r struct {
		CSRF string `json:"csrf_token"`
	}
	_ = json.Unmarshal([]byte(body), &r)
	c.csrf = r.CSRF
	return code
}

// UA-3.8, NVMS-6.4: with users configured every API route needs a login
// with a role, and what operators do lands in the audit chain.
func TestAPIRolesAndAudit(t *testing.T) {
	hash := func(pw string) string {
		p := auth.DefaultParams
		p.Memory, p.Time = 1024, 1 // cheap for tests
		h, err := auth.HashPasswordParams(pw, p)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	dir := t.TempDir()
	a, _ := startAgent(t, fmt.Sprintf(`
node: {id: site, data_dir: %s}
http: {listen: "127.0.0.1:0"}
users:
  - {name: vera, role: viewer, password_hash: %q}
  - {name: olga, role: operator, password_hash: %q}
  - {name: adam, role: admin, password_hash: %q}
`, dir, hash("viewer-pass"), hash("operator-pass"), hash("admin-pass")))
	base := "http://" + a.HTTPAddr()
	anon := newClient(t, base)
	if code, body := anon.do("GET", "/api/v1/cameras", ""); code != 401 {
		t.Fatalf("anonymous cameras: %d %s", code, body)
	}
	if code, _ := anon.do("GET", "/healthz", ""); code != 200 {
		t.Fatal("healthz needs no login")
	}
	if code := anon.login("vera", "wrong-pass"); code != 401 {
		t.Fatalf("wrong password: %d", code)
	}
	viewer := newClient(t, base)
	if code := viewer.login("vera", "viewer-pass"); code != 200 {
		t.Fatalf("viewer login: %d", code)
	}
	if code, body := viewer.do("GET", "/api/v1/cameras", ""); code != 200 {
		t.Fatalf("viewer cameras: %d %s", code, body)
	}
	exp := "/api/v1/archive/export.mp4?camera=Camera1&from=2026-01-01T00:00:00Z&to=2026-01-01T00:01:00Z"
	if code, body := viewer.do("GET", exp, ""); code != 403 {
		t.Fatalf("viewer export: %d %s", code, body)
	}
	if code, _ := viewer.do("POST", "/api/v1/plates/site/1/correction", `{"plate": "1"}`); code != 403 {
		t.Fatalf("viewer correction: %d", code)
	}
	if code, _ := viewer.do("GET", "/api/v1/audit", ""); code != 403 {
		t.Fatalf("viewer audit log: %d", code)
	}
	op := newClient(t, base)
	if code := op.login("olga", "operator-pass"); code != 200 {
		t.Fatal("operator login")
	}
	// authorised; the range holds nothing, so the export says so
	if code, body := op.do("GET", exp, ""); code == 401 || code == 403 {
		t.Fatalf("operator export refused: %d %s", code, body)
	}
	csrf := op.csrf
	op.csrf = ""
	if code, _ := op.do("POST", "/api/v1/plates/site/1/correction", `{"plate": "1"}`); code != 403 {
		t.Fatalf("correction without the CSRF token: %d", code)
	}
	op.csrf = csrf
	admin := newClient(t, base)
	if code := admin.login("adam", "admin-pass"); code != 200 {
		t.Fatal("admin login")
	}
	code, body := admin.do("GET", "/api/v1/audit?limit=100", "")
	if code != 200 {
		t.Fatalf("audit log: %d %s", code, body)
	}
	for _, want := range []string{`"login.failed"`, `"archive.export"`, `"olga"`, `"vera"`} {
		if !strings.Contains(body, want) {
			t.Errorf("audit log lacks %s: %s", want, body)
		}
	}
	if code, body := admin.do("GET", "/api/v1/audit/verify", ""); code != 200 || !strings.Contains(body, `"ok": true`) && !strings.Contains(body, `"ok":true`) {
		t.Errorf("audit verify: %d %s", code, body)
	}
	if evs, _ := a.Events().Search(0, func(e event.Event) bool { return e.Kind == audit.Kind }); len(evs) < 4 {
		t.Errorf("%d audit events in the log", len(evs))
	}
}
