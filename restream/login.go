package restream

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/bluenviron/gortsplib/v4/pkg/base"

	"github.com/kuzet/kuzet/auth"
)

// Users is where readers' accounts come from: the node's users, the same
// ones that log in to the HTTP API (auth.MemStore, or the agent's store
// that adds the catalogue's users).
type Users = auth.Store

// AccountsOptions configure Accounts. Users is required.
type AccountsOptions struct {
	Users Users
	// MinRole is the least role that may watch live video (default viewer).
	MinRole auth.Role
	// Throttle bounds password guessing, as for the API's logins (its own
	// auth.Limiter with the same options).
	Throttle auth.ThrottleOptions
	// DecoyParams cost the hash checked for unknown user names while no
	// user has a readable hash (default auth.DefaultParams); otherwise the
	// decoy costs what most users' hashes cost, so that unknown names take
	// as long as known ones.
	DecoyParams auth.Params
	Now         func() time.Time
}

// Accounts authenticates RTSP readers as the node's users: a name and a
// password (RTSP Basic; the accounts keep argon2id hashes only, which
// Digest cannot be checked against), the account's state, role and
// address rules, under the API's throttle of failed logins (per user and
// address, per address, per user: auth.Limiter).
type Accounts struct {
	o     AccountsOptions
	thr   *auth.Limiter
	slots chan struct{}

	mu     sync.Mutex
	decoys map[auth.Params]string
}

// NewAccounts builds the readers' login check.
func NewAccounts(o AccountsOptions) (*Accounts, error) {
	if o.Users == nil {
		return nil, fmt.Errorf("rtsp accounts: no user store")
	}
	if o.MinRole == 0 {
		o.MinRole = auth.RoleViewer
	}
	if !o.MinRole.Valid() {
		return nil, fmt.Errorf("rtsp accounts: %v is not a role", o.MinRole)
	}
	if o.DecoyParams == (auth.Params{}) {
		o.DecoyParams = auth.DefaultParams
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Accounts{o: o, thr: auth.NewLimiter(o.Throttle), slots: make(chan struct{}, max(1, runtime.GOMAXPROCS(0))),
		decoys: map[auth.Params]string{}}, nil
}

// Reader is an authenticated reader.
type Reader struct {
	User string
	Role string
}

// Refusal is why a reader is turned away.
type Refusal struct {
	Status base.StatusCode
	Msg    string
	Retry  time.Duration // 429: when to try again
	// Audit: the refusal is a failed login worth an audit entry (every
	// failure, and the first refusal under each throttle lock).
	Audit bool
	Role  string // the named user's role, if known
	Why   string // for the log and the audit entry, when Msg hides it
}

func (r *Refusal) Error() string { return r.Msg }

func (ac *Accounts) decoyHash() string {
	count := map[auth.Params]int{}
	for _, u := range ac.o.Users.Users() {
		if p, ok := hashParams(u.PasswordHash); ok {
			count[p]++
		}
	}
	best, n := ac.o.DecoyParams, 0
	for p, c := range count {
		if c > n || c == n && uint64(p.Memory)*uint64(p.Time) > uint64(best.Memory)*uint64(best.Time) {
			best, n = p, c
		}
	}
	ac.mu.Lock()
	defer ac.mu.Unlock()
	if h, ok := ac.decoys[best]; ok {
		return h
	}
	pw := make([]byte, 32)
	_, _ = rand.Read(pw)
	h, err := auth.HashPasswordParams(hex.EncodeToString(pw), best)
	if err != nil {
		return ""
	}
	if len(ac.decoys) >= 16 {
		clear(ac.decoys)
	}
	ac.decoys[best] = h
	return h
}

// hashParams reads the cost of an argon2id PHC string
// ($argon2id$v=19$m=65536,t=3,p=2$salt$hash).
func hashParams(h string) (auth.Params, bool) {
	f := strings.Split(h, "$")
	if len(f) != 6 || f[1] != "argon2id" {
		return auth.Params{}, false
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(f[4])
	key, err2 := base64.RawStdEncoding.DecodeString(f[5])
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(f[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || err1 != nil || err2 != nil {
		return auth.Params{}, false
	}
	return auth.Params{Memory: m, Time: t, Threads: p, SaltLen: len(salt), KeyLen: len(key)}, true
}

// Login checks a name and password from src. One password check per CPU
// runs at a time, since each takes tens of MiB; the lock is checked and
// the failure counted inside that slot, so parallel guesses get at most
// one extra try per CPU past the limit. From an address the account may
// not use, the password is not checked at all and the answer is the one
// a wrong password gets: it confirms neither the password nor the account.
func (ac *Accounts) Login(name, password string, src netip.Addr) (Reader, *Refusal) {
	ac.slots <- struct{}{}
	defer func() { <-ac.slots }()
	now := ac.o.Now()
	if d, first, scope := ac.thr.Check(name, src, now); d > 0 {
		return Reader{}, &Refusal{Status: base.StatusCode(429), Retry: d, Audit: first,
			Msg: fmt.Sprintf("too many failed logins (%s); retry in %s", scope, roundUp(d))}
	}
	u, known := ac.o.Users.User(name)
	placeOK := !known || len(u.Allow) == 0 || allowed(u.Allow, src)
	var hash string
	if known && placeOK {
		hash = u.PasswordHash
	} else {
		hash = ac.decoyHash()
	}
	ok, err := auth.VerifyPassword(hash, password)
	if err != nil {
		ok = false
	}
	const wrong = "wrong user name or password"
	var fail *Refusal
	switch {
	case !known:
		fail = &Refusal{Status: base.StatusUnauthorized, Msg: wrong, Why: "unknown user"}
	case !placeOK:
		fail = &Refusal{Status: base.StatusUnauthorized, Msg: wrong,
			Why: fmt.Sprintf("user %s may not log in from %s (password not checked)", u.Name, addrString(src))}
	case !ok:
		fail = &Refusal{Status: base.StatusUnauthorized, Msg: wrong, Why: "wrong password"}
	default:
		fail = ac.admit(u, src)
	}
	if fail == nil {
		ac.thr.Succeed(name, src, now)
		return Reader{User: u.Name, Role: u.Role.String()}, nil
	}
	ac.thr.Fail(name, src, now, placeOK)
	fail.Audit = true
	if known {
		fail.Role = u.Role.String()
	}
	return Reader{}, fail
}

// Recheck confirms that a reader who logged in earlier on a connection may
// still watch: a disabled, removed or demoted user loses access at the
// next request.
func (ac *Accounts) Recheck(name string, src netip.Addr) (Reader, *Refusal) {
	u, ok := ac.o.Users.User(name)
	if !ok {
		return Reader{}, &Refusal{Status: base.StatusUnauthorized, Msg: fmt.Sprintf("user %s no longer exists", name)}
	}
	if r := ac.admit(u, src); r != nil {
		return Reader{}, r
	}
	return Reader{User: u.Name, Role: u.Role.String()}, nil
}

// admit applies an account's state, address rules and role.
func (ac *Accounts) admit(u auth.User, src netip.Addr) *Refusal {
	switch {
	case u.Disabled:
		return &Refusal{Status: base.StatusForbidden, Msg: fmt.Sprintf("user %s is disabled", u.Name)}
	case len(u.Allow) > 0 && !allowed(u.Allow, src):
		return &Refusal{Status: base.StatusForbidden, Msg: fmt.Sprintf("user %s may not log in from %s", u.Name, addrString(src))}
	case !u.Role.AtLeast(ac.o.MinRole):
		return &Refusal{Status: base.StatusForbidden, Msg: fmt.Sprintf("%s has role %s; live video needs %s or above", u.Name, u.Role, ac.o.MinRole)}
	}
	return nil
}

func allowed(list []netip.Prefix, a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range list {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func addrString(a netip.Addr) string {
	if !a.IsValid() {
		return "unknown address"
	}
	return a.String()
}

func roundUp(d time.Duration) time.Duration { return d.Truncate(time.Second) + time.Second }
