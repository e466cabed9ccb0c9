package audit

import (
	"cmp"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/kuzet/kuzet/event"
)

// What a Problem found.
const (
	ProblemAltered   = "altered"   // contents do not match the entry's hash
	ProblemRemoved   = "removed"   // audit sequence numbers missing
	ProblemReordered = "reordered" // stored out of sequence order
	ProblemForged    = "forged"    // does not chain to its predecessor, or repeats a sequence number
	ProblemMalformed = "malformed" // not readable as an audit entry at all
)

// Problem names one bad entry.
type Problem struct {
	Origin   string `json:"origin"`
	EventID  string `json:"event_id,omitempty"`
	Pos      uint64 `json:"pos,omitempty"` // position in the log examined
	AuditSeq uint64 `json:"audit_seq,omitempty"`
	Kind     string `json:"kind"`
	Detail   string `json:"detail"`

	idx int    // order in the input, for sorting
	inc uint64 // the origin's incarnation
}

func (p Problem) String() string {
	where := p.EventID
	if where == "" {
		where = "?"
	}
	return fmt.Sprintf("%s: event %s (audit seq %d, log position %d): %s", p.Kind, where, p.AuditSeq, p.Pos, p.Detail)
}

// Chain summarises one origin's audit chain. Each incarnation of an
// origin (a node that started again with an empty store) has a chain of
// its own, starting at audit seq 1.
type Chain struct {
	Origin      string    `json:"origin"`
	Incarnation uint64    `json:"incarnation,omitempty"`
	Started     time.Time `json:"started,omitzero"` // when that incarnation's store was created
	Entries     int       `json:"entries"`
	First       uint64    `json:"first_seq"`
	Last        uint64    `json:"last_seq"`
	Head        string    `json:"head"` // hash of the highest sequence
	LastAt      time.Time `json:"last_time"`
	// Compacted is the last audit seq retention dropped from this log,
	// as the checkpoint entry CheckpointBy attests (0: none dropped).
	Compacted    uint64 `json:"compacted_through,omitempty"`
	CheckpointBy string `json:"checkpoint_by,omitempty"`
	OK           bool   `json:"ok"`
}

// Report is the result of checking a log's audit chains. OK means no
// chain was tampered with; Intact also means no origin restarted with an
// empty store, which may have taken with it audit entries its parents
// never received.
type Report struct {
	OK       bool      `json:"ok"`
	Intact   bool      `json:"intact"`
	Chains   []Chain   `json:"chains"`
	Problems []Problem `json:"problems"`
	Restarts []Restart `json:"restarts"`
}

// Restart is an origin whose chain starts again: a new incarnation.
type Restart struct {
	Origin      string    `json:"origin"`
	Incarnation uint64    `json:"incarnation"`
	Started     time.Time `json:"started"`
	Previous    uint64    `json:"previous_incarnation"`
	// PreviousLast is the last audit seq of the previous incarnation held
	// here: entries after it, if any were made, are lost with its store.
	PreviousLast uint64 `json:"previous_last_seq"`
}

func (r Restart) String() string {
	return fmt.Sprintf("%s restarted with an empty store at %s (incarnation %d after %d, whose chain here ends at audit seq %d; anything it recorded later was lost with its store)",
		r.Origin, r.Started.UTC().Format(time.RFC3339), r.Incarnation, r.Previous, r.PreviousLast)
}

type chainKey struct {
	origin string
	inc    uint64
}

// Verify checks every origin's chain independently and returns what is
// wrong, the first bad entry of each origin first. events must be in log
// order (as event.Log.Range returns them); events of other kinds are
// ignored.
func Verify(events []event.Event) []Problem { return Check(events).Problems }

type item struct {
	ev  event.Event
	p   Payload
	idx int
}

// Check is Verify with a summary of each chain.
func Check(events []event.Event) Report {
	byOrigin := map[chainKey][]item{}
	var origins []chainKey
	var problems []Problem
	for i, e := range events {
		if e.Kind != Kind {
			continue
		}
		pos := e.Pos
		p, err := decodePayload(e.Payload)
		if err != nil {
			problems = append(problems, Problem{Origin: e.Origin, EventID: e.ID(), Pos: pos, AuditSeq: p.Seq,
				Kind: ProblemMalformed, Detail: err.Error(), idx: i, inc: e.Inc})
			continue
		}
		k := chainKey{e.Origin, e.Inc}
		if _, ok := byOrigin[k]; !ok {
			origins = append(origins, k)
		}
		byOrigin[k] = append(byOrigin[k], item{ev: e, p: p, idx: i})
	}
	slices.SortFunc(origins, func(a, b chainKey) int { return cmp.Or(cmp.Compare(a.origin, b.origin), cmp.Compare(a.inc, b.inc)) })
	rep := Report{Chains: []Chain{}, Restarts: []Restart{}}
	attested := attestedAnchors(byOrigin)
	for i, o := range origins {
		c, ps := checkChain(o.origin, byOrigin[o], attested[o])
		c.Incarnation, c.Started = o.inc, event.IncarnationTime(o.inc)
		problems = append(problems, ps...)
		rep.Chains = append(rep.Chains, c)
		if i > 0 && origins[i-1].origin == o.origin {
			prev := rep.Chains[len(rep.Chains)-2]
			rep.Restarts = append(rep.Restarts, Restart{Origin: o.origin, Incarnation: o.inc, Started: c.Started,
				Previous: prev.Incarnation, PreviousLast: prev.Last})
		}
	}
	slices.SortStableFunc(problems, func(a, b Problem) int {
		return cmp.Or(cmp.Compare(a.Origin, b.Origin), cmp.Compare(a.idx, b.idx))
	})
	bad := map[string]bool{}
	for _, p := range problems {
		bad[p.Origin+"\x00"+strconv.FormatUint(p.inc, 10)] = true
	}
	for i, c := range rep.Chains {
		rep.Chains[i].OK = !bad[c.Origin+"\x00"+strconv.FormatUint(c.Incarnation, 10)]
	}
	rep.Problems = problems
	if rep.Problems == nil {
		rep.Problems = []Problem{}
	}
	rep.OK = len(problems) == 0
	rep.Intact = rep.OK && len(rep.Restarts) == 0
	return rep
}

func problemAt(it item, kind, format string, args ...any) Problem {
	return Problem{Origin: it.ev.Origin, EventID: it.ev.ID(), Pos: it.ev.Pos, AuditSeq: it.p.Seq,
		Kind: kind, Detail: fmt.Sprintf(format, args...), idx: it.idx, inc: it.ev.Inc}
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12] + "…"
	}
	return h
}

// checkChain checks one origin's entries, given in log order. Links are
// followed by stored hashes, so one altered entry is reported once rather
// than breaking everything after it.
func checkChain(origin string, items []item, anchors map[uint64]attestation) (Chain, []Problem) {
	var ps []Problem
	// contents against their own hash
	for _, it := range items {
		if got := ChainHash(origin, it.ev.Time, it.p); got != it.p.Hash {
			ps = append(ps, problemAt(it, ProblemAltered, "contents do not match the entry's hash (stored %s, contents hash to %s): the entry was changed after it was written",
				short(it.p.Hash), short(got)))
		}
	}
	// order as stored
	seen := map[uint64]item{}
	var maxSeen item
	var unique []item
	for i, it := range items {
		if first, dup := seen[it.p.Seq]; dup {
			ps = append(ps, problemAt(it, ProblemForged, "audit seq %d appears a second time (first as event %s)", it.p.Seq, first.ev.ID()))
			continue
		}
		seen[it.p.Seq] = it
		unique = append(unique, it)
		if i > 0 && it.p.Seq < maxSeen.p.Seq {
			ps = append(ps, problemAt(it, ProblemReordered, "stored after audit seq %d (event %s): entries are out of order", maxSeen.p.Seq, maxSeen.ev.ID()))
		}
		if it.p.Seq > maxSeen.p.Seq {
			maxSeen = it
		}
	}
	// links in sequence order
	slices.SortFunc(unique, func(a, b item) int { return cmp.Compare(a.p.Seq, b.p.Seq) })
	c := Chain{Origin: origin, Entries: len(items)}
	if len(unique) == 0 {
		return c, ps
	}
	first, last := unique[0], unique[len(unique)-1]
	c.First, c.Last, c.Head, c.LastAt = first.p.Seq, last.p.Seq, last.p.Hash, last.ev.Time
	a, anchored := anchors[first.p.Seq-1]
	switch {
	case first.p.Seq > 1 && anchored && a.hash == first.p.Prev:
		c.Compacted, c.CheckpointBy = first.p.Seq-1, a.by // dropped by retention, attested
	case first.p.Seq > 1 && anchored:
		ps = append(ps, problemAt(first, ProblemForged, "previous hash %s does not match the anchor %s that checkpoint %s attests for audit seq %d",
			short(first.p.Prev), short(a.hash), a.by, first.p.Seq-1))
	case first.p.Seq > 1:
		ps = append(ps, problemAt(first, ProblemRemoved, "the chain starts at audit seq %d: entries 1..%d are missing", first.p.Seq, first.p.Seq-1))
	case first.p.Prev != "":
		ps = append(ps, problemAt(first, ProblemForged, "the first entry names a predecessor (%s)", short(first.p.Prev)))
	}
	for i := 1; i < len(unique); i++ {
		a, b := unique[i-1], unique[i]
		switch {
		case b.p.Seq == a.p.Seq+2:
			ps = append(ps, problemAt(b, ProblemRemoved, "audit seq %d is missing (between event %s and this one)", a.p.Seq+1, a.ev.ID()))
		case b.p.Seq > a.p.Seq+2:
			ps = append(ps, problemAt(b, ProblemRemoved, "audit seqs %d..%d are missing (between event %s and this one)", a.p.Seq+1, b.p.Seq-1, a.ev.ID()))
		case b.p.Prev != a.p.Hash:
			ps = append(ps, problemAt(b, ProblemForged, "previous hash %s does not match audit seq %d (event %s, hash %s): that entry was rewritten or this one inserted",
				short(b.p.Prev), a.p.Seq, a.ev.ID(), short(a.p.Hash)))
		}
	}
	return c, ps
}

// bucketEvents is event.Log's bucket of events by local position.
var bucketEvents = []byte("events")

// ReadFile reads the audit events of a stopped node's events.db, opened
// read-only. Events that are not even readable are returned as problems.
func ReadFile(eventsDB string) ([]event.Event, []Problem, error) {
	if _, err := os.Stat(eventsDB); err != nil {
		return nil, nil, fmt.Errorf("audit verify: %w", err)
	}
	db, err := bolt.Open(eventsDB, 0o400, &bolt.Options{ReadOnly: true, Timeout: 2 * time.Second})
	if err != nil {
		if errors.Is(err, bolterrors.ErrTimeout) {
			return nil, nil, fmt.Errorf("audit verify: open %s: the file is locked; stop the node or verify a copy", eventsDB)
		}
		return nil, nil, fmt.Errorf("audit verify: open %s read-only: %w", eventsDB, err)
	}
	defer db.Close()
	var events []event.Event
	var problems []Problem
	err = db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketEvents)
		if b == nil {
			return fmt.Errorf("%s holds no events bucket: not a Kuzet event log", eventsDB)
		}
		i := 0
		return b.ForEach(func(k, v []byte) error {
			i++
			if len(k) != 8 {
				problems = append(problems, Problem{Origin: "?", Kind: ProblemMalformed, Detail: fmt.Sprintf("key %x is not a log position", k), idx: -1})
				return nil
			}
			pos := binary.BigEndian.Uint64(k)
			var e event.Event
			if err := json.Unmarshal(v, &e); err != nil {
				problems = append(problems, Problem{Origin: "?", Pos: pos, Kind: ProblemMalformed,
					Detail: fmt.Sprintf("stored event is not valid JSON: %v", err), idx: -1})
				return nil
			}
			if e.Kind != Kind {
				return nil
			}
			e.Pos = pos
			events = append(events, e)
			return nil
		})
	})
	if err != nil {
		return nil, nil, fmt.Errorf("audit verify: read %s: %w", eventsDB, err)
	}
	return events, problems, nil
}

// VerifyFile is `kuzet audit verify`: it checks the audit chains in a
// stopped node's events.db (or a copy), writes a summary and every problem
// to out, and reports whether all chains are intact. err means the file
// could not be read at all.
func VerifyFile(eventsDB string, out io.Writer) (bool, error) {
	events, unreadable, err := ReadFile(eventsDB)
	if err != nil {
		return false, err
	}
	rep := Check(events)
	rep.Problems = append(unreadable, rep.Problems...)
	rep.OK = rep.OK && len(unreadable) == 0
	rep.Intact = rep.Intact && rep.OK
	writeReport(out, eventsDB, rep)
	return rep.Intact, nil
}

func writeReport(out io.Writer, name string, rep Report) {
	fmt.Fprintf(out, "%s: %d audit chain(s)\n", name, len(rep.Chains))
	for _, c := range rep.Chains {
		state := "intact"
		if !c.OK {
			state = "BROKEN"
		}
		if c.Incarnation != 0 {
			state += fmt.Sprintf(" (incarnation %d, store created %s)", c.Incarnation, c.Started.UTC().Format(time.RFC3339))
		}
		if c.Compacted > 0 {
			state += fmt.Sprintf(" (seq 1..%d dropped by retention, attested by %s)", c.Compacted, c.CheckpointBy)
		}
		fmt.Fprintf(out, "  %s: %d entries, seq %d..%d, head %s, last %s: %s\n",
			c.Origin, c.Entries, c.First, c.Last, short(c.Head), c.LastAt.UTC().Format(time.RFC3339), state)
	}
	for _, p := range rep.Problems {
		fmt.Fprintf(out, "  %s %s\n", p.Origin, p)
	}
	for _, r := range rep.Restarts {
		fmt.Fprintf(out, "  RESTARTED: %s\n", r)
	}
	switch {
	case !rep.OK:
		fmt.Fprintf(out, "FAILED: %d problem(s)\n", len(rep.Problems))
	case !rep.Intact:
		fmt.Fprintf(out, "NOT INTACT: no entry was altered, but %d origin(s) restarted with an empty store\n", len(rep.Restarts))
	default:
		fmt.Fprintln(out, "ok: every audit chain is intact")
	}
}
