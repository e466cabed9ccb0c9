package auth

import (
	"errors"
	"net/http"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestBearerTokens(t *testing.T) {
	e := newEnv(t, nil, false)
	sys := e.client(t, "127.0.0.1")
	tok, err := e.a.CreateToken("plate-api", RoleOperator, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tok, "kzt_") || len(tok) < 40 {
		t.Fatalf("token %q", tok)
	}
	bearer := []string{"Authorization", "Bearer " + tok}
	r := sys.do("GET", "/t/operator", nil, bearer...)
	expect(t, r, http.StatusOK, "")
	if r.str("user") != "token:plate-api" || r.str("method") != MethodToken {
		t.Fatalf("token principal: %s", r.raw)
	}
	// no CSRF for bearer requests: no browser sends them on its own
	expect(t, sys.do("POST", "/t/operator", nil, bearer...), http.StatusOK, "")
	expect(t, sys.do("GET", "/t/engineer", nil, bearer...), http.StatusForbidden, "token:plate-api has role operator")
	expect(t, sys.do("GET", "/t/viewer", nil, "Authorization", "Bearer kzt_"+strings.Repeat("A", 43)), http.StatusUnauthorized, "not recognised")
	expect(t, sys.do("POST", "/api/v1/auth/logout", nil, bearer...), http.StatusBadRequest, "API tokens are revoked with")

	if _, err := e.a.CreateToken("plate-api", RoleViewer, "alice"); !errors.Is(err, ErrTokenExists) {
		t.Fatalf("duplicate token name: %v", err)
	}
	if err := e.a.RevokeToken("plate-api"); err != nil {
		t.Fatal(err)
	}
	expect(t, sys.do("GET", "/t/operator", nil, bearer...), http.StatusUnauthorized, "revoked or mistyped")
	if err := e.a.RevokeToken("plate-api"); !errors.Is(err, ErrTokenNotFound) {
		t.Fatalf("revoke twice: %v", err)
	}
}

func TestTokenAPI(t *testing.T) {
	e := newEnv(t, nil, false)
	admin := e.client(t, "127.0.0.1")
	admin.mustLogin("alice")
	csrf := []string{CSRFHeader, admin.csrf}

	r := admin.do("POST", "/api/v1/auth/tokens", map[string]string{"name": "webhook", "role": "viewer"}, csrf...)
	expect(t, r, http.StatusCreated, "")
	tok := r.str("token")
	if r.str("name") != "webhook" || r.str("role") != "viewer" || tok == "" {
		t.Fatalf("create: %s", r.raw)
	}
	if a, ok := e.audit.find(ActionTokenCreate, "alice"); !ok || a.Object != "webhook" {
		t.Fatalf("token creation not audited: %+v", a)
	}
	expect(t, admin.do("POST", "/api/v1/auth/tokens", map[string]string{"name": "webhook", "role": "admin"}, csrf...), http.StatusConflict, "already exists")

	r = admin.do("GET", "/api/v1/auth/tokens", nil)
	expect(t, r, http.StatusOK, "")
	if !strings.Contains(r.raw, `"name":"webhook"`) || strings.Contains(r.raw, tok) || strings.Contains(r.raw, hashSecret(tok)) {
		t.Fatalf("token list shows a secret or misses the token: %s", r.raw)
	}

	sys := e.client(t, "127.0.0.1")
	expect(t, sys.do("GET", "/api/v1/auth/me", nil, "Authorization", "Bearer "+tok), http.StatusOK, "")
	expect(t, sys.do("GET", "/api/v1/auth/tokens", nil, "Authorization", "Bearer "+tok), http.StatusForbidden, "needs admin")

	expect(t, admin.do("DELETE", "/api/v1/auth/tokens/webhook", nil, csrf...), http.StatusOK, "")
	expect(t, admin.do("DELETE", "/api/v1/auth/tokens/webhook", nil, csrf...), http.StatusNotFound, "does not exist")
	expect(t, sys.do("GET", "/api/v1/auth/me", nil, "Authorization", "Bearer "+tok), http.StatusUnauthorized, "")
	if _, ok := e.audit.find(ActionTokenRevoke, "alice"); !ok {
		t.Fatal("revocation not audited")
	}
}

func TestStateSurvivesRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "auth.db")
	users := testUsers(t)
	clk := newClock()
	open := func() *Auth {
		a, err := New(Options{Users: users, HashParams: cheap, Now: clk.Now, StatePath: path})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	a := open()
	e := &env{a: a, clock: clk}
	mux := http.NewServeMux()
	mux.Handle("/api/v1/auth/", a.Handler())
	e.srv = newServer(t, mux)
	c := e.client(t, "127.0.0.1")
	c.mustLogin("eve")
	tok, err := a.CreateToken("nightly-export", RoleViewer, "eve")
	if err != nil {
		t.Fatal(err)
	}
	keep := e.client(t, "127.0.0.1")
	keep.mustLogin("victor")
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	e.srv.Close()

	// the file holds only hashes of the secrets
	raw := readFile(t, path)
	if strings.Contains(raw, c.cookie) || strings.Contains(raw, tok) {
		t.Fatal("state file holds a cookie or token in the clear")
	}

	clk.Advance(5 * time.Minute)
	a = open()
	t.Cleanup(func() { _ = a.Close() })
	e.a = a
	mux = http.NewServeMux()
	mux.Handle("/api/v1/auth/", a.Handler())
	e.srv = newServer(t, mux)
	c.e, keep.e = e, e
	r := c.do("GET", "/api/v1/auth/me", nil)
	expect(t, r, http.StatusOK, "")
	if r.str("user") != "eve" || r.str("csrf_token") != c.csrf {
		t.Fatalf("session after restart: %s", r.raw)
	}
	expect(t, c.do("GET", "/api/v1/auth/me", nil, "Authorization", "Bearer "+tok), http.StatusOK, "")

	// disabling a user ends their sessions at once
	victor, _ := users.User("victor")
	victor.Disabled = true
	all := users.Users()
	for i := range all {
		if all[i].Name == "victor" {
			all[i] = victor
		}
	}
	if err := users.Replace(all); err != nil {
		t.Fatal(err)
	}
	expect(t, keep.do("GET", "/api/v1/auth/me", nil), http.StatusForbidden, "user victor is disabled")

	n, err := a.EndSessions("eve")
	if err != nil || n != 1 {
		t.Fatalf("end sessions: %d %v", n, err)
	}
	expect(t, c.do("GET", "/api/v1/auth/me", nil), http.StatusUnauthorized, "")
}

func TestSecureCookieOverTLS(t *testing.T) {
	e := newEnv(t, nil, true)
	c := e.client(t, "127.0.0.1")
	r := c.login("victor", "victor-password")
	expect(t, r, http.StatusOK, "")
	for _, ck := range r.res.Cookies() {
		if ck.Name == CookieName && !ck.Secure {
			t.Fatal("cookie over TLS is not Secure")
		}
	}
	plain := newEnv(t, func(o *Options) { o.SecureCookie = true }, false)
	r = plain.client(t, "127.0.0.1").login("victor", "victor-password")
	expect(t, r, http.StatusOK, "")
	if ck := r.res.Cookies(); len(ck) != 1 || !ck[0].Secure {
		t.Fatalf("SecureCookie option ignored: %v", ck)
	}
}

func TestMaxSessionsPerUser(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.MaxSessionsPerUser = 2 }, false)
	var cs []*client
	for i := 0; i < 3; i++ {
		c := e.client(t, "127.0.0.1")
		c.mustLogin("olga")
		cs = append(cs, c)
		e.clock.Advance(time.Second)
	}
	expect(t, cs[0].do("GET", "/t/viewer", nil), http.StatusUnauthorized, "")
	expect(t, cs[1].do("GET", "/t/viewer", nil), http.StatusOK, "")
	expect(t, cs[2].do("GET", "/t/viewer", nil), http.StatusOK, "")
}

func TestOptions(t *testing.T) {
	users := testUsers(t)
	for _, tc := range []struct {
		o   Options
		msg string
	}{
		{Options{}, "no user store"},
		{Options{Users: users, HashParams: cheap, IdleTimeout: time.Hour, Lifetime: time.Minute}, "exceeds the session lifetime"},
		{Options{Users: users, HashParams: cheap, AdminFrom: make([]netip.Prefix, 1)}, "admin_from[0]"},
		{Options{Users: users, HashParams: Params{Memory: 1, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}}, "decoy hash"},
		{Options{Users: users, HashParams: cheap, StatePath: filepath.Join(t.TempDir(), "missing", "auth.db")}, "open auth state"},
	} {
		if _, err := New(tc.o); err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%+v: %v, want %q", tc.o, err, tc.msg)
		}
	}
	// without admin_from, administration stays on the machine itself
	e := newEnv(t, func(o *Options) { o.AdminFrom = nil }, false)
	for _, from := range []string{"127.0.0.1", "127.0.0.4"} {
		c := e.client(t, from)
		c.mustLogin("alice")
		expect(t, c.do("GET", "/t/admin", nil), http.StatusOK, "")
	}
}
