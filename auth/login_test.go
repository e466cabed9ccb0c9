package auth

import (
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestLogin(t *testing.T) {
	e := newEnv(t, nil, false)
	c := e.client(t, "127.0.0.1")

	r := c.login("eve", "eve-password")
	expect(t, r, http.StatusOK, "")
	if r.str("user") != "eve" || r.str("role") != "engineer" || len(r.str("csrf_token")) < 40 {
		t.Fatalf("login response: %s", r.raw)
	}
	var ck *http.Cookie
	for _, x := range r.res.Cookies() {
		if x.Name == CookieName {
			ck = x
		}
	}
	if ck == nil || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Secure || ck.Path != "/" || len(ck.Value) < 43 {
		t.Fatalf("session cookie: %+v", ck)
	}
	if _, ok := e.audit.find(ActionLogin, "eve"); !ok {
		t.Fatal("login not audited")
	}

	for _, tc := range []struct {
		name, user, password string
		code                 int
		msg                  string
	}{
		{"wrong password", "eve", "not-her-password", http.StatusUnauthorized, "wrong user name or password"},
		{"unknown user", "mallory", "whatever-password", http.StatusUnauthorized, "wrong user name or password"},
		{"disabled user", "dora", "dora-password", http.StatusForbidden, "user dora is disabled"},
		{"disabled user, wrong password", "dora", "guess-password", http.StatusUnauthorized, "wrong user name or password"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := e.client(t, "127.0.0.1")
			r := c.login(tc.user, tc.password)
			expect(t, r, tc.code, tc.msg)
			if len(r.res.Cookies()) != 0 {
				t.Fatalf("refused login set a cookie: %v", r.res.Cookies())
			}
			a, ok := e.audit.find(ActionLoginFailed, tc.user)
			if !ok || a.Source != "127.0.0.1" || a.Detail == "" {
				t.Fatalf("failed login audit entry: %+v %v", a, ok)
			}
		})
	}

	t.Run("outside allowed range", func(t *testing.T) {
		out := e.client(t, "127.0.0.2")
		// the right password gets the answer a wrong one gets: it is not
		// checked, and neither the password nor the account is confirmed
		right := out.login("nina", "nina-password")
		expect(t, right, http.StatusUnauthorized, "wrong user name or password")
		wrong := out.login("nina", "guess-password")
		unknown := out.login("nobody", "guess-password")
		if right.raw != wrong.raw || right.raw != unknown.raw {
			t.Fatalf("answers differ: right %q, wrong %q, unknown user %q", right.raw, wrong.raw, unknown.raw)
		}
		if a, ok := e.audit.find(ActionLoginFailed, "nina"); !ok || !strings.Contains(a.Detail, "may not log in from 127.0.0.2") {
			t.Fatalf("refusal not audited with its reason: %+v", a)
		}
		in := e.client(t, "127.0.0.1")
		expect(t, in.login("nina", "nina-password"), http.StatusOK, "")
		// a session taken elsewhere is refused there too
		out.cookie, out.csrf = in.cookie, in.csrf
		expect(t, out.do("GET", "/api/v1/auth/me", nil), http.StatusForbidden, "may not connect from 127.0.0.2")
		expect(t, in.do("GET", "/api/v1/auth/me", nil), http.StatusOK, "")
	})
}

func TestLoginThrottle(t *testing.T) {
	e := newEnv(t, func(o *Options) {
		o.Throttle = ThrottleOptions{UserFree: 3, SourceFree: 6, Base: 2 * time.Second, Max: time.Minute}
	}, false)
	c := e.client(t, "127.0.0.1")
	for i := 0; i < 3; i++ {
		expect(t, c.login("olga", "guess-"+strconv.Itoa(i)+"-password"), http.StatusUnauthorized, "")
	}
	// locked: even the right password is not checked
	r := c.login("olga", "olga-password")
	expect(t, r, http.StatusTooManyRequests, "too many failed logins")
	if ra, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || ra < 1 || ra > 3 {
		t.Fatalf("Retry-After %q", r.header.Get("Retry-After"))
	}
	if a, ok := e.audit.find(ActionLoginFailed, "olga"); !ok || a.Source != "127.0.0.1" {
		t.Fatalf("throttled login not audited with its source: %+v", a)
	}
	// hammering a locked account is refused but recorded once, not per try
	for i := 0; i < 5; i++ {
		expect(t, c.login("olga", "olga-password"), http.StatusTooManyRequests, "")
	}
	if n := e.audit.count(ActionLoginFailed, "olga"); n != 4 {
		t.Fatalf("%d failed-login entries, want 3 failures and 1 refusal", n)
	}
	// the lock is per user: others still log in from the same address
	expect(t, e.client(t, "127.0.0.1").login("victor", "victor-password"), http.StatusOK, "")

	e.clock.Advance(3 * time.Second)
	expect(t, c.login("olga", "olga-password"), http.StatusOK, "")

	// the next failure after a lock doubles it
	for i := 0; i < 3; i++ {
		expect(t, c.login("olga", "wrong-password"), http.StatusUnauthorized, "")
	}
	expect(t, c.login("olga", "wrong-password"), http.StatusTooManyRequests, "")
	e.clock.Advance(2500 * time.Millisecond)
	expect(t, c.login("olga", "wrong-password"), http.StatusUnauthorized, "")
	e.clock.Advance(2500 * time.Millisecond)
	expect(t, c.login("olga", "olga-password"), http.StatusTooManyRequests, "")
	e.clock.Advance(2 * time.Second)
	expect(t, c.login("olga", "olga-password"), http.StatusOK, "")

	// per source: spraying many names from one address locks the address
	spray := e.client(t, "127.0.0.9")
	for i := 0; i < 6; i++ {
		expect(t, spray.login("nobody"+strconv.Itoa(i), "guess-password"), http.StatusUnauthorized, "")
	}
	expect(t, spray.login("eve", "eve-password"), http.StatusTooManyRequests, "127.0.0.9")
	expect(t, e.client(t, "127.0.0.10").login("eve", "eve-password"), http.StatusOK, "")
	// and guessing API tokens from it is refused too
	expect(t, spray.do("GET", "/t/viewer", nil, "Authorization", "Bearer kzt_guess"), http.StatusTooManyRequests, "127.0.0.9")
}

func TestMeAndLogout(t *testing.T) {
	e := newEnv(t, nil, false)
	c := e.client(t, "127.0.0.1")
	expect(t, c.do("GET", "/api/v1/auth/me", nil), http.StatusUnauthorized, "not logged in")
	c.mustLogin("alice")
	r := c.do("GET", "/api/v1/auth/me", nil)
	expect(t, r, http.StatusOK, "")
	if r.str("user") != "alice" || r.str("role") != "admin" || r.str("auth") != "session" ||
		r.str("csrf_token") != c.csrf || r.body["can_administer"] != true || r.str("source") != "127.0.0.1" {
		t.Fatalf("me: %s", r.raw)
	}
	exp, err := time.Parse(time.RFC3339, r.str("expires"))
	if err != nil || !exp.Equal(e.clock.Now().Add(30*time.Minute)) {
		t.Fatalf("me expires %q, want idle timeout from now", r.str("expires"))
	}

	expect(t, c.do("POST", "/api/v1/auth/logout", nil), http.StatusForbidden, "missing X-CSRF-Token")
	r = c.do("POST", "/api/v1/auth/logout", nil, CSRFHeader, c.csrf)
	expect(t, r, http.StatusOK, "")
	cleared := false
	for _, ck := range r.res.Cookies() {
		cleared = cleared || (ck.Name == CookieName && ck.MaxAge < 0)
	}
	if !cleared {
		t.Fatal("logout did not clear the cookie")
	}
	if _, ok := e.audit.find(ActionLogout, "alice"); !ok {
		t.Fatal("logout not audited")
	}
	expect(t, c.do("GET", "/api/v1/auth/me", nil), http.StatusUnauthorized, "log in again")
}

func TestSessionExpiry(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.IdleTimeout = 10 * time.Minute; o.Lifetime = time.Hour }, false)

	idle := e.client(t, "127.0.0.1")
	idle.mustLogin("victor")
	e.clock.Advance(9 * time.Minute)
	expect(t, idle.do("GET", "/t/viewer", nil), http.StatusOK, "")
	e.clock.Advance(9 * time.Minute) // activity reset the idle timer
	expect(t, idle.do("GET", "/t/viewer", nil), http.StatusOK, "")
	e.clock.Advance(10 * time.Minute)
	expect(t, idle.do("GET", "/t/viewer", nil), http.StatusUnauthorized, "after 10m0s idle")
	e.clock.Advance(-5 * time.Minute) // gone for good, not just late
	expect(t, idle.do("GET", "/t/viewer", nil), http.StatusUnauthorized, "session unknown")

	busy := e.client(t, "127.0.0.1")
	busy.mustLogin("victor")
	for i := 0; i < 7; i++ {
		e.clock.Advance(8 * time.Minute)
		expect(t, busy.do("GET", "/t/viewer", nil), http.StatusOK, "")
	}
	e.clock.Advance(5 * time.Minute) // 61 minutes after login, last use 5 minutes ago
	expect(t, busy.do("GET", "/t/viewer", nil), http.StatusUnauthorized, "lifetime of 1h0m0s reached")
}

func TestCSRF(t *testing.T) {
	e := newEnv(t, nil, false)
	c := e.client(t, "127.0.0.1")
	c.mustLogin("olga")
	expect(t, c.do("GET", "/t/operator", nil), http.StatusOK, "")
	for _, m := range []string{"POST", "PUT", "PATCH", "DELETE"} {
		expect(t, c.do(m, "/t/operator", nil), http.StatusForbidden, "missing X-CSRF-Token header")
		expect(t, c.do(m, "/t/operator", nil, CSRFHeader, "forged"), http.StatusForbidden, "does not match this session")
		expect(t, c.do(m, "/t/operator", nil, CSRFHeader, c.csrf), http.StatusOK, "")
	}
	// another session's token does not fit this one
	other := e.client(t, "127.0.0.1")
	other.mustLogin("olga")
	expect(t, c.do("POST", "/t/operator", nil, CSRFHeader, other.csrf), http.StatusForbidden, "does not match")
}

func TestRoles(t *testing.T) {
	e := newEnv(t, nil, false)
	anon := e.client(t, "127.0.0.1")
	for _, p := range []string{"/t/viewer", "/t/admin"} {
		r := anon.do("GET", p, nil)
		expect(t, r, http.StatusUnauthorized, "not logged in")
		if !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") || r.header.Get("WWW-Authenticate") == "" {
			t.Fatalf("401 headers: %v", r.header)
		}
	}
	want := map[string]map[string]int{
		"victor": {"viewer": 200, "operator": 403, "engineer": 403, "admin": 403},
		"olga":   {"viewer": 200, "operator": 200, "engineer": 403, "admin": 403},
		"eve":    {"viewer": 200, "operator": 200, "engineer": 200, "admin": 403},
		"alice":  {"viewer": 200, "operator": 200, "engineer": 200, "admin": 200},
	}
	for user, probes := range want {
		c := e.client(t, "127.0.0.1")
		c.mustLogin(user)
		for role, code := range probes {
			r := c.do("GET", "/t/"+role, nil)
			if code == 403 {
				expect(t, r, code, "this needs "+role+" or above")
				continue
			}
			expect(t, r, code, "")
			if r.str("user") != user {
				t.Fatalf("%s on /t/%s: handler saw %s", user, role, r.raw)
			}
		}
	}
	if a, ok := e.audit.find(ActionAccessDenied, "victor"); !ok || !strings.Contains(a.Object, "/t/") {
		t.Fatalf("refusal not audited: %+v", a)
	}
}

func TestAdminFromWorkstations(t *testing.T) {
	e := newEnv(t, nil, false)
	far := e.client(t, "127.0.0.3")
	far.mustLogin("alice") // an admin may log in anywhere...
	expect(t, far.do("GET", "/t/engineer", nil), http.StatusOK, "")
	// ...but administers only from a workstation
	expect(t, far.do("GET", "/t/admin", nil), http.StatusForbidden, "127.0.0.3 is not in them")
	expect(t, far.do("POST", "/api/v1/auth/tokens", map[string]string{"name": "x", "role": "viewer"}, CSRFHeader, far.csrf),
		http.StatusForbidden, "127.0.0.3")
	if r := far.do("GET", "/api/v1/auth/me", nil); r.body["can_administer"] != false {
		t.Fatalf("me from outside: %s", r.raw)
	}
	a, ok := e.audit.find(ActionAccessDenied, "alice")
	if !ok || a.Source != "127.0.0.3" || !strings.Contains(a.Detail, "127.0.0.3") {
		t.Fatalf("refused administration not audited: %+v", a)
	}
	near := e.client(t, "127.0.0.1")
	near.mustLogin("alice")
	expect(t, near.do("GET", "/t/admin", nil), http.StatusOK, "")

	// an admin token is held to the same ranges
	tok, err := e.a.CreateToken("cmdb", RoleAdmin, "test")
	if err != nil {
		t.Fatal(err)
	}
	expect(t, e.client(t, "127.0.0.3").do("GET", "/t/admin", nil, "Authorization", "Bearer "+tok), http.StatusForbidden, "127.0.0.3")
	expect(t, e.client(t, "127.0.0.1").do("GET", "/t/admin", nil, "Authorization", "Bearer "+tok), http.StatusOK, "")
}

func TestMalformedBodies(t *testing.T) {
	e := newEnv(t, nil, false)
	c := e.client(t, "127.0.0.1")
	for _, tc := range []struct{ body, msg string }{
		{"", "empty body"},
		{"{", "body ends inside"},
		{`{"user": "eve", "password": }`, "invalid JSON at byte"},
		{`{"user": 5, "password": "x"}`, "field user: want string"},
		{`["eve", "eve-password"]`, "want a JSON object"},
		{`{"user": "eve", "password": "eve-password", "otp": 1}`, `unknown field "otp"`},
		{`{"user": "eve", "password": "eve-password"} {}`, "unexpected data after"},
		{`{"user": "eve"}`, "user and password are both required"},
		{`{"user": "eve", "password": "` + strings.Repeat("x", 5000) + `"}`, "body over 4096 bytes"},
	} {
		expect(t, c.do("POST", "/api/v1/auth/login", tc.body), http.StatusBadRequest, tc.msg)
	}
	expect(t, c.do("POST", "/api/v1/auth/login", `{"user":"eve","password":"eve-password"}`, "Content-Type", "application/x-www-form-urlencoded"),
		http.StatusUnsupportedMediaType, "Content-Type must be application/json")
	expect(t, c.do("POST", "/api/v1/auth/login", `{"user":"eve","password":"eve-password"}`, "Content-Type", ""),
		http.StatusUnsupportedMediaType, "Content-Type")

	c.mustLogin("alice")
	for _, tc := range []struct {
		body string
		code int
		msg  string
	}{
		{`{"name": "x", "role": "root"}`, 400, `role "root"`},
		{`{"name": "bad name", "role": "viewer"}`, 400, "name"},
		{`{"name": "x"`, 400, "create API token"},
	} {
		expect(t, c.do("POST", "/api/v1/auth/tokens", tc.body, CSRFHeader, c.csrf), tc.code, tc.msg)
	}
	expect(t, c.do("GET", "/t/viewer", nil, "Authorization", "Basic YTpi"), http.StatusUnauthorized, "want \"Bearer <token>\"")
}

func TestParallelGuessesThrottled(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.Throttle = ThrottleOptions{UserFree: 3, Base: time.Minute} }, false)
	const n = 20
	codes := make(chan int, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := e.client(t, "127.0.0.1")
			codes <- c.do("POST", "/api/v1/auth/login", map[string]string{"user": "olga", "password": "guess-" + strconv.Itoa(i)}).code
		}()
	}
	wg.Wait()
	close(codes)
	count := map[int]int{}
	for c := range codes {
		count[c]++
	}
	if count[401] < 3 || count[401] > 3+runtime.GOMAXPROCS(0)-1 || count[401]+count[429] != n {
		t.Fatalf("parallel guesses: %v; want 3..%d refused as wrong and the rest throttled", count, 3+runtime.GOMAXPROCS(0)-1)
	}
}

// Failures from one address lock that address, or the user there, but
// never the user at another address; a user's failures from many addresses
// together lock it only where it has not logged in before.
func TestFailuresElsewhereDoNotLockTheUserOut(t *testing.T) {
	e := newEnv(t, func(o *Options) {
		o.Throttle = ThrottleOptions{UserFree: 3, SourceFree: 100, UserCeiling: 9, Base: 10 * time.Second, Max: time.Minute}
	}, false)
	home := e.client(t, "127.0.0.1")
	home.mustLogin("olga") // where olga works
	for i := 0; i < 3; i++ {
		expect(t, e.client(t, "127.0.0.2").login("olga", "guess-"+strconv.Itoa(i)+"-password"), http.StatusUnauthorized, "")
	}
	expect(t, e.client(t, "127.0.0.2").login("olga", "olga-password"), http.StatusTooManyRequests, "for this user from 127.0.0.2")
	// elsewhere olga is not locked, not even at an address new to her
	expect(t, e.client(t, "127.0.0.1").login("olga", "olga-password"), http.StatusOK, "")
	expect(t, e.client(t, "127.0.0.7").login("olga", "olga-password"), http.StatusOK, "")

	// guesses spread over addresses reach the user's ceiling ...
	for _, from := range []string{"127.0.0.3", "127.0.0.4"} {
		for i := 0; i < 3; i++ {
			expect(t, e.client(t, from).login("olga", "guess-"+strconv.Itoa(i)+"-password"), http.StatusUnauthorized, "")
		}
	}
	// ... which holds at addresses olga never logged in from, right
	// password or not ...
	expect(t, e.client(t, "127.0.0.5").login("olga", "olga-password"), http.StatusTooManyRequests, "for this user from new addresses")
	// ... but not where she has logged in before
	expect(t, e.client(t, "127.0.0.1").login("olga", "olga-password"), http.StatusOK, "")
	expect(t, e.client(t, "127.0.0.7").login("olga", "olga-password"), http.StatusOK, "")
	// other users are untouched
	expect(t, e.client(t, "127.0.0.5").login("victor", "victor-password"), http.StatusOK, "")
	e.clock.Advance(11 * time.Second)
	expect(t, e.client(t, "127.0.0.5").login("olga", "olga-password"), http.StatusOK, "")

	// refusals from an address the account may not use check no password,
	// so they never count toward its ceiling
	for i := 0; i < 20; i++ {
		expect(t, e.client(t, "127.0.0."+strconv.Itoa(20+i)).login("nina", "guess-password"), http.StatusUnauthorized, "")
	}
	expect(t, e.client(t, "127.0.0.1").login("nina", "nina-password"), http.StatusOK, "")
}

// From an address the user may not log in from, the user's own hash is
// never computed: the answer costs the decoy, however dear the user's
// hash, and is the same for the right and a wrong password.
func TestDisallowedAddressChecksNoPassword(t *testing.T) {
	dear := Params{Memory: 32 * 1024, Time: 8, Threads: 1, SaltLen: 16, KeyLen: 32}
	h, err := HashPasswordParams("sofia-password", dear)
	if err != nil {
		t.Fatal(err)
	}
	sofia, err := NewUser("sofia", "viewer", h, []string{"127.0.0.1"}, false)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, nil, false)
	if err := e.users.Replace(append(e.users.Users(), sofia)); err != nil {
		t.Fatal(err)
	}
	timed := func(from, pw string) (resp, time.Duration) {
		c := e.client(t, from)
		start := time.Now()
		r := c.login("sofia", pw)
		return r, time.Since(start)
	}
	inside, dInside := timed("127.0.0.1", "wrong-password")
	expect(t, inside, http.StatusUnauthorized, "wrong user name or password")
	right, dRight := timed("127.0.0.2", "sofia-password")
	wrong, dWrong := timed("127.0.0.2", "wrong-password")
	t.Logf("sofia's hash checked (allowed address): %v; disallowed address, right password: %v, wrong: %v", dInside, dRight, dWrong)
	if right.code != wrong.code || right.raw != wrong.raw {
		t.Fatalf("right %d %s, wrong %d %s", right.code, right.raw, wrong.code, wrong.raw)
	}
	if dRight > dInside/3 || dWrong > dInside/3 {
		t.Fatalf("disallowed address took %v and %v; the user's own hash takes %v: it was checked", dRight, dWrong, dInside)
	}
}

// The decoy for unknown names costs what the users' hashes cost, not
// what HashParams says.
func TestDecoyCostsWhatUsersCost(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.HashParams = DefaultParams }, false)
	h, err := parsePHC(e.a.decoys.get())
	if err != nil {
		t.Fatal(err)
	}
	if h.p != cheap {
		t.Fatalf("decoy params %+v, the users' are %+v", h.p, cheap)
	}
}
