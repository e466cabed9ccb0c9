package faults

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

// The tree under test.
const (
	siteID   = "site"
	centreID = "centre"
	cameraID = "Camera1"
	tierID   = "region-a"
)

var regionIDs = []string{"region-a1", "region-a2", "region-a3"}

// nodeIDs in start order: parents first.
var nodeIDs = append(append([]string{centreID}, regionIDs...), siteID)

// linkName names the relay between a child and one parent replica.
func linkName(child, parent string) string { return child + "->" + parent }

// links are every child-to-parent relay.
func links() []string {
	var out []string
	for _, r := range regionIDs {
		out = append(out, linkName(siteID, r))
	}
	for _, r := range regionIDs {
		out = append(out, linkName(r, centreID))
	}
	return out
}

// Kind is what a fault does.
type Kind string

// Fault kinds. Clock jumps are not among them: see README.md.
const (
	Kill  Kind = "kill"  // SIGKILL, restart after For
	Pause Kind = "pause" // SIGSTOP, SIGCONT after For
	Wipe  Kind = "wipe"  // SIGKILL a region replica, delete its data dir, restart it under the same ID after For
	Cut   Kind = "cut"   // the link drops everything for For
	Loss  Kind = "loss"  // the link drops each datagram with probability Loss for For
	Delay Kind = "delay" // the link holds each datagram Delay (+ jitter Delay/4) for For
	// Strand: the region replica the site is linked to when it begins
	// loses its uplink to the centre; halfway through, the site loses its
	// link to that replica too and fails over to another, while the first
	// still holds site events it acknowledged but could not pass on. Both
	// links heal at the end.
	Strand Kind = "strand"
)

// strandTarget stands for the replica the site is linked to at the time.
const strandTarget = "site's parent"

var kinds = []Kind{Kill, Pause, Wipe, Cut, Loss, Delay, Strand}

// Fault is one entry of the schedule: at At after the faults begin,
// Kind hits Target for For.
type Fault struct {
	At     time.Duration
	For    time.Duration
	Kind   Kind
	Target string // a node ID, or a link "child->parent"
	Loss   float64
	Delay  time.Duration
}

func (f Fault) onLink() bool {
	return f.Kind == Cut || f.Kind == Loss || f.Kind == Delay || f.Kind == Strand
}

func (f Fault) detail() string {
	switch f.Kind {
	case Loss:
		return fmt.Sprintf("%.0f%% loss", f.Loss*100)
	case Delay:
		return fmt.Sprintf("+%v ±%v", f.Delay, f.Delay/4)
	case Kill, Wipe:
		return "down"
	case Pause:
		return "stopped"
	case Strand:
		return "uplink cut"
	}
	return "cut"
}

// String is one line of the printed schedule.
func (f Fault) String() string {
	return fmt.Sprintf("t+%7.1fs  %-6s  %-18s  %-12s for %.1fs", f.At.Seconds(), f.Kind, f.Target, f.detail(), f.For.Seconds())
}

// NewSchedule draws the faults for span from seed: the same seed and span
// give the same schedule. Every kind comes once in each round of six, in
// an order drawn anew per round, so even a short run has each. Rules that
// keep the tree able to recover: one fault at a time per node and per
// link; at most one region replica down or stopped at a time (the
// catalogue keeps its Raft quorum); every fault ends before span does.
func NewSchedule(seed uint64, span time.Duration) []Fault {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	dur := func(lo, hi float64) time.Duration {
		return time.Duration((lo + r.Float64()*(hi-lo)) * float64(time.Second)).Round(100 * time.Millisecond)
	}
	busy := map[string]time.Duration{} // target -> free again at
	var regionFree time.Duration       // no region replica process fault before this
	var deck []Kind
	var out []Fault
	for at := 2 * time.Second; at < span-3*time.Second; at += dur(2, 5) {
		if len(deck) == 0 {
			deck = slices.Clone(kinds)
			r.Shuffle(len(deck), func(i, j int) { deck[i], deck[j] = deck[j], deck[i] })
		}
		kind := deck[0]
		f := Fault{At: at, Kind: kind}
		var candidates []string
		switch kind {
		case Kill:
			f.For, candidates = dur(1, 6), nodeIDs
		case Pause:
			f.For, candidates = dur(1, 5), nodeIDs
		case Wipe:
			f.For, candidates = dur(1, 4), regionIDs
		case Cut:
			f.For, candidates = dur(2, 8), links()
		case Loss:
			f.For, candidates = dur(3, 10), links()
			f.Loss = []float64{0.05, 0.1, 0.2, 0.3}[r.IntN(4)]
		case Delay:
			f.For, candidates = dur(3, 10), links()
			f.Delay = []time.Duration{20, 50, 100, 200}[r.IntN(4)] * time.Millisecond
		case Strand:
			f.For, candidates = dur(6, 12), []string{strandTarget}
		}
		f.For = min(f.For, span-at-time.Second)
		var free []string
		for _, c := range candidates {
			if busy[c] > at {
				continue
			}
			if c == strandTarget && (slices.ContainsFunc(links(), func(l string) bool { return busy[l] > at }) || regionFree > at) {
				continue // it needs every link, and the replicas up
			}
			if f.onLink() && busy[strandTarget] > at {
				continue
			}
			if !f.onLink() && slices.Contains(regionIDs, c) && (regionFree > at || busy[strandTarget] > at) {
				continue
			}
			free = append(free, c)
		}
		if len(free) == 0 {
			continue // this kind waits for the next slot
		}
		deck = deck[1:]
		f.Target = free[r.IntN(len(free))]
		busy[f.Target] = at + f.For + time.Second
		if !f.onLink() && slices.Contains(regionIDs, f.Target) {
			regionFree = at + f.For + time.Second
		}
		out = append(out, f)
	}
	return out
}

// formatSchedule prints the schedule, one fault a line.
func formatSchedule(s []Fault) string {
	var b strings.Builder
	for _, f := range s {
		fmt.Fprintf(&b, "  %s\n", f)
	}
	return b.String()
}

func TestScheduleIsSeeded(t *testing.T) {
	a, b := NewSchedule(7, 70*time.Second), NewSchedule(7, 70*time.Second)
	if formatSchedule(a) != formatSchedule(b) {
		t.Fatalf("seed 7 gave two schedules:\n%s\n%s", formatSchedule(a), formatSchedule(b))
	}
	if formatSchedule(a) == formatSchedule(NewSchedule(8, 70*time.Second)) {
		t.Fatal("seeds 7 and 8 gave the same schedule")
	}
	for seed := range uint64(200) {
		s := NewSchedule(seed, 65*time.Second)
		seen := map[Kind]bool{}
		for i, f := range s {
			seen[f.Kind] = true
			if f.At+f.For > 64*time.Second || f.For <= 0 {
				t.Fatalf("seed %d: %s ends after the faults", seed, f)
			}
			for _, g := range s[:i] {
				overlap := g.At+g.For+time.Second > f.At
				if overlap && g.Target == f.Target {
					t.Fatalf("seed %d: %s overlaps %s", seed, f, g)
				}
				if overlap && (f.Kind == Strand || g.Kind == Strand) && (f.onLink() && g.onLink() || slices.Contains(regionIDs, f.Target) || slices.Contains(regionIDs, g.Target)) {
					t.Fatalf("seed %d: %s overlaps %s", seed, f, g)
				}
				if overlap && !f.onLink() && !g.onLink() && slices.Contains(regionIDs, f.Target) && slices.Contains(regionIDs, g.Target) {
					t.Fatalf("seed %d: two region replicas down at once: %s, %s", seed, g, f)
				}
			}
		}
		if len(seen) != len(kinds) {
			t.Fatalf("seed %d: a 65 s schedule lacks a kind: %v\n%s", seed, seen, formatSchedule(s))
		}
	}
}
