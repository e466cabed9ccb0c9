package agent

import (
	"sync"
	"time"

	"github.com/kuzet/kuzet/federation"
	"github.com/kuzet/kuzet/replicate"
)

// failures remembers, per descendant, the requests for its video and
// photos that failed here (live relays, ranges, the last minutes,
// snapshots, replication), so that the tree can say a site is failing
// while its link still looks up.
type failures struct {
	mu sync.Mutex
	m  map[string]*originFailures
}

type originFailures struct {
	at   []time.Time // within federation.FailWindow, oldest first
	last string
}

// add records a failed request for origin's video; what names it.
func (f *failures) add(origin, what string, err error) {
	if err == nil {
		return
	}
	now := time.Now()
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.m == nil {
		f.m = map[string]*originFailures{}
	}
	o, ok := f.m[origin]
	if !ok {
		o = &originFailures{}
		f.m[origin] = o
	}
	o.at = append(prune(o.at, now), now)
	o.last = what + ": " + err.Error()
}

// of counts origin's failures in the window and says why the newest was.
func (f *failures) of(origin string) (n int, last string, at time.Time) {
	now := time.Now()
	f.mu.Lock()
	defer f.mu.Unlock()
	o, ok := f.m[origin]
	if !ok {
		return 0, "", time.Time{}
	}
	o.at = prune(o.at, now)
	if len(o.at) == 0 {
		delete(f.m, origin)
		return 0, "", time.Time{}
	}
	return len(o.at), o.last, o.at[len(o.at)-1]
}

// prune drops the times older than the window; at most 1000 are kept.
func prune(at []time.Time, now time.Time) []time.Time {
	i := 0
	for i < len(at) && now.Sub(at[i]) > federation.FailWindow {
		i++
	}
	at = at[i:]
	if len(at) > 1000 {
		at = at[len(at)-1000:]
	}
	return at
}

// addHealth completes the tree's node health with what the agent knows:
// the replication backlog per origin and the failed requests.
func (a *Agent) addHealth(root *federation.ObservedNode) {
	var backlogs map[string]replicate.Backlog
	if a.fetchQ != nil {
		b, err := a.fetchQ.Backlogs()
		if err != nil {
			a.log.Warn("read the replication backlog for the tree", "err", err)
		}
		backlogs = b
	}
	root.Walk(func(n *federation.ObservedNode) {
		if n.Health == nil {
			return
		}
		if b, ok := backlogs[n.ID]; ok {
			n.Health.Backlog = &b
		}
		n.Health.Failed, n.Health.LastFailure, n.Health.LastFailureAt = a.failed.of(n.ID)
	})
}
