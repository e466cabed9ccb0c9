package auth

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"runtime"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kuzet/kuzet/netaddr"
)

// CookieName is the session cookie.
const CookieName = "kuzet_session"

// CSRFHeader must carry the session's CSRF token on every state-changing
// request made with the session cookie.
const CSRFHeader = "X-CSRF-Token"

// Actions passed to Options.Audit.
const (
	ActionLogin        = "login"
	ActionLoginFailed  = "login.failed"
	ActionLogout       = "logout"
	ActionAccessDenied = "access.denied"
	ActionTokenCreate  = "token.create"
	ActionTokenRevoke  = "token.revoke"
)

// AuditEntry is one security-relevant act. Its fields match audit.Entry,
// so audit.Entry(e) converts it.
type AuditEntry struct {
	User   string
	Role   string
	Action string
	Object string
	Detail string
	Source string
}

// Options configure Auth. Users is required.
type Options struct {
	Users Store
	// StatePath is a bbolt file for sessions and API tokens, so they
	// survive a restart; "" keeps them in memory only.
	StatePath string
	// AdminFrom are the workstation ranges administration is accepted
	// from (UA-3.8); empty means loopback only.
	AdminFrom []netip.Prefix
	// IdleTimeout ends a session unused this long (default 30m);
	// Lifetime ends any session this long after login (default 12h).
	IdleTimeout time.Duration
	Lifetime    time.Duration
	// SecureCookie marks the cookie Secure even on plain HTTP, for TLS
	// terminated in front of the node. Over TLS it is always Secure.
	SecureCookie bool
	// MaxSessionsPerUser: logging in beyond it ends the user's least
	// recently used session (default 32).
	MaxSessionsPerUser int
	Throttle           ThrottleOptions
	// HashParams cost the decoy hash checked for unknown user names while
	// no user has a usable hash (default DefaultParams). Otherwise the
	// decoy costs what most users' hashes cost, so that unknown names
	// take as long as known ones.
	HashParams Params
	// Audit records logins, logouts, failed logins, refusals and token
	// changes. An error recording a successful login refuses the login.
	Audit      func(r *http.Request, e AuditEntry) error
	Now        func() time.Time
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// Auth authenticates requests and checks roles.
type Auth struct {
	users     Store
	st        *state
	adminFrom netaddr.Prefixes
	idle      time.Duration
	lifetime  time.Duration
	secure    bool
	maxSess   int
	thr       *Limiter
	decoys    *decoys
	hashSlots chan struct{}
	audit     func(r *http.Request, e AuditEntry) error
	now       func() time.Time
	log       *slog.Logger
	m         *metrics
}

// Method says how a principal proved who it is.
const (
	MethodSession = "session"
	MethodToken   = "token"
)

// Principal is who is calling.
type Principal struct {
	// Name is the user name, or "token:NAME" for an API token (user names
	// cannot contain a colon, so the two never collide).
	Name      string
	Role      Role
	Method    string // MethodSession or MethodToken
	Source    netip.Addr
	CSRFToken string    // sessions only
	Expires   time.Time // sessions only: when it ends unless used again

	sid string
}

type principalKey struct{}

// New builds an Auth. Close it to release the state file.
func New(o Options) (*Auth, error) {
	if o.Users == nil {
		return nil, errors.New("auth: no user store")
	}
	if o.Lifetime <= 0 {
		o.Lifetime = 12 * time.Hour
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = min(30*time.Minute, o.Lifetime)
	}
	if o.IdleTimeout > o.Lifetime {
		return nil, fmt.Errorf("auth: session idle timeout %v exceeds the session lifetime %v", o.IdleTimeout, o.Lifetime)
	}
	if o.MaxSessionsPerUser <= 0 {
		o.MaxSessionsPerUser = 32
	}
	if o.HashParams == (Params{}) {
		o.HashParams = DefaultParams
	}
	adminFrom := make(netaddr.Prefixes, 0, len(o.AdminFrom))
	for i, p := range o.AdminFrom {
		if !p.IsValid() {
			return nil, fmt.Errorf("auth: admin_from[%d]: not a valid prefix", i)
		}
		adminFrom = append(adminFrom, p.Masked())
	}
	if len(adminFrom) == 0 {
		adminFrom = netaddr.Prefixes{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	dc, err := newDecoys(o.Users, o.HashParams, o.Now)
	if err != nil {
		return nil, err
	}
	st, err := openState(o.StatePath)
	if err != nil {
		return nil, err
	}
	a := &Auth{
		users: o.Users, st: st, adminFrom: adminFrom, idle: o.IdleTimeout, lifetime: o.Lifetime,
		secure: o.SecureCookie, maxSess: o.MaxSessionsPerUser, thr: NewLimiter(o.Throttle),
		decoys: dc, hashSlots: make(chan struct{}, max(1, runtime.GOMAXPROCS(0))),
		audit: o.Audit, now: o.Now, log: o.Logger,
	}
	// an address the user holds a session from is one they work at
	a.thr.trusted = func(name string, src netip.Addr) bool { return st.hasSession(name, addrString(src)) }
	a.m, err = newMetrics(o.Registerer, st)
	if err != nil {
		_ = st.close()
		return nil, err
	}
	// sessions that ran out while the node was down go now
	if _, err := st.deleteSessions(func(_ string, se *session) bool { return a.expired(se, a.now()) != "" }); err != nil {
		a.log.Error("sweep expired sessions", "err", err)
	}
	return a, nil
}

// Close releases the state file.
func (a *Auth) Close() error { return a.st.close() }

// expired says why a session has ended, or "".
func (a *Auth) expired(se *session, now time.Time) string {
	if now.Sub(se.Created) >= a.lifetime {
		return fmt.Sprintf("session expired (lifetime of %v reached)", a.lifetime)
	}
	if now.Sub(se.LastSeen) >= a.idle {
		return fmt.Sprintf("session expired after %v idle", a.idle)
	}
	return ""
}

// httpError is a refusal with its status.
type httpError struct {
	code   int
	msg    string
	reason string        // metrics label
	retry  time.Duration // 429 only
}

func (e *httpError) Error() string { return e.msg }

func refusal(code int, reason, format string, args ...any) *httpError {
	return &httpError{code: code, reason: reason, msg: fmt.Sprintf(format, args...)}
}

// sourceAddr is the client's address as the TCP connection shows it.
// Forwarding headers are ignored: any client could write them.
func sourceAddr(r *http.Request) netip.Addr {
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		return ap.Addr().Unmap()
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, _ := netip.ParseAddr(host)
	return a.Unmap()
}

func addrString(a netip.Addr) string {
	if !a.IsValid() {
		return "unknown address"
	}
	return a.String()
}

// authenticate finds the caller without checking roles or CSRF.
func (a *Auth) authenticate(r *http.Request) (Principal, *httpError) {
	src := sourceAddr(r)
	now := a.now()
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, tok, _ := strings.Cut(h, " ")
		tok = strings.TrimSpace(tok)
		if !strings.EqualFold(scheme, "Bearer") || tok == "" {
			return Principal{}, refusal(http.StatusUnauthorized, "bad_authorization", "Authorization header: want \"Bearer <token>\"")
		}
		if d, _ := a.thr.CheckSource(src, now); d > 0 {
			e := refusal(http.StatusTooManyRequests, "throttled", "too many failed attempts from %s; retry in %s", addrString(src), roundUp(d))
			e.retry = d
			return Principal{}, e
		}
		t, ok := a.st.token(hashSecret(tok))
		if !ok {
			lock := a.thr.FailSource(src, now)
			a.log.Warn("API token refused", "source", addrString(src), "path", r.URL.Path, "locked_for", lock)
			return Principal{}, refusal(http.StatusUnauthorized, "bad_token", "API token not recognised (revoked or mistyped)")
		}
		return Principal{Name: "token:" + t.Name, Role: t.Role, Method: MethodToken, Source: src}, nil
	}
	c, err := r.Cookie(CookieName)
	if err != nil || c.Value == "" {
		return Principal{}, refusal(http.StatusUnauthorized, "unauthenticated", "not logged in: log in with POST /api/v1/auth/login or send Authorization: Bearer <token>")
	}
	id := hashSecret(c.Value)
	se, ok := a.st.session(id)
	if !ok {
		return Principal{}, refusal(http.StatusUnauthorized, "unauthenticated", "session unknown or ended; log in again")
	}
	if why := a.expired(&se, now); why != "" {
		if _, err := a.st.deleteSessions(func(k string, _ *session) bool { return k == id }); err != nil {
			a.log.Error("delete expired session", "user", se.User, "err", err)
		}
		return Principal{}, refusal(http.StatusUnauthorized, "expired", "%s; log in again", why)
	}
	u, ok := a.users.User(se.User)
	if !ok || u.Disabled {
		// the account went away or was disabled: its sessions end with it
		if _, err := a.st.deleteSessions(func(_ string, o *session) bool { return o.User == se.User }); err != nil {
			a.log.Error("delete sessions", "user", se.User, "err", err)
		}
		if !ok {
			return Principal{}, refusal(http.StatusUnauthorized, "unauthenticated", "user %s no longer exists; log in again", se.User)
		}
		return Principal{}, refusal(http.StatusForbidden, "disabled", "user %s is disabled", se.User)
	}
	if len(u.Allow) > 0 && !u.Allow.Contains(src) {
		return Principal{}, refusal(http.StatusForbidden, "source", "user %s may not connect from %s", u.Name, addrString(src))
	}
	exp := se.Created.Add(a.lifetime)
	if idle := now.Add(a.idle); idle.Before(exp) {
		exp = idle
	}
	return Principal{Name: u.Name, Role: u.Role, Method: MethodSession, Source: src, CSRFToken: se.CSRF, Expires: exp, sid: id}, nil
}

func roundUp(d time.Duration) time.Duration {
	return d.Truncate(time.Second) + time.Second
}

func stateChanging(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return false
	}
	return true
}

// check applies CSRF, role and workstation rules to an authenticated
// caller.
func (a *Auth) check(r *http.Request, p Principal, minRole Role) *httpError {
	if p.Method == MethodSession && stateChanging(r.Method) {
		got := r.Header.Get(CSRFHeader)
		if got == "" {
			return refusal(http.StatusForbidden, "csrf", "missing %s header: state-changing requests with a session cookie must carry the csrf_token returned at login", CSRFHeader)
		}
		if subtle.ConstantTimeCompare([]byte(got), []byte(p.CSRFToken)) != 1 {
			return refusal(http.StatusForbidden, "csrf", "%s header does not match this session", CSRFHeader)
		}
	}
	if !p.Role.AtLeast(minRole) {
		return refusal(http.StatusForbidden, "role", "%s has role %s; this needs %s or above", p.Name, p.Role, minRole)
	}
	if minRole == RoleAdmin && !a.adminFrom.Contains(p.Source) {
		return refusal(http.StatusForbidden, "admin_from", "administration is accepted only from the configured workstation ranges; %s is not in them", addrString(p.Source))
	}
	return nil
}

// Require serves h only to callers with at least minRole. Unauthenticated
// callers get 401, others 403, each with a JSON {error}. Handlers requiring
// RoleAdmin are also confined to the workstation ranges.
func (a *Auth) Require(minRole Role, h http.Handler) http.Handler {
	if !minRole.Valid() {
		panic(fmt.Sprintf("auth.Require: %v is not a role", minRole))
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, herr := a.authenticate(r)
		if herr == nil {
			herr = a.check(r, p, minRole)
			if herr != nil && (herr.reason == "role" || herr.reason == "admin_from") {
				a.log.Warn("request refused", "user", p.Name, "role", p.Role.String(), "source", addrString(p.Source),
					"method", r.Method, "path", r.URL.Path, "reason", herr.msg)
				a.record(r, AuditEntry{User: p.Name, Role: p.Role.String(), Action: ActionAccessDenied,
					Object: r.Method + " " + r.URL.Path, Detail: herr.msg, Source: addrString(p.Source)})
			}
		}
		if herr != nil {
			a.m.refused.WithLabelValues(herr.reason).Inc()
			writeRefusal(w, herr)
			return
		}
		if p.sid != "" {
			if err := a.st.touch(p.sid, a.now(), min(time.Minute, a.idle/10)); err != nil {
				a.log.Error("record session activity", "user", p.Name, "err", err)
			}
		}
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
	})
}

// User returns the caller: the one Require admitted, or else whoever the
// request's credentials name (no role or CSRF check).
func (a *Auth) User(r *http.Request) (Principal, bool) {
	if p, ok := r.Context().Value(principalKey{}).(Principal); ok {
		return p, true
	}
	p, err := a.authenticate(r)
	return p, err == nil
}

// Who names the caller for audit entries; its signature matches
// audit.Who, so a.Who can be passed to audit.Recorder.Wrap.
func (a *Auth) Who(r *http.Request) (user, role, source string, ok bool) {
	p, ok := a.User(r)
	if !ok {
		return "", "", addrString(sourceAddr(r)), false
	}
	return p.Name, p.Role.String(), addrString(p.Source), true
}

// AdminAllowed reports whether addr is in the workstation ranges.
func (a *Auth) AdminAllowed(addr netip.Addr) bool { return a.adminFrom.Contains(addr) }

// record passes an entry to the audit hook; failures are logged, since the
// act it describes has already been refused or done.
func (a *Auth) record(r *http.Request, e AuditEntry) {
	if a.audit == nil {
		return
	}
	if err := a.audit(r, e); err != nil {
		a.log.Error("audit record", "action", e.Action, "user", e.User, "err", err)
	}
}

// CreateToken makes an API token for another system and returns its
// secret, which is shown once: only its hash is kept.
func (a *Auth) CreateToken(name string, role Role, createdBy string) (string, error) {
	if err := checkName(name); err != nil {
		return "", fmt.Errorf("API token name: %w", err)
	}
	if !role.Valid() {
		return "", fmt.Errorf("API token %s: %v is not a role", name, role)
	}
	s, err := secret()
	if err != nil {
		return "", err
	}
	tok := "kzt_" + s
	t := &apiToken{Name: name, Role: role, Hash: hashSecret(tok), Created: a.now().UTC(), CreatedBy: createdBy}
	if err := a.st.addToken(t); err != nil {
		return "", err
	}
	return tok, nil
}

// RevokeToken removes an API token; requests with it are refused at once.
func (a *Auth) RevokeToken(name string) error { return a.st.revokeToken(name) }

// Tokens lists API tokens, by name.
func (a *Auth) Tokens() []TokenInfo { return a.st.tokenList() }

// EndSessions logs a user out everywhere and returns how many sessions
// ended.
func (a *Auth) EndSessions(user string) (int, error) {
	return a.st.deleteSessions(func(_ string, se *session) bool { return se.User == user })
}
