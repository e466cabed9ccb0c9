package auth

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/netip"
	"strconv"
	"time"
)

// maxBody bounds request bodies: logins and token requests are tiny.
const maxBody = 4096

// Handler serves the session and token endpoints:
//
//	POST   /api/v1/auth/login          {user, password} → cookie + {user, role, csrf_token, expires}
//	POST   /api/v1/auth/logout         (session; CSRF header)
//	GET    /api/v1/auth/me             who is calling
//	GET    /api/v1/auth/tokens         admin: API tokens (no secrets)
//	POST   /api/v1/auth/tokens         admin: {name, role} → {name, role, token}
//	DELETE /api/v1/auth/tokens/{name}  admin: revoke
func (a *Auth) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/auth/login", a.login)
	mux.Handle("POST /api/v1/auth/logout", a.Require(RoleViewer, http.HandlerFunc(a.logout)))
	mux.Handle("GET /api/v1/auth/me", a.Require(RoleViewer, http.HandlerFunc(a.me)))
	mux.Handle("GET /api/v1/auth/tokens", a.Require(RoleAdmin, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, a.Tokens())
	})))
	mux.Handle("POST /api/v1/auth/tokens", a.Require(RoleAdmin, http.HandlerFunc(a.createToken)))
	mux.Handle("DELETE /api/v1/auth/tokens/{name}", a.Require(RoleAdmin, http.HandlerFunc(a.revokeToken)))
	return mux
}

type loginRequest struct {
	User     string `json:"user"`
	Password string `json:"password"`
}

// LoginResponse is what a successful login returns.
type LoginResponse struct {
	User      string    `json:"user"`
	Role      Role      `json:"role"`
	CSRFToken string    `json:"csrf_token"`
	Expires   time.Time `json:"expires"` // the absolute end of the session
}

func (a *Auth) login(w http.ResponseWriter, r *http.Request) {
	src := sourceAddr(r)
	var req loginRequest
	if err := decodeBody(w, r, &req, "login"); err != nil {
		writeRefusal(w, err)
		return
	}
	if req.User == "" || req.Password == "" {
		writeError(w, http.StatusBadRequest, "login: user and password are both required")
		return
	}
	u, fail := a.attempt(r, req, src)
	if fail != nil {
		if fail.code != 0 {
			writeRefusal(w, fail)
		}
		return
	}
	now := a.now()
	// the login is recorded before it takes effect: an unrecorded login
	// must not happen
	if a.audit != nil {
		if err := a.audit(r, AuditEntry{User: u.Name, Role: u.Role.String(), Action: ActionLogin, Source: addrString(src)}); err != nil {
			a.log.Error("login refused: audit log unavailable", "user", u.Name, "err", err)
			writeError(w, http.StatusServiceUnavailable, "login not possible: the audit log is unavailable")
			return
		}
	}
	cookie, err := secret()
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	csrf, err := secret()
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	se := &session{User: u.Name, CSRF: csrf, Created: now.UTC(), LastSeen: now.UTC(), Source: addrString(src)}
	if err := a.st.addSession(hashSecret(cookie), se, a.maxSess, func(o *session) bool { return a.expired(o, now) != "" }); err != nil {
		a.log.Error("login: store session", "user", u.Name, "err", err)
		writeError(w, http.StatusInternalServerError, "login: "+err.Error())
		return
	}
	a.m.logins.WithLabelValues("ok").Inc()
	a.log.Info("login", "user", u.Name, "role", u.Role.String(), "source", addrString(src))
	http.SetCookie(w, &http.Cookie{
		Name: CookieName, Value: cookie, Path: "/", MaxAge: int(a.lifetime / time.Second),
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: a.secure || r.TLS != nil,
	})
	writeJSON(w, http.StatusOK, LoginResponse{User: u.Name, Role: u.Role, CSRFToken: csrf, Expires: se.Created.Add(a.lifetime)})
}

// attempt checks a login under the throttle. At most one attempt per CPU
// runs at a time, since each hash takes tens of MiB. The lock is checked
// and the failure counted inside that slot, so a burst of parallel guesses
// gets at most one extra try per CPU past the limit. A refusal with code 0
// means the client went away.
//
// Every attempt that is not throttled costs one hash of the same price:
// the user's own for a known name at an address it may use, and otherwise
// a decoy of the cost most users' hashes have. So the answer's timing does
// not tell which names exist, and from an address the user may not log in
// from, the password is not checked at all: the answer is the one a wrong
// password gets, whether it was right or not.
func (a *Auth) attempt(r *http.Request, req loginRequest, src netip.Addr) (User, *httpError) {
	select {
	case a.hashSlots <- struct{}{}:
	case <-r.Context().Done():
		return User{}, &httpError{}
	}
	defer func() { <-a.hashSlots }()
	now := a.now()
	if d, first, scope := a.thr.Check(req.User, src, now); d > 0 {
		a.m.logins.WithLabelValues("throttled").Inc()
		if first {
			a.log.Warn("login refused: too many failures", "user", req.User, "source", addrString(src), "scope", scope, "retry_in", d)
			a.record(r, AuditEntry{User: req.User, Action: ActionLoginFailed,
				Detail: "throttled after repeated failures (" + scope + ")", Source: addrString(src)})
		}
		var e *httpError
		switch scope {
		case ScopeAddress:
			e = refusal(http.StatusTooManyRequests, "throttled", "too many failed logins from %s; retry in %s", addrString(src), roundUp(d))
		case ScopeUser:
			e = refusal(http.StatusTooManyRequests, "throttled", "too many failed logins for this user from new addresses; retry in %s", roundUp(d))
		default:
			e = refusal(http.StatusTooManyRequests, "throttled", "too many failed logins for this user from %s; retry in %s", addrString(src), roundUp(d))
		}
		e.retry = d
		return User{}, e
	}
	u, known := a.users.User(req.User)
	placeOK := !known || len(u.Allow) == 0 || u.Allow.Contains(src)
	hash := a.decoys.get()
	if known && placeOK {
		hash = u.PasswordHash
	}
	ok, err := VerifyPassword(hash, req.Password)
	if err != nil {
		a.log.Error("login: unusable password hash", "user", req.User, "err", err)
		ok = false
	}
	wrong := refusal(http.StatusUnauthorized, "bad_password", "wrong user name or password")
	var fail *httpError
	why := ""
	switch {
	case !known:
		fail, why = wrong, "unknown user"
	case !placeOK:
		// the same answer as a wrong password, so that it confirms
		// neither the password nor the account
		fail, why = wrong, fmt.Sprintf("user %s may not log in from %s (password not checked)", u.Name, addrString(src))
	case !ok:
		fail, why = wrong, "wrong password"
	case u.Disabled:
		fail = refusal(http.StatusForbidden, "disabled", "user %s is disabled", u.Name)
		why = fail.msg
	}
	if fail == nil {
		a.thr.Succeed(req.User, src, now)
		return u, nil
	}
	lock, _ := a.thr.Fail(req.User, src, now, placeOK)
	a.m.logins.WithLabelValues("failed").Inc()
	a.log.Warn("login failed", "user", req.User, "source", addrString(src), "reason", why, "locked_for", lock)
	role := ""
	if known {
		role = u.Role.String()
	}
	a.record(r, AuditEntry{User: req.User, Role: role, Action: ActionLoginFailed, Detail: why, Source: addrString(src)})
	return User{}, fail
}

func (a *Auth) logout(w http.ResponseWriter, r *http.Request) {
	p, _ := a.User(r)
	if p.Method != MethodSession {
		writeError(w, http.StatusBadRequest, "logout ends a cookie session; API tokens are revoked with DELETE /api/v1/auth/tokens/{name}")
		return
	}
	if _, err := a.st.deleteSessions(func(k string, _ *session) bool { return k == p.sid }); err != nil {
		writeError(w, http.StatusInternalServerError, "logout: "+err.Error())
		return
	}
	a.log.Info("logout", "user", p.Name, "source", addrString(p.Source))
	a.record(r, AuditEntry{User: p.Name, Role: p.Role.String(), Action: ActionLogout, Source: addrString(p.Source)})
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: a.secure || r.TLS != nil})
	writeJSON(w, http.StatusOK, map[string]any{"user": p.Name, "logged_out": true})
}

// MeResponse describes the caller.
type MeResponse struct {
	User      string     `json:"user"`
	Role      Role       `json:"role"`
	Auth      string     `json:"auth"` // session | token
	Source    string     `json:"source"`
	CSRFToken string     `json:"csrf_token,omitempty"`
	Expires   *time.Time `json:"expires,omitempty"`
	// CanAdminister: the caller is an admin at a workstation address, so
	// the UI may offer administrative actions.
	CanAdminister bool `json:"can_administer"`
}

func (a *Auth) me(w http.ResponseWriter, r *http.Request) {
	p, _ := a.User(r)
	out := MeResponse{User: p.Name, Role: p.Role, Auth: p.Method, Source: addrString(p.Source), CSRFToken: p.CSRFToken,
		CanAdminister: p.Role == RoleAdmin && a.AdminAllowed(p.Source)}
	if !p.Expires.IsZero() {
		t := p.Expires.UTC()
		out.Expires = &t
	}
	writeJSON(w, http.StatusOK, out)
}

type tokenRequest struct {
	Name string `json:"name"`
	Role string `json:"role"`
}

// TokenCreated is returned once, with the secret.
type TokenCreated struct {
	Name  string `json:"name"`
	Role  Role   `json:"role"`
	Token string `json:"token"`
}

func (a *Auth) createToken(w http.ResponseWriter, r *http.Request) {
	p, _ := a.User(r)
	var req tokenRequest
	if err := decodeBody(w, r, &req, "create API token"); err != nil {
		writeRefusal(w, err)
		return
	}
	role, err := ParseRole(req.Role)
	if err != nil {
		writeError(w, http.StatusBadRequest, "create API token: "+err.Error())
		return
	}
	if err := checkName(req.Name); err != nil {
		writeError(w, http.StatusBadRequest, "create API token: name: "+err.Error())
		return
	}
	tok, err := a.CreateToken(req.Name, role, p.Name)
	if errors.Is(err, ErrTokenExists) {
		writeError(w, http.StatusConflict, err.Error())
		return
	}
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	a.log.Info("API token created", "name", req.Name, "role", role.String(), "by", p.Name, "source", addrString(p.Source))
	a.record(r, AuditEntry{User: p.Name, Role: p.Role.String(), Action: ActionTokenCreate, Object: req.Name,
		Detail: "role " + role.String(), Source: addrString(p.Source)})
	writeJSON(w, http.StatusCreated, TokenCreated{Name: req.Name, Role: role, Token: tok})
}

func (a *Auth) revokeToken(w http.ResponseWriter, r *http.Request) {
	p, _ := a.User(r)
	name := r.PathValue("name")
	err := a.RevokeToken(name)
	if errors.Is(err, ErrTokenNotFound) {
		writeError(w, http.StatusNotFound, err.Error())
		return
	}
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	a.log.Info("API token revoked", "name", name, "by", p.Name, "source", addrString(p.Source))
	a.record(r, AuditEntry{User: p.Name, Role: p.Role.String(), Action: ActionTokenRevoke, Object: name, Source: addrString(p.Source)})
	writeJSON(w, http.StatusOK, map[string]any{"name": name, "revoked": true})
}

// decodeBody reads one JSON object strictly: the right content type, no
// unknown fields, nothing after it.
func decodeBody(w http.ResponseWriter, r *http.Request, dst any, what string) *httpError {
	// a cross-site form cannot send application/json without a CORS
	// preflight, which the node never grants
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return refusal(http.StatusUnsupportedMediaType, "bad_request", "%s: Content-Type must be application/json", what)
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return refusal(http.StatusBadRequest, "bad_request", "%s: %s", what, describeJSONError(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return refusal(http.StatusBadRequest, "bad_request", "%s: unexpected data after the JSON object", what)
	}
	return nil
}

func describeJSONError(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var big *http.MaxBytesError
	switch {
	case errors.Is(err, io.EOF):
		return "empty body; want a JSON object"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "body ends inside the JSON object"
	case errors.As(err, &syn):
		return fmt.Sprintf("invalid JSON at byte %d: %v", syn.Offset, syn)
	case errors.As(err, &typ):
		if typ.Field == "" {
			return fmt.Sprintf("want a JSON object, got %s", typ.Value)
		}
		return fmt.Sprintf("field %s: want %s, got %s", typ.Field, typ.Type, typ.Value)
	case errors.As(err, &big):
		return fmt.Sprintf("body over %d bytes", big.Limit)
	}
	return err.Error() // e.g. json: unknown field "x"
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}

func writeRefusal(w http.ResponseWriter, e *httpError) {
	switch e.code {
	case http.StatusTooManyRequests:
		w.Header().Set("Retry-After", strconv.Itoa(int(roundUp(e.retry)/time.Second)))
	case http.StatusUnauthorized:
		w.Header().Set("WWW-Authenticate", `Bearer realm="kuzet"`)
	}
	writeError(w, e.code, e.msg)
}
