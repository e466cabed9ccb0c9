package faults

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/kuzet/kuzet/event"
)

// truth is one log of an origin's own events: the current log of a node,
// or the log a wiped replica had when its disk was lost.
type truth struct {
	origin string
	label  string // "", or which log of a wiped node this is
	events []ev   // the origin's own events, in its log order
	// lost: the log went with its disk. Only the events at or below the
	// upstream cursor had been acknowledged by the parent (stored there);
	// the rest could not reach anyone.
	lost  bool
	acked uint64
	all   []ev // a lost log: everything it held, its children's events too
}

// readWiped reads the copy of a wiped replica's event log.
func readWiped(root string, w wiped) (truth, error) {
	scratch := filepath.Join(root, "wiped", fmt.Sprintf("%s.%d.read.db", w.node, w.inc))
	if err := copyFile(w.events, scratch); err != nil { // OpenLog may write: never the kept copy
		return truth{}, err
	}
	defer os.Remove(scratch)
	l, err := event.OpenLog(scratch, w.node, nil)
	if err != nil {
		return truth{}, err
	}
	defer l.Close()
	all, err := l.Range(0, 0)
	if err != nil {
		return truth{}, err
	}
	acked, err := l.Cursor("upstream")
	if err != nil {
		return truth{}, err
	}
	tr := truth{origin: w.node, label: fmt.Sprintf("log lost at t+%.1fs", w.at.Seconds()), lost: true, acked: acked}
	for _, e := range all {
		b, err := json.Marshal(e)
		if err != nil {
			return truth{}, err
		}
		var x ev
		if err := json.Unmarshal(b, &x); err != nil {
			return truth{}, err
		}
		x.Pos = e.Pos
		tr.all = append(tr.all, x)
		if x.Origin == w.node {
			tr.events = append(tr.events, x)
		}
	}
	return tr, nil
}

// originCheck is how one origin's events fared at the node checked.
type originCheck struct {
	origin   string
	truth    int // events in the origin's own logs (every incarnation)
	required int // of those, the ones the node must hold
	held     int // events of the origin at the node
	missing  int // required, not held (also: held under their ID but different)
	dups     int // extra copies
	gaps     int // sequence numbers absent between held ones
	disorder int // held after a later one of the same incarnation
	lost     int // unacknowledged when their log was lost: not required
	unknown  int // held but in none of the origin's logs
}

type key struct {
	inc, seq uint64
}

// seqRanges prints sequence numbers as ranges: site/4..9, site/12.
func seqRanges(origin string, seqs []uint64, max int) string {
	seqs = slices.Clone(seqs)
	slices.Sort(seqs)
	seqs = slices.Compact(seqs)
	var parts []string
	for i := 0; i < len(seqs); {
		j := i
		for j+1 < len(seqs) && seqs[j+1] == seqs[j]+1 {
			j++
		}
		if i == j {
			parts = append(parts, fmt.Sprintf("%s/%d", origin, seqs[i]))
		} else {
			parts = append(parts, fmt.Sprintf("%s/%d..%d", origin, seqs[i], seqs[j]))
		}
		i = j + 1
	}
	if len(parts) > max {
		return strings.Join(parts[:max], ", ") + fmt.Sprintf(" and %d more ranges", len(parts)-max)
	}
	return strings.Join(parts, ", ")
}

// kinds summarises the kinds of some events: "segment.closed 4, audit 1".
func kindsOf(es []ev) string {
	n := map[string]int{}
	for _, e := range es {
		n[e.Kind]++
	}
	var ks []string
	for k := range n {
		ks = append(ks, k)
	}
	sort.Slice(ks, func(i, j int) bool { return n[ks[i]] > n[ks[j]] || n[ks[i]] == n[ks[j]] && ks[i] < ks[j] })
	var parts []string
	for _, k := range ks {
		parts = append(parts, fmt.Sprintf("%s %d", k, n[k]))
	}
	return strings.Join(parts, ", ")
}

// checkEvents compares what node at holds of each origin with the
// origins' own logs: every event exactly once, in order, without gaps.
// It returns one check per origin, the violations and remarks.
// locate, if not nil, names the other nodes' logs holding an event, to
// say where a missing one was last seen.
func checkEvents(at string, truths []truth, held []ev, locate func(ev) []string) ([]originCheck, []string, []string) {
	var origins []string
	byOrigin := map[string][]truth{}
	for _, t := range truths {
		if _, ok := byOrigin[t.origin]; !ok {
			origins = append(origins, t.origin)
		}
		byOrigin[t.origin] = append(byOrigin[t.origin], t)
	}
	var checks []originCheck
	var bad, notes []string
	for _, o := range origins {
		ts := byOrigin[o]
		oc := originCheck{origin: o}
		var c []ev
		for _, e := range held {
			if e.Origin == o {
				c = append(c, e)
			}
		}
		oc.held = len(c)
		byKey := map[key][]ev{}
		fps := map[string]int{}
		for _, e := range c {
			byKey[key{e.Inc, e.Seq}] = append(byKey[key{e.Inc, e.Seq}], e)
			fps[e.fingerprint()]++
		}

		// exactly once
		var dupSeqs []uint64
		for k, es := range byKey {
			if len(es) > 1 {
				oc.dups += len(es) - 1
				dupSeqs = append(dupSeqs, k.seq)
			}
		}
		if oc.dups > 0 {
			bad = append(bad, fmt.Sprintf("events: %s holds %d extra copies of %s events: %s", at, oc.dups, o, seqRanges(o, dupSeqs, 8)))
		}

		// in order, and without gaps, per incarnation of the origin
		byInc := map[uint64][]ev{}
		var incs []uint64
		for _, e := range c {
			if _, ok := byInc[e.Inc]; !ok {
				incs = append(incs, e.Inc)
			}
			byInc[e.Inc] = append(byInc[e.Inc], e)
		}
		for _, inc := range incs {
			es := byInc[inc]
			var examples []string
			seen := map[uint64]bool{}
			var last ev
			for i, e := range es {
				if i > 0 && e.Seq < last.Seq {
					oc.disorder++
					if len(examples) < 3 {
						examples = append(examples, fmt.Sprintf("%s (position %d) after %s (position %d)", e.ID(), e.Pos, last.ID(), last.Pos))
					}
				}
				if e.Seq > last.Seq || i == 0 {
					last = e
				}
				seen[e.Seq] = true
			}
			if len(examples) > 0 {
				bad = append(bad, fmt.Sprintf("events: %s holds %d %s events out of order: %s", at, oc.disorder, o, strings.Join(examples, "; ")))
			}
			var holes []uint64
			for s := inc + 1; s <= last.Seq; s++ {
				if !seen[s] {
					holes = append(holes, s)
				}
			}
			if len(holes) > 0 {
				oc.gaps += len(holes)
				bad = append(bad, fmt.Sprintf("events: %s's sequence of %s has %d gaps (held up to %s): %s",
					at, o, len(holes), last.ID(), seqRanges(o, holes, 8)))
			}
		}

		// every event the origin stored is there (and is that event)
		truthFP := map[string]bool{}
		for _, t := range ts {
			var missing, clashing []ev
			for _, e := range t.events {
				oc.truth++
				fp := e.fingerprint()
				truthFP[fp] = true
				if fps[fp] > 0 {
					oc.required++
					continue
				}
				if t.lost && e.Pos > t.acked {
					oc.lost++
					continue
				}
				oc.required++
				if len(byKey[key{e.Inc, e.Seq}]) > 0 {
					clashing = append(clashing, e)
				} else {
					missing = append(missing, e)
				}
			}
			name := o
			if t.label != "" {
				name = fmt.Sprintf("%s (%s)", o, t.label)
			} else if len(ts) > 1 {
				name = fmt.Sprintf("%s (current log)", o)
			}
			if len(missing) > 0 {
				oc.missing += len(missing)
				bad = append(bad, fmt.Sprintf("events: %d of %d events of %s missing at %s: %s [%s]%s",
					len(missing), len(t.events), name, at, seqRanges(o, seqsOf(missing), 8), kindsOf(missing), whereHeld(missing, locate)))
			}
			if len(clashing) > 0 {
				oc.missing += len(clashing)
				bad = append(bad, fmt.Sprintf("events: %d of %d events of %s missing at %s, which holds OTHER events under the same IDs "+
					"(another log of %s numbered them too, and these were dropped as replays): %s [%s]",
					len(clashing), len(t.events), name, at, o, seqRanges(o, seqsOf(clashing), 8), kindsOf(clashing)))
			}
		}
		if oc.lost > 0 {
			notes = append(notes, fmt.Sprintf("%s: %d events stored after %s's last acknowledgement from its parent went with its disk (not required at %s)",
				o, oc.lost, o, at))
		}

		// nothing held that no log of the origin has, apart from events
		// stored after its log was read
		latest := ts[len(ts)-1]
		var newest key
		for _, e := range latest.events {
			if e.Seq > newest.seq {
				newest = key{e.Inc, e.Seq}
			}
		}
		var unknown []ev
		for _, e := range c {
			if truthFP[e.fingerprint()] {
				continue
			}
			if e.Inc == newest.inc && e.Seq > newest.seq {
				continue // newer than the origin's log as read
			}
			unknown = append(unknown, e)
		}
		if len(unknown) > 0 {
			oc.unknown = len(unknown)
			bad = append(bad, fmt.Sprintf("events: %s holds %d %s events that no log of %s has: %s [%s]",
				at, len(unknown), o, o, seqRanges(o, seqsOf(unknown), 8), kindsOf(unknown)))
		}
		checks = append(checks, oc)
	}
	return checks, bad, notes
}

// whereHeld says which other logs hold events that did not arrive.
func whereHeld(es []ev, locate func(ev) []string) string {
	if locate == nil {
		return ""
	}
	n := map[string]int{}
	for _, e := range es {
		where := locate(e)
		if len(where) == 0 {
			where = []string{"no region replica's log"}
		}
		for _, w := range where {
			n[w]++
		}
	}
	var ws []string
	for w := range n {
		ws = append(ws, w)
	}
	sort.Strings(ws)
	var parts []string
	for _, w := range ws {
		parts = append(parts, fmt.Sprintf("%s %d", w, n[w]))
	}
	return "; held by " + strings.Join(parts, ", ")
}

func seqsOf(es []ev) []uint64 {
	out := make([]uint64, len(es))
	for i, e := range es {
		out[i] = e.Seq
	}
	return out
}

// heldStats counts, for the table, what a node holds of one origin.
func heldStats(log []ev, origin string) (held, dups, gaps int) {
	seen := map[key]int{}
	hi := map[uint64]uint64{}
	for _, e := range log {
		if e.Origin != origin {
			continue
		}
		held++
		seen[key{e.Inc, e.Seq}]++
		hi[e.Inc] = max(hi[e.Inc], e.Seq)
	}
	distinct := map[uint64]int{}
	for k, n := range seen {
		dups += n - 1
		distinct[k.inc]++
	}
	for inc, top := range hi {
		gaps += int(top-inc) - distinct[inc]
	}
	return held, dups, gaps
}

// --- the checker's own tests (fast, no processes) ---

func mk(origin string, inc, seq uint64, kind string, at int) ev {
	return ev{Origin: origin, Inc: inc, Seq: seq, Kind: kind, Time: time.Unix(int64(at), 0).UTC(), Payload: json.RawMessage(`{"n": 1}`)}
}

func TestCheckEventsClean(t *testing.T) {
	var own, held []ev
	for i := uint64(1); i <= 10; i++ {
		e := mk("site", 0, i, "segment.closed", int(i))
		e.Pos = i
		own = append(own, e)
		e.Payload = json.RawMessage("{\n  \"n\": 1\n}") // re-indented by the API
		held = append(held, e)
	}
	held = append(held, mk("site", 0, 11, "camera.state", 11)) // newer than the truth as read
	checks, bad, _ := checkEvents("centre", []truth{{origin: "site", events: own}}, held, nil)
	if len(bad) > 0 || checks[0].required != 10 || checks[0].held != 11 {
		t.Fatalf("%+v %q", checks, bad)
	}
}

func TestCheckEventsFindsEachViolation(t *testing.T) {
	var own []ev
	for i := uint64(1); i <= 10; i++ {
		e := mk("site", 0, i, "segment.closed", int(i))
		e.Pos = i
		own = append(own, e)
	}
	held := []ev{own[0], own[2], own[1], own[1], own[4], own[5], own[6], own[7], own[8], own[9], mk("site", 0, 7, "forged", 99)}
	checks, bad, _ := checkEvents("centre", []truth{{origin: "site", events: own}}, held, nil)
	all := strings.Join(bad, "\n")
	for _, want := range []string{
		"holds 2 extra copies of site events: site/2, site/7",
		"3 site events out of order: site/2 (position 2) after site/3 (position 3)",
		"has 1 gaps (held up to site/10): site/4",
		"1 of 10 events of site missing at centre: site/4 [segment.closed 1]",
		"holds 1 site events that no log of site has: site/7 [forged 1]",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("no %q in:\n%s", want, all)
		}
	}
	if c := checks[0]; c.dups != 2 || c.gaps != 1 || c.missing != 1 || c.disorder != 3 || c.unknown != 1 {
		t.Errorf("%+v", c)
	}
}

// A wiped node numbering from 1 again: the centre keeps the first log's
// events and drops the second's as replays. Unacknowledged events of the
// lost log are not required.
func TestCheckEventsWipedOrigin(t *testing.T) {
	var first, second []ev
	for i := uint64(1); i <= 8; i++ {
		e := mk("r", 0, i, "audit", int(i))
		e.Pos = i
		first = append(first, e)
	}
	for i := uint64(1); i <= 5; i++ {
		e := mk("r", 0, i, "audit", 100+int(i))
		e.Pos = i
		second = append(second, e)
	}
	held := append(slices.Clone(first[:6]), mk("r", 0, 7, "audit", 7)) // 7 acked, 8 lost
	held[6].Pos = 7
	truths := []truth{{origin: "r", label: "log lost at t+5.0s", lost: true, acked: 7, events: first}, {origin: "r", events: second}}
	checks, bad, notes := checkEvents("centre", truths, held, nil)
	all := strings.Join(bad, "\n")
	if !strings.Contains(all, "5 of 5 events of r (current log) missing at centre, which holds OTHER events under the same IDs") {
		t.Errorf("collision not reported:\n%s", all)
	}
	if len(notes) != 1 || checks[0].lost != 1 {
		t.Errorf("notes %q, %+v", notes, checks[0])
	}
	// an incarnation-aware node numbers the new log above its incarnation
	second = second[:0]
	for i := uint64(1); i <= 5; i++ {
		e := mk("r", 1<<20, 1<<20+i, "audit", 100+int(i))
		e.Pos = i
		second = append(second, e)
	}
	held = append(slices.Clone(first[:7]), second...)
	truths[1].events = second
	_, bad, _ = checkEvents("centre", truths, held, nil)
	if len(bad) > 0 {
		t.Errorf("incarnations kept apart, yet: %q", bad)
	}
}

func TestHeldStats(t *testing.T) {
	log := []ev{mk("s", 0, 1, "k", 1), mk("s", 0, 3, "k", 3), mk("s", 0, 3, "k", 3), mk("x", 0, 9, "k", 1)}
	if h, d, g := heldStats(log, "s"); h != 3 || d != 1 || g != 1 {
		t.Fatal(h, d, g)
	}
}
