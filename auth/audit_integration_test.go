package auth_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kuzet/kuzet/audit"
	"github.com/kuzet/kuzet/auth"
	"github.com/kuzet/kuzet/event"
)

// Logins and logouts land in the node's event log as a verifiable chain.
func TestAuditTrailInEventLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	l, err := event.OpenLog(path, "site-1", nil)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := audit.New(l, audit.Options{})
	if err != nil {
		t.Fatal(err)
	}
	params := auth.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
	h, _ := auth.HashPasswordParams("olga-password", params)
	u, err := auth.NewUser("olga", "operator", h, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	users, _ := auth.NewMemStore(u)
	a, err := auth.New(auth.Options{Users: users, HashParams: params,
		Audit: func(_ *http.Request, e auth.AuditEntry) error { _, err := rec.Record(audit.Entry(e)); return err }})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	mux := http.NewServeMux()
	mux.Handle("/api/v1/auth/", a.Handler())
	mux.Handle("GET /api/v1/audit", a.Require(auth.RoleViewer, audit.ListHandler(l)))
	mux.Handle("GET /live/{camera}", a.Require(auth.RoleViewer, rec.Wrap(audit.ActionViewLive,
		func(r *http.Request) string { return r.PathValue("camera") }, a.Who,
		http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	post := func(path, body, cookie, csrf string) *http.Response {
		req, _ := http.NewRequest("POST", srv.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if cookie != "" {
			req.AddCookie(&http.Cookie{Name: auth.CookieName, Value: cookie})
			req.Header.Set(auth.CSRFHeader, csrf)
		}
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	res := post("/api/v1/auth/login", `{"user":"olga","password":"wrong-password"}`, "", "")
	res.Body.Close()
	res = post("/api/v1/auth/login", `{"user":"olga","password":"olga-password"}`, "", "")
	var lr auth.LoginResponse
	_ = json.NewDecoder(res.Body).Decode(&lr)
	res.Body.Close()
	cookie := res.Cookies()[0].Value
	req, _ := http.NewRequest("GET", srv.URL+"/live/Camera1", nil)
	req.AddCookie(&http.Cookie{Name: auth.CookieName, Value: cookie})
	res, err = srv.Client().Do(req)
	if err != nil || res.StatusCode != http.StatusNoContent {
		t.Fatalf("live view: %v %v", res, err)
	}
	res.Body.Close()
	res = post("/api/v1/auth/logout", "", cookie, lr.CSRFToken)
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("logout %d", res.StatusCode)
	}

	var actions []string
	all, _ := l.Range(0, 0)
	for _, e := range all {
		var p audit.Payload
		_ = json.Unmarshal(e.Payload, &p)
		actions = append(actions, p.Action+":"+p.User+":"+p.Source+":"+p.Object)
	}
	want := "login.failed:olga:127.0.0.1: login:olga:127.0.0.1: live.view:olga:127.0.0.1:Camera1 logout:olga:127.0.0.1:"
	if strings.Join(actions, " ") != want {
		t.Fatalf("audit trail %q, want %q", strings.Join(actions, " "), want)
	}
	if ps := audit.Verify(all); len(ps) != 0 {
		t.Fatal(ps)
	}
	_ = l.Close()
	var out bytes.Buffer
	if ok, err := audit.VerifyFile(path, &out); !ok || err != nil {
		t.Fatalf("%v %v\n%s", ok, err, out.String())
	}
}
