package auth

import (
	"net/netip"
	"strings"
	"sync"
	"time"
)

// ThrottleOptions bound password guessing. Failures are counted under
// three keys, each locked for Base after its free failures, doubling per
// further failure up to Max; while a key is locked, attempts under it are
// refused without a password being checked. Failures are forgotten after
// Forget without a new one.
//
//   - a user name from one address (IPv6: its /64), UserFree: guessing
//     one account from one place. Failures from one address never lock
//     the account at another.
//   - an address, whatever the names, SourceFree: spraying many names.
//   - a user name from all addresses together, UserCeiling: guessing
//     from many addresses. This lock does not apply at an address the
//     user logged in from within Remember (or holds a session from), so a
//     distributed attack cannot lock the user out where they work.
type ThrottleOptions struct {
	UserFree    int           // default 5
	SourceFree  int           // default 20: a NAT may hide many operators
	UserCeiling int           // default 50
	Base        time.Duration // default 1s
	Max         time.Duration // default 15m
	Forget      time.Duration // default 1h
	Remember    time.Duration // default 30 days
}

func (o ThrottleOptions) withDefaults() ThrottleOptions {
	if o.UserFree <= 0 {
		o.UserFree = 5
	}
	if o.SourceFree <= 0 {
		o.SourceFree = 20
	}
	if o.UserCeiling <= 0 {
		o.UserCeiling = 50
	}
	if o.UserCeiling < o.UserFree {
		o.UserCeiling = o.UserFree
	}
	if o.Base <= 0 {
		o.Base = time.Second
	}
	if o.Max <= 0 {
		o.Max = 15 * time.Minute
	}
	if o.Max < o.Base {
		o.Max = o.Base
	}
	if o.Forget <= 0 {
		o.Forget = time.Hour
	}
	if o.Forget < o.Max {
		o.Forget = o.Max
	}
	if o.Remember <= 0 {
		o.Remember = 30 * 24 * time.Hour
	}
	return o
}

// maxStrikes bounds the tables: an attacker cycling names or addresses
// must not grow them without limit.
const maxStrikes = 1 << 16

type strike struct {
	n        int
	last     time.Time
	until    time.Time
	reported bool // a refusal under the current lock was logged
}

// Scopes of a lock, as Limiter.Check names them.
const (
	ScopeUserAddress = "user from address"
	ScopeAddress     = "address"
	ScopeUser        = "user"
)

// Limiter throttles failed logins by (user, address), by address and by
// user; see ThrottleOptions. It is safe for concurrent use. Auth keeps
// one for HTTP logins; the SFTP server keeps its own.
type Limiter struct {
	o       ThrottleOptions
	mu      sync.Mutex
	strikes map[string]*strike
	good    map[string]time.Time // pair key -> last successful login
	// trusted, if set, also exempts a pair from the user's ceiling (Auth:
	// the user holds a session from that address).
	trusted func(name string, src netip.Addr) bool
}

// NewLimiter makes a limiter; zero options take their defaults.
func NewLimiter(o ThrottleOptions) *Limiter {
	return &Limiter{o: o.withDefaults(), strikes: map[string]*strike{}, good: map[string]time.Time{}}
}

// Options are the limiter's options with defaults filled in.
func (l *Limiter) Options() ThrottleOptions { return l.o }

func normName(name string) string {
	name = strings.ToLower(name)
	if len(name) > 128 {
		name = name[:128]
	}
	return name
}

func userKey(name string) string { return "u:" + normName(name) }

// sourceKey groups an IPv6 client by its /64, which one host usually owns
// whole.
func sourceKey(a netip.Addr) string {
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return "s:" + p.String()
	}
	return "s:" + a.String()
}

func pairKey(name string, src netip.Addr) string {
	return "p:" + sourceKey(src)[2:] + "|" + normName(name)
}

// Check says whether an attempt by name from src may go ahead: wait is 0
// if so, else how long the lock still holds, with the scope locked and
// whether this is the first refusal under that lock (only that one
// should be logged and audited, so that hammering a lock cannot flood
// the logs).
func (l *Limiter) Check(name string, src netip.Addr, now time.Time) (wait time.Duration, first bool, scope string) {
	pk := pairKey(name, src)
	l.mu.Lock()
	var exempt bool
	if d, f := l.lockedLocked(pk, now); d > 0 {
		wait, first, scope = d, f, ScopeUserAddress
	}
	if d, f := l.lockedLocked(sourceKey(src), now); d > wait {
		wait, first, scope = d, f, ScopeAddress
	}
	uk := userKey(name)
	ceiling := false
	if s := l.strikes[uk]; s != nil && now.Before(s.until) {
		ceiling = true
		at, ok := l.good[pk]
		exempt = ok && now.Sub(at) < l.o.Remember
	}
	trusted := l.trusted
	l.mu.Unlock()
	if ceiling && !exempt && trusted != nil {
		exempt = trusted(name, src)
	}
	if ceiling && !exempt {
		l.mu.Lock()
		if d, f := l.lockedLocked(uk, now); d > wait {
			wait, first, scope = d, f, ScopeUser
		}
		l.mu.Unlock()
	}
	return wait, first, scope
}

// CheckSource is Check for the address alone (API tokens).
func (l *Limiter) CheckSource(src netip.Addr, now time.Time) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lockedLocked(sourceKey(src), now)
}

// Fail counts a failed attempt by name from src and returns the longest
// lock it earned (0: none yet) and how many failures the pair has had.
// checked says whether a password was checked: a refusal that checked
// none (an address the account may not use) does not count toward the
// user's ceiling, since it guessed nothing.
func (l *Limiter) Fail(name string, src netip.Addr, now time.Time, checked bool) (lock time.Duration, strikes int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	lock, strikes = l.failLocked(pairKey(name, src), l.o.UserFree, now)
	d, _ := l.failLocked(sourceKey(src), l.o.SourceFree, now)
	lock = max(lock, d)
	if checked {
		d, _ := l.failLocked(userKey(name), l.o.UserCeiling, now)
		lock = max(lock, d)
	}
	return lock, strikes
}

// FailSource counts a failure against the address alone (a bad API
// token).
func (l *Limiter) FailSource(src netip.Addr, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	d, _ := l.failLocked(sourceKey(src), l.o.SourceFree, now)
	return d
}

// Succeed clears the pair's failures and remembers the address as one
// the user logs in from. The address's and the user's counts stay: a
// success does not excuse failures elsewhere.
func (l *Limiter) Succeed(name string, src netip.Addr, now time.Time) {
	pk := pairKey(name, src)
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.strikes, pk)
	if _, ok := l.good[pk]; !ok && len(l.good) >= maxStrikes {
		var oldest string
		var at time.Time
		for k, t := range l.good {
			if now.Sub(t) >= l.o.Remember {
				delete(l.good, k)
				continue
			}
			if oldest == "" || t.Before(at) {
				oldest, at = k, t
			}
		}
		if len(l.good) >= maxStrikes {
			delete(l.good, oldest)
		}
	}
	l.good[pk] = now
}

func (l *Limiter) lockedLocked(key string, now time.Time) (time.Duration, bool) {
	s := l.strikes[key]
	if s == nil || !now.Before(s.until) {
		return 0, false
	}
	first := !s.reported
	s.reported = true
	return s.until.Sub(now), first
}

func (l *Limiter) failLocked(key string, free int, now time.Time) (time.Duration, int) {
	s := l.strikes[key]
	if s != nil && now.Sub(s.last) > l.o.Forget {
		s = nil
	}
	if s == nil {
		l.makeRoom(now)
		s = &strike{}
		l.strikes[key] = s
	}
	s.n++
	s.last = now
	if s.n < free {
		return 0, s.n
	}
	d := l.o.Base
	for i := free; i < s.n && d < l.o.Max; i++ {
		d *= 2
	}
	d = min(d, l.o.Max)
	s.until = now.Add(d)
	s.reported = false
	return d, s.n
}

// makeRoom drops forgotten entries when the table is full, then the
// stalest one if it is still full. Called with l.mu held.
func (l *Limiter) makeRoom(now time.Time) {
	if len(l.strikes) < maxStrikes {
		return
	}
	var oldest string
	var oldestAt time.Time
	for k, s := range l.strikes {
		if now.Sub(s.last) > l.o.Forget {
			delete(l.strikes, k)
			continue
		}
		if oldest == "" || s.last.Before(oldestAt) {
			oldest, oldestAt = k, s.last
		}
	}
	if len(l.strikes) >= maxStrikes {
		delete(l.strikes, oldest)
	}
}
