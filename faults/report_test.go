package faults

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"text/tabwriter"
	"time"
)

// report gathers what the run observed and what the checks found.
type report struct {
	settings settings
	schedule []Fault
	actions  []string
	crashes  []string
	notes    []string
	relays   []string
	timing   string

	logs    map[string][]ev      // node -> its whole log
	readErr map[string]string    // what could not be read
	backlog map[string]upstream  // child -> its link at the end
	segs    map[string][]segment // node -> its index of the site's camera
	archive map[string]string    // node -> archive root
	wiped   []truth              // logs lost with a disk
	current map[string]int       // node -> incarnations started

	audit         map[string]verdict
	archiveVerify map[string]verdict
	shutdown      []string
	drained       time.Duration
	checks        time.Duration

	// results
	checkpoint    string   // the crossing's summary
	checkpointBad []string // its invariant violations
	origins       []originCheck
	eventBad      []string
	eventNotes    []string
	seg           segCheck
}

// truths are the logs of every origin whose events must reach the centre:
// the site and each region replica, with the logs wiped replicas lost.
func (r *report) truths() []truth {
	var out []truth
	for _, id := range append([]string{siteID}, regionIDs...) {
		for _, w := range r.wiped {
			if w.origin == id {
				out = append(out, w)
			}
		}
		cur := truth{origin: id}
		for _, e := range r.logs[id] {
			if e.Origin == id {
				cur.events = append(cur.events, e)
			}
		}
		out = append(out, cur)
	}
	return out
}

// check runs the event invariant; the others were checked as they were read.
func (r *report) check() {
	r.origins, r.eventBad, r.eventNotes = checkEvents(centreID, r.truths(), r.logs[centreID], r.locator())
}

// locator finds events in the region replicas' logs, current and lost.
func (r *report) locator() func(ev) []string {
	at := map[string][]string{}
	add := func(label string, es []ev) {
		for _, e := range es {
			fp := e.fingerprint()
			if !slices.Contains(at[fp], label) {
				at[fp] = append(at[fp], label)
			}
		}
	}
	for _, id := range regionIDs {
		add(id, r.logs[id])
	}
	for _, w := range r.wiped {
		add(fmt.Sprintf("%s (%s)", w.origin, w.label), w.all)
	}
	return func(e ev) []string {
		var out []string
		for _, l := range at[e.fingerprint()] {
			if l != e.Origin && !strings.HasPrefix(l, e.Origin+" (") {
				out = append(out, l)
			}
		}
		return out
	}
}

// violations lists every invariant violated, most basic first.
func (r *report) violations() []string {
	var out []string
	var errs []string
	for what, err := range r.readErr {
		errs = append(errs, fmt.Sprintf("harness: could not read %s: %s", what, err))
	}
	sort.Strings(errs)
	out = append(out, errs...)
	for _, c := range r.crashes {
		out = append(out, "process: "+c)
	}
	for _, s := range r.shutdown {
		out = append(out, "process: "+s)
	}
	out = append(out, r.eventBad...)
	out = append(out, r.seg.bad...)
	out = append(out, r.checkpointBad...)
	for _, id := range append([]string{siteID}, regionIDs...) {
		u, ok := r.backlog[id]
		if !ok {
			continue
		}
		if u.Backlog > 0 || !u.Connected {
			waiting := fmt.Sprintf("%d events", u.Backlog)
			if u.Backlog == ^uint64(0) {
				waiting = "an unknown number of events"
			}
			out = append(out, fmt.Sprintf("backlog: %s still has %s waiting for its parent after the settle and drain (connected %v to %s %s; last error %q)",
				id, waiting, u.Connected, u.Parent, u.Address, u.LastError))
		}
	}
	for _, id := range nodeIDs {
		if v, ok := r.audit[id]; ok && !v.ok {
			if _, ok := r.restartsOnly(v); ok {
				continue // see auditNotes
			}
			out = append(out, fmt.Sprintf("audit: kuzet audit verify --data %s: %v:\n      %s", id, v.err, strings.Join(v.problems(8), "\n      ")))
		}
	}
	for _, id := range nodeIDs {
		if v, ok := r.archiveVerify[id]; ok && !v.ok {
			out = append(out, fmt.Sprintf("archive: kuzet archive verify --data %s: %v:\n      %s", id, v.err, strings.Join(v.problems(8), "\n      ")))
		}
	}
	return out
}

func (r *report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "== fault harness report ==\n%s\n%s\n", r.settings, r.timing)
	for _, n := range r.notes {
		fmt.Fprintf(&b, "NOTE: %s\n", n)
	}
	b.WriteString("\nschedule as executed (time since the faults began, action, target):\n")
	for _, a := range r.actions {
		fmt.Fprintf(&b, "  %s\n", a)
	}
	fmt.Fprintf(&b, "\nprocess starts: ")
	for _, id := range nodeIDs {
		fmt.Fprintf(&b, "%s %d  ", id, r.current[id])
	}
	b.WriteString("\n")
	if len(r.relays) > 0 {
		b.WriteString("relays (datagrams forwarded / dropped / delay-line overflow):\n")
		for _, l := range r.relays {
			fmt.Fprintf(&b, "  %s\n", l)
		}
	}

	if r.checkpoint != "" {
		fmt.Fprintf(&b, "\n%s\n", r.checkpoint)
	}
	b.WriteString("\nevents per origin held at each node (with extra copies and gaps where there are any):\n")
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "  origin\t%s\t\n", strings.Join(nodeIDs, "\t"))
	origins := []string{siteID}
	origins = append(origins, regionIDs...)
	origins = append(origins, centreID)
	for _, o := range origins {
		fmt.Fprintf(tw, "  %s", o)
		for _, id := range nodeIDs {
			h, d, g := heldStats(r.logs[id], o)
			cell := fmt.Sprint(h)
			if d > 0 || g > 0 {
				cell += fmt.Sprintf(" (+%d dup, %d gap)", d, g)
			}
			fmt.Fprintf(tw, "\t%s", cell)
		}
		fmt.Fprintf(tw, "\t\n")
	}
	tw.Flush()
	b.WriteString("  (a region replica holds the site's events only from the times the site was linked to it: gaps there are expected)\n")

	b.WriteString("\nat the centre, per origin (truth: the origin's own logs, incl. logs lost with a disk):\n")
	tw = tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "  origin\ttruth\trequired\theld\tmissing\tduplicates\tgaps\tout of order\tunknown\tlost with disk\t\n")
	for _, c := range r.origins {
		fmt.Fprintf(tw, "  %s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t\n", c.origin, c.truth, c.required, c.held, c.missing, c.dups, c.gaps, c.disorder, c.unknown, c.lost)
	}
	tw.Flush()
	for _, n := range r.eventNotes {
		fmt.Fprintf(&b, "  note: %s\n", n)
	}

	fmt.Fprintf(&b, "\nsegments of %s/%s (policy all), byte-identical copies per tier:\n  site %d (%.1f MB)",
		siteID, cameraID, r.seg.site, float64(r.seg.siteBytes)/1e6)
	for _, id := range regionIDs {
		fmt.Fprintf(&b, ", %s %d", id, r.seg.held[id])
	}
	fmt.Fprintf(&b, " (region tier, any replica: %d), centre %d\n", r.seg.regionAny, r.seg.held[centreID])
	for _, id := range nodeIDs {
		if n := r.seg.parentOnly[id]; n > 0 {
			fmt.Fprintf(&b, "  %s indexes %d segments of the site that the site's index does not list\n", id, n)
		}
	}

	b.WriteString("\nbacklogs at the end:")
	for _, id := range append([]string{siteID}, regionIDs...) {
		u := r.backlog[id]
		fmt.Fprintf(&b, "  %s %d (to %s, connected %v);", id, u.Backlog, u.Parent, u.Connected)
	}
	b.WriteString("\n\noffline checks of the stopped nodes:\n")
	for _, id := range nodeIDs {
		fmt.Fprintf(&b, "  %-10s audit verify: %s; archive verify: %s\n", id, r.audit[id].summary(), r.archiveVerify[id].summary())
	}
	for _, n := range r.auditNotes() {
		fmt.Fprintf(&b, "  note: %s\n", n)
	}

	v := r.violations()
	fmt.Fprintf(&b, "\n%d invariant violation(s)\n", len(v))
	for _, x := range v {
		fmt.Fprintf(&b, "  - %s\n", x)
	}
	return b.String()
}

// restartsOnly tells an audit verdict whose only complaint is that origins
// restarted with an empty store — the replicas this run wiped on purpose —
// from one that found chains altered, removed, reordered or forged. Such
// a restart is what a disk loss is; entries the lost store had not passed
// on are counted by the event check ("lost with disk"), and every one its
// parent had acknowledged is required there. Any other line, or a
// restart of a node that was not wiped, is a violation.
func (r *report) restartsOnly(v verdict) ([]string, bool) {
	wiped := map[string]bool{}
	for _, w := range r.wiped {
		wiped[w.origin] = true
	}
	var restarted []string
	for _, l := range strings.Split(v.out, "\n") {
		l = strings.TrimSpace(l)
		switch {
		case l == "", strings.Contains(l, ": intact"), strings.HasSuffix(l, "audit chain(s)"),
			strings.HasPrefix(l, "NOT INTACT: no entry was altered"), strings.HasPrefix(l, "kuzet: "):
		case strings.HasPrefix(l, "RESTARTED: "):
			origin, _, _ := strings.Cut(strings.TrimPrefix(l, "RESTARTED: "), " ")
			if !wiped[origin] {
				return nil, false
			}
			restarted = append(restarted, origin)
		default:
			return nil, false
		}
	}
	return restarted, len(restarted) > 0
}

// auditNotes explain audit verdicts that restartsOnly let pass.
func (r *report) auditNotes() []string {
	var out []string
	for _, id := range nodeIDs {
		if v, ok := r.audit[id]; ok && !v.ok {
			if origins, ok := r.restartsOnly(v); ok {
				out = append(out, fmt.Sprintf("kuzet audit verify --data %s exits non-zero (%v) only because %s restarted with an empty store, "+
					"which this run did on purpose (wipe); no entry is altered, removed, reordered or forged", id, v.err, strings.Join(slices.Compact(origins), ", ")))
			}
		}
	}
	return out
}

// summary is a verdict in a few words.
func (v verdict) summary() string {
	if v.out == "" && v.err == nil {
		return "not run"
	}
	lines := strings.Split(strings.TrimSpace(v.out), "\n")
	first := lines[0]
	if v.ok {
		return "ok (" + strings.TrimSpace(last(lines)) + ")"
	}
	return fmt.Sprintf("FAILED (%s; %s)", strings.TrimSpace(first), strings.TrimSpace(last(lines)))
}

func last(ls []string) string {
	if len(ls) == 0 {
		return ""
	}
	return ls[len(ls)-1]
}

func TestAuditRestartsOnly(t *testing.T) {
	out := `/x/centre/events.db: 3 audit chain(s)
  centre: 11 entries, seq 1..11, head 6b468f040f60…, last 2026-12-02T20:13:59Z: intact (incarnation 5899215289536, store created 2026-12-02T20:13:58Z)
  region-a1: 8 entries, seq 1..8, head 2062469e11e5…, last 2026-12-02T20:14:00Z: intact (incarnation 5899215341568, store created 2026-12-02T20:13:59Z)
  region-a1: 2 entries, seq 1..2, head 2fb1e06e0f26…, last 2026-12-02T20:15:34Z: intact (incarnation 5899218440384, store created 2026-12-02T20:14:48Z)
  RESTARTED: region-a1 restarted with an empty store at 2026-12-02T20:14:48Z (incarnation 5899218440384 after 5899215341568, whose chain here ends at audit seq 8; anything it recorded later was lost with its store)
NOT INTACT: no entry was altered, but 1 origin(s) restarted with an empty store
kuzet: audit chain is broken or an origin restarted with an empty store (see above)`
	r := &report{audit: map[string]verdict{centreID: {out: out, err: errors.New("exit status 2")}}}
	if _, ok := r.restartsOnly(r.audit[centreID]); ok {
		t.Fatal("a restart of a node that was not wiped passed")
	}
	r.wiped = []truth{{origin: "region-a1"}}
	if o, ok := r.restartsOnly(r.audit[centreID]); !ok || len(o) != 1 || len(r.violations()) != 0 || len(r.auditNotes()) != 1 {
		t.Fatalf("%v %v %q %q", o, ok, r.violations(), r.auditNotes())
	}
	forged := out + "\n  region-a1 forged: event region-a1/47 (audit seq 1, log position 189): audit seq 1 appears a second time"
	r.audit[centreID] = verdict{out: forged, err: errors.New("exit status 2")}
	if v := r.violations(); len(v) != 1 || !strings.Contains(v[0], "forged") {
		t.Fatalf("%q", v)
	}
}
