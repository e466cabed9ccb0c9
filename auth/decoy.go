package auth

import (
	"fmt"
	"sync"
	"time"
)

// decoyRefresh is how often the cost of the decoy is chosen again: the
// catalogue may add or change users at any time.
const decoyRefresh = 30 * time.Second

// decoys are hashes of a random, forgotten password, one per cost. A login
// with a name no user has is checked against the one that costs what most
// users' hashes cost, so that it takes as long as a known name's, and
// timing does not tell which names exist.
type decoys struct {
	users    Store
	fallback Params
	now      func() time.Time

	mu     sync.Mutex
	hashes map[Params]string
	pick   Params
	picked time.Time
}

func newDecoys(users Store, fallback Params, now func() time.Time) (*decoys, error) {
	d := &decoys{users: users, fallback: fallback, now: now, hashes: map[Params]string{}}
	if _, err := d.hashLocked(fallback); err != nil {
		return nil, fmt.Errorf("auth: decoy hash: %w", err)
	}
	d.get() // the users' cost, made now rather than at the first unknown name
	return d, nil
}

// get returns the decoy for an unknown user name.
func (d *decoys) get() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if now := d.now(); d.picked.IsZero() || now.Sub(d.picked) >= decoyRefresh || now.Before(d.picked) {
		d.pick, d.picked = d.common(), now
	}
	h, err := d.hashLocked(d.pick)
	if err != nil {
		return d.hashes[d.fallback]
	}
	return h
}

// common is the cost most users' hashes have; between equally common
// costs, the dearer. Without users it is the fallback.
func (d *decoys) common() Params {
	count := map[Params]int{}
	for _, u := range d.users.Users() {
		if h, err := parsePHC(u.PasswordHash); err == nil {
			count[h.p]++
		}
	}
	best, n := d.fallback, 0
	for p, c := range count {
		if c > n || c == n && uint64(p.Memory)*uint64(p.Time) > uint64(best.Memory)*uint64(best.Time) {
			best, n = p, c
		}
	}
	return best
}

func (d *decoys) hashLocked(p Params) (string, error) {
	if h, ok := d.hashes[p]; ok {
		return h, nil
	}
	pw, err := secret()
	if err != nil {
		return "", err
	}
	h, err := HashPasswordParams(pw, p)
	if err != nil {
		return "", err
	}
	if len(d.hashes) >= 16 { // costs come from the user list; keep a few
		for k := range d.hashes {
			if k != d.fallback {
				delete(d.hashes, k)
			}
		}
	}
	d.hashes[p] = h
	return h, nil
}
