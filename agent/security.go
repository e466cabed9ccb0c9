package agent

import (
	"fmt"
	"net/http"
	"path/filepath"

	"github.com/kuzet/kuzet/api"
	"github.com/kuzet/kuzet/audit"
	"github.com/kuzet/kuzet/auth"
	"github.com/kuzet/kuzet/config"
)

// openSecurity starts the audit log and, when users are configured, logins
// with roles (NVMS-6.4, UA-3.8).
func (a *Agent) openSecurity() error {
	var err error
	a.audit, err = audit.New(a.events, audit.Options{Logger: a.log.With("component", "audit"), Registerer: a.reg})
	if err != nil {
		return err
	}
	if !a.cfg.AuthEnabled() {
		a.log.Warn("no users configured: the API and UI need no login; only http.allow guards them")
		return nil
	}
	users, err := authUsers(a.cfg.Users)
	if err != nil {
		return err
	}
	store, err := auth.NewMemStore(users...)
	if err != nil {
		return err
	}
	admin, err := auth.ParsePrefixes(a.cfg.HTTP.AdminFrom)
	if err != nil {
		return fmt.Errorf("http.admin_from: %w", err)
	}
	h := a.cfg.HTTP
	a.auth, err = auth.New(auth.Options{
		Users: userStore{file: store, a: a}, StatePath: filepath.Join(a.cfg.Node.DataDir, "auth.db"), AdminFrom: admin,
		IdleTimeout: h.Session.Idle.Std(), Lifetime: h.Session.Lifetime.Std(), SecureCookie: h.SecureCookie,
		MaxSessionsPerUser: h.Session.MaxPerUser,
		Throttle: auth.ThrottleOptions{UserFree: h.LoginThrottle.UserFree, SourceFree: h.LoginThrottle.SourceFree,
			Base: h.LoginThrottle.Base.Std(), Max: h.LoginThrottle.Max.Std(), Forget: h.LoginThrottle.Forget.Std()},
		Audit: func(_ *http.Request, e auth.AuditEntry) error {
			_, err := a.audit.Record(audit.Entry(e))
			return err
		},
		Logger: a.log.With("component", "auth"), Registerer: a.reg,
	})
	return err
}

func authUsers(cs []config.User) ([]auth.User, error) {
	var out []auth.User
	for i, c := range cs {
		u, err := auth.NewUser(c.Name, c.Role, c.PasswordHash, c.Allow, c.Disabled)
		if err != nil {
			return nil, fmt.Errorf("users[%d]: %w", i, err)
		}
		out = append(out, u)
	}
	return out, nil
}

// who names a request's caller for the audit log.
func (a *Agent) who(r *http.Request) (user, role, source string, ok bool) {
	if a.auth == nil {
		return "", "", "", false
	}
	return a.auth.Who(r)
}

// userName is the caller's name ("" without logins).
func (a *Agent) userName(r *http.Request) string {
	u, _, _, _ := a.who(r)
	return u
}

// record writes an operator's action to the audit log.
func (a *Agent) record(r *http.Request, action, object, detail string) {
	e := audit.Entry{Action: action, Object: object, Detail: detail, User: "anonymous", Source: r.RemoteAddr}
	if u, role, src, ok := a.who(r); ok {
		e.User, e.Role, e.Source = u, role, src
	}
	_, _ = a.audit.Record(e)
}

// guard is the API's login check (nil without users).
func (a *Agent) guard() func(auth.Role, http.Handler) http.Handler {
	if a.auth == nil {
		return nil
	}
	return a.auth.Require
}

// securityMounts are the login and audit routes.
func (a *Agent) securityMounts() []api.Mount {
	var out []api.Mount
	if a.auth != nil {
		out = append(out, api.Mount{Pattern: "/api/v1/auth/", Handler: a.auth.Handler()})
	}
	out = append(out,
		api.Mount{Pattern: "GET /api/v1/audit", Role: auth.RoleAdmin, Handler: audit.ListHandler(a.events)},
		api.Mount{Pattern: "GET /api/v1/audit/verify", Role: auth.RoleAdmin, Handler: audit.VerifyHandler(a.events)},
	)
	return out
}

// userStore gives logins the catalogue's users, where this node keeps the
// catalogue, ahead of those in its file (which still let an administrator
// in before the catalogue holds anyone).
type userStore struct {
	file *auth.MemStore
	a    *Agent
}

func (s userStore) catalogue(name string) (auth.User, bool) {
	if s.a.topo == nil {
		return auth.User{}, false
	}
	for _, u := range s.a.topo.Catalogue().Users() {
		if u.Name != name {
			continue
		}
		au, err := auth.NewUser(u.Name, u.Role, u.PasswordHash, u.Allow, u.Disabled)
		if err != nil {
			s.a.log.Warn("catalogue user unusable for logins", "user", u.Name, "err", err)
			return auth.User{}, false
		}
		return au, true
	}
	return auth.User{}, false
}

func (s userStore) User(name string) (auth.User, bool) {
	if u, ok := s.catalogue(name); ok {
		return u, true
	}
	return s.file.User(name)
}

func (s userStore) Users() []auth.User {
	out := s.file.Users()
	if s.a.topo == nil {
		return out
	}
	seen := map[string]bool{}
	for _, u := range out {
		seen[u.Name] = true
	}
	for _, u := range s.a.topo.Catalogue().Users() {
		if au, ok := s.catalogue(u.Name); ok {
			if seen[u.Name] {
				for i := range out {
					if out[i].Name == u.Name {
						out[i] = au
					}
				}
				continue
			}
			out = append(out, au)
		}
	}
	return out
}
