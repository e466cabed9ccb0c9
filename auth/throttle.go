package auth

import (
	"net/netip"
	"strings"
	"sync"
	"time"
)

// ThrottleOptions bound password guessing. After Free failures for a key
// (a user name, or a source address), each further failure locks that key
// for Base, doubling per failure up to Max; while locked, login attempts
// are refused without checking the password. Failures are forgotten after
// Forget without a new one.
type ThrottleOptions struct {
	UserFree   int           // default 5
	SourceFree int           // default 20: a NAT may hide many operators
	Base       time.Duration // default 1s
	Max        time.Duration // default 15m
	Forget     time.Duration // default 1h
}

func (o ThrottleOptions) withDefaults() ThrottleOptions {
	if o.UserFree <= 0 {
		o.UserFree = 5
	}
	if o.SourceFree <= 0 {
		o.SourceFree = 20
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
	return o
}

// maxStrikes bounds the table: an attacker cycling names or addresses
// must not grow it without limit.
const maxStrikes = 1 << 16

type strike struct {
	n        int
	last     time.Time
	until    time.Time
	reported bool // a refusal under the current lock was logged
}

type throttle struct {
	o       ThrottleOptions
	mu      sync.Mutex
	strikes map[string]*strike
}

func newThrottle(o ThrottleOptions) *throttle {
	return &throttle{o: o.withDefaults(), strikes: map[string]*strike{}}
}

func userKey(name string) string {
	name = strings.ToLower(name)
	if len(name) > 128 {
		name = name[:128]
	}
	return "u:" + name
}

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

// locked returns how long key stays locked, and whether this is the first
// refusal under the current lock: only that one is logged and audited, so
// hammering a locked account cannot flood the logs.
func (t *throttle) locked(key string, now time.Time) (time.Duration, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.strikes[key]
	if s == nil || !now.Before(s.until) {
		return 0, false
	}
	first := !s.reported
	s.reported = true
	return s.until.Sub(now), first
}

// fail counts a failure and returns the lock it earned (0: none yet).
func (t *throttle) fail(key string, free int, now time.Time) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.strikes[key]
	if s != nil && now.Sub(s.last) > t.o.Forget {
		s = nil
	}
	if s == nil {
		t.makeRoom(now)
		s = &strike{}
		t.strikes[key] = s
	}
	s.n++
	s.last = now
	if s.n < free {
		return 0
	}
	d := t.o.Base
	for i := free; i < s.n && d < t.o.Max; i++ {
		d *= 2
	}
	d = min(d, t.o.Max)
	s.until = now.Add(d)
	s.reported = false
	return d
}

func (t *throttle) reset(key string) {
	t.mu.Lock()
	delete(t.strikes, key)
	t.mu.Unlock()
}

// makeRoom drops forgotten entries when the table is full, then the
// stalest one if it is still full. Called with t.mu held.
func (t *throttle) makeRoom(now time.Time) {
	if len(t.strikes) < maxStrikes {
		return
	}
	var oldest string
	var oldestAt time.Time
	for k, s := range t.strikes {
		if now.Sub(s.last) > t.o.Forget {
			delete(t.strikes, k)
			continue
		}
		if oldest == "" || s.last.Before(oldestAt) {
			oldest, oldestAt = k, s.last
		}
	}
	if len(t.strikes) >= maxStrikes {
		delete(t.strikes, oldest)
	}
}
