package auth

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kuzet/kuzet/internal/testkit"
)

// cheap keeps tests fast; production hashes use DefaultParams.
var cheap = Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func newClock() *testkit.Clock { return testkit.NewClock(time.Date(2025, 8, 18, 9, 0, 0, 0, time.UTC)) }

type auditSink struct {
	mu      sync.Mutex
	entries []AuditEntry
}

func (s *auditSink) record(_ *http.Request, e AuditEntry) error {
	s.mu.Lock()
	s.entries = append(s.entries, e)
	s.mu.Unlock()
	return nil
}

func (s *auditSink) find(action, user string) (AuditEntry, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.entries {
		if e.Action == action && e.User == user {
			return e, true
		}
	}
	return AuditEntry{}, false
}

func (s *auditSink) count(action, user string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, e := range s.entries {
		if e.Action == action && e.User == user {
			n++
		}
	}
	return n
}

func mustUser(t testing.TB, name, role, password string, allow []string, disabled bool) User {
	t.Helper()
	h, err := HashPasswordParams(password, cheap)
	if err != nil {
		t.Fatal(err)
	}
	u, err := NewUser(name, role, h, allow, disabled)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// testUsers: the password of each is NAME-password.
func testUsers(t testing.TB) *MemStore {
	s, err := NewMemStore(
		mustUser(t, "alice", "admin", "alice-password", nil, false),
		mustUser(t, "eve", "engineer", "eve-password", nil, false),
		mustUser(t, "olga", "operator", "olga-password", nil, false),
		mustUser(t, "victor", "viewer", "victor-password", nil, false),
		mustUser(t, "dora", "viewer", "dora-password", nil, true),
		mustUser(t, "nina", "viewer", "nina-password", []string{"127.0.0.1"}, false),
	)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

type env struct {
	a     *Auth
	srv   *httptest.Server
	clock *testkit.Clock
	audit *auditSink
	users *MemStore
}

// newEnv serves the auth endpoints plus /t/{role} probes that echo the
// caller, over real TCP on loopback.
func newEnv(t *testing.T, tweak func(*Options), tls bool) *env {
	t.Helper()
	e := &env{clock: newClock(), audit: &auditSink{}, users: testUsers(t)}
	o := Options{
		Users: e.users, HashParams: cheap, Now: e.clock.Now, Audit: e.audit.record,
		AdminFrom: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")},
	}
	if tweak != nil {
		tweak(&o)
	}
	a, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	e.a = a
	mux := http.NewServeMux()
	mux.Handle("/api/v1/auth/", a.Handler())
	for _, r := range []Role{RoleViewer, RoleOperator, RoleEngineer, RoleAdmin} {
		mux.Handle("/t/"+r.String(), a.Require(r, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			p, ok := a.User(req)
			if !ok {
				writeError(w, http.StatusInternalServerError, "no principal inside Require")
				return
			}
			writeJSON(w, http.StatusOK, map[string]string{"user": p.Name, "role": p.Role.String(), "method": p.Method})
		})))
	}
	if tls {
		e.srv = httptest.NewTLSServer(mux)
	} else {
		e.srv = httptest.NewServer(mux)
	}
	t.Cleanup(e.srv.Close)
	return e
}

// client connects from the given loopback address (127.x.y.z), so
// source-address rules can be exercised.
type client struct {
	t      *testing.T
	e      *env
	hc     *http.Client
	cookie string
	csrf   string
}

func (e *env) client(t *testing.T, from string) *client {
	t.Helper()
	tr := e.srv.Client().Transport.(*http.Transport).Clone()
	d := &net.Dialer{Timeout: 10 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		return d.DialContext(ctx, network, addr)
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &client{t: t, e: e, hc: &http.Client{Transport: tr, Timeout: 30 * time.Second}}
}

type resp struct {
	code   int
	body   map[string]any
	raw    string
	header http.Header
	res    *http.Response
}

func (r resp) str(k string) string { s, _ := r.body[k].(string); return s }

// do sends a request; body is sent as JSON unless it is a string.
func (c *client) do(method, path string, body any, hdr ...string) resp {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		if s, ok := body.(string); ok {
			rd = strings.NewReader(s)
		} else {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
	}
	req, err := http.NewRequest(method, c.e.srv.URL+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.cookie != "" {
		req.AddCookie(&http.Cookie{Name: CookieName, Value: c.cookie})
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i+1] == "" {
			req.Header.Del(hdr[i])
			continue
		}
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := resp{code: res.StatusCode, raw: string(raw), header: res.Header, res: res}
	_ = json.Unmarshal(raw, &out.body)
	return out
}

// login logs in and keeps the cookie and CSRF token.
func (c *client) login(user, password string) resp {
	c.t.Helper()
	r := c.do("POST", "/api/v1/auth/login", map[string]string{"user": user, "password": password})
	if r.code == http.StatusOK {
		for _, ck := range r.res.Cookies() {
			if ck.Name == CookieName {
				c.cookie = ck.Value
			}
		}
		c.csrf = r.str("csrf_token")
	}
	return r
}

func (c *client) mustLogin(user string) {
	c.t.Helper()
	if r := c.login(user, user+"-password"); r.code != http.StatusOK {
		c.t.Fatalf("login %s: %d %s", user, r.code, r.raw)
	}
}

func expect(t *testing.T, r resp, code int, errContains string) {
	t.Helper()
	if r.code != code {
		t.Fatalf("status %d, want %d: %s", r.code, code, r.raw)
	}
	if errContains != "" && !strings.Contains(r.str("error"), errContains) {
		t.Fatalf("error %q does not mention %q", r.str("error"), errContains)
	}
	if code >= 400 && r.str("error") == "" {
		t.Fatalf("status %d without a JSON error: %s", r.code, r.raw)
	}
}

func newServer(t *testing.T, h http.Handler) *httptest.Server {
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
