package agent

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/kuzet/kuzet/api"
	"github.com/kuzet/kuzet/audit"
	"github.com/kuzet/kuzet/auth"
	"github.com/kuzet/kuzet/config"
	"github.com/kuzet/kuzet/netaddr"
)

// openSecurity starts the audit log and, when users are configured, logins
// with roles (NVMS-6.4, UA-3.8).
func (a *Agent) openSecurity() error {
	var err error
	a.audit, err = audit.New(a.events, audit.Options{Logger: a.log.With("component", "audit"), Registerer: a.reg})
	if err != nil {
		return err
	}
	rec := a.audit
	context.AfterFunc(a.runCtx, func() { a.searches.flushAll(rec) }) // searches not yet recorded, at stop
	a.auditLiveReaders()                                             // RTSP readers are served from here on
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
	admin, err := netaddr.ParsePrefixes(a.cfg.HTTP.AdminFrom)
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
	if err != nil {
		return err
	}
	a.life.onClose("logins", a.auth.Close)
	return nil
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

// record writes an operator's action to the audit log. Plate searches
// are coalesced per user (see searchAudit).
func (a *Agent) record(r *http.Request, action, object, detail string) {
	e := audit.Entry{Action: action, Object: object, Detail: detail, User: "anonymous", Source: r.RemoteAddr}
	if u, role, src, ok := a.who(r); ok {
		e.User, e.Role, e.Source = u, role, src
	}
	if action == audit.ActionSearchPlates {
		a.searches.add(a.audit, e)
		return
	}
	_, _ = a.audit.Record(e)
}

// canAdminister reports whether the caller may read audit entries in the
// event feed: an admin (or admin token) at a workstation address, as GET
// /api/v1/audit requires; anyone when no users are configured.
func (a *Agent) canAdminister(r *http.Request) bool {
	if a.auth == nil {
		return true
	}
	p, ok := a.auth.User(r)
	return ok && p.Role.AtLeast(auth.RoleAdmin) && a.auth.AdminAllowed(p.Source)
}

// httpHosts are the names the API answers to in the Host header (against
// DNS rebinding): http.hosts if given, else the listen address (any
// address when it is a wildcard), the machine's host name and the names in
// the TLS certificate; localhost and loopback addresses always.
func (a *Agent) httpHosts() *api.HostNames {
	h := &api.HostNames{Local: true}
	if hs := a.cfg.HTTP.Hosts; len(hs) > 0 {
		h.Names = slices.Clone(hs)
		return h
	}
	if ap, err := netip.ParseAddrPort(a.cfg.HTTP.Listen); err == nil {
		if ap.Addr().IsUnspecified() {
			h.AnyAddress = true
		} else {
			h.Names = append(h.Names, ap.Addr().String())
		}
	}
	if n, err := os.Hostname(); err == nil && n != "" {
		h.Names = append(h.Names, n)
		if short, _, ok := strings.Cut(n, "."); ok {
			h.Names = append(h.Names, short)
		}
	}
	if c := a.cfg.HTTP.TLS.Cert; c != "" {
		names, err := certNames(c)
		if err != nil {
			a.log.Warn("http.tls.cert: its names are not accepted as Host names; list them in http.hosts", "err", err)
		}
		h.Names = append(h.Names, names...)
	}
	a.log.Debug("HTTP Host names", "names", h.Names, "any_address", h.AnyAddress)
	return h
}

// certNames are the DNS names and addresses of the first certificate in
// a PEM file (its common name if it has neither).
func certNames(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	for {
		var block *pem.Block
		block, b = pem.Decode(b)
		if block == nil {
			return nil, fmt.Errorf("%s: no certificate", path)
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		names := slices.Clone(c.DNSNames)
		for _, ip := range c.IPAddresses {
			names = append(names, ip.String())
		}
		if len(names) == 0 && c.Subject.CommonName != "" {
			names = append(names, c.Subject.CommonName)
		}
		return names, nil
	}
}

// searchAuditWindow is how often a user's plate searches reach the audit
// log at most: the first search of a quiet user is recorded at once; the
// searches that follow within the window are recorded together when it
// ends, as one entry with their count and plates; the window starts again
// while searches go on. Each audit entry is replicated up the tree, so a
// viewer searching in a loop adds about 1 KB a minute, not 9 KB a search.
const searchAuditWindow = time.Minute

// Bounds on a coalesced entry: the plates listed and the query kept.
const (
	searchAuditPlates = 20
	searchAuditQuery  = 512
)

// searchAudit coalesces plate-search audit entries per user (per address
// for anonymous callers on nodes without users).
type searchAudit struct {
	mu     sync.Mutex
	window time.Duration // 0: searchAuditWindow (tests shorten it)
	open   map[string]*searchBatch
}

type searchBatch struct {
	last   audit.Entry // the latest search: who, from where, the query
	n      int         // searches since the last entry
	plates []string    // distinct plates searched, up to searchAuditPlates
	more   int         // distinct plates beyond those
	timer  *time.Timer
}

func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func (s *searchAudit) add(rec *audit.Recorder, e audit.Entry) {
	key := e.User
	if e.User == "anonymous" {
		key += "@" + e.Source
	}
	e.Detail = clipText(e.Detail, searchAuditQuery)
	s.mu.Lock()
	if s.open == nil {
		s.open = map[string]*searchBatch{}
	}
	w := s.window
	if w <= 0 {
		w = searchAuditWindow
	}
	b := s.open[key]
	if b == nil {
		s.open[key] = &searchBatch{timer: time.AfterFunc(w, func() { s.flush(rec, key, false) })}
		s.mu.Unlock()
		_, _ = rec.Record(e)
		return
	}
	b.n++
	b.last = e
	if p := e.Object; !slices.Contains(b.plates, p) {
		if len(b.plates) < searchAuditPlates {
			b.plates = append(b.plates, p)
		} else {
			b.more++
		}
	}
	s.mu.Unlock()
}

// flush records what a window gathered; a window without searches ends.
// final ends the window in any case (the node is stopping).
func (s *searchAudit) flush(rec *audit.Recorder, key string, final bool) {
	s.mu.Lock()
	b := s.open[key]
	if b == nil || b.n == 0 {
		if b != nil {
			b.timer.Stop()
		}
		delete(s.open, key)
		s.mu.Unlock()
		return
	}
	w := s.window
	if w <= 0 {
		w = searchAuditWindow
	}
	e := b.last
	e.Object = strings.Join(b.plates, " ")
	if b.more > 0 {
		e.Object += fmt.Sprintf(" and %d more plates", b.more)
	}
	e.Detail = fmt.Sprintf("%d more searches within %v (coalesced); the last: %s", b.n, w, b.last.Detail)
	b.n, b.plates, b.more = 0, nil, 0
	if final {
		b.timer.Stop()
		delete(s.open, key)
	} else {
		b.timer = time.AfterFunc(w, func() { s.flush(rec, key, false) })
	}
	s.mu.Unlock()
	_, _ = rec.Record(e)
}

// flushAll records every window's searches (the node is stopping).
func (s *searchAudit) flushAll(rec *audit.Recorder) {
	s.mu.Lock()
	keys := make([]string, 0, len(s.open))
	for k := range s.open {
		keys = append(keys, k)
	}
	s.mu.Unlock()
	for _, k := range keys {
		s.flush(rec, k, true)
	}
}

// guard is the API's login check (nil without users).
func (a *Agent) guard() func(auth.Role, http.Handler) http.Handler {
	if a.auth == nil {
		return nil
	}
	return a.auth.Require
}

// securityHandlers are the login and audit handlers.
func (a *Agent) securityHandlers(h *api.Handlers) {
	if a.auth != nil {
		h.Login = a.auth.Handler()
	}
	h.AuditList, h.AuditVerify = audit.ListHandler(a.events), audit.VerifyHandler(a.events)
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
