package event

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The log is bounded by dropping its oldest positions: always a prefix,
// so every reader that keeps a position simply finds the log starting
// later. What is dropped is remembered per origin incarnation (the
// "dropped" marks): a parent that asks for events this node no longer
// holds is told they are gone, rather than waiting for them forever.

var bucketDropped = []byte("dropped") // origin\0inc -> highest Seq dropped or forgone

// compactStep bounds one compaction transaction, so writers are never
// held up for long.
const compactStep = 2000

// First returns the lowest position the log still holds (0: it is empty).
func (l *Log) First() uint64 {
	var first uint64
	_ = l.db.View(func(tx *bolt.Tx) error {
		if k, _ := tx.Bucket(bucketEvents).Cursor().First(); len(k) == 8 {
			first = binary.BigEndian.Uint64(k)
		}
		return nil
	})
	return first
}

// Hold makes the reader name hold the log's floor at the position pos
// reports: nothing after it is dropped. Every reader that keeps its own
// position (a sink's cursor, an index built from the log) holds the floor
// from when it starts; a stopped one still holds it, since it will want
// its events when it starts again.
func (l *Log) Hold(name string, pos func() (uint64, error)) {
	l.holdMu.Lock()
	defer l.holdMu.Unlock()
	if l.holds == nil {
		l.holds = map[string]func() (uint64, error){}
	}
	l.holds[name] = pos
}

// HoldCursor holds the floor at the cursor name (see SetCursor): a sink
// that has not set it yet holds the floor at 0.
func (l *Log) HoldCursor(name string) {
	l.Hold("cursor "+name, func() (uint64, error) { return l.Cursor(name) })
}

// Holding is one reader that holds the floor, and how far it has read.
type Holding struct {
	Name     string `json:"name"`
	Position uint64 `json:"position"`
	Error    string `json:"error,omitempty"`
}

// Holdings lists the readers that hold the floor, by name.
func (l *Log) Holdings() []Holding {
	l.holdMu.Lock()
	out := make([]Holding, 0, len(l.holds))
	fs := make([]func() (uint64, error), 0, len(l.holds))
	for n, f := range l.holds {
		out = append(out, Holding{Name: n})
		fs = append(fs, f)
	}
	l.holdMu.Unlock()
	for i, f := range fs {
		p, err := f() // outside holdMu: a reader's position may need its own lock
		out[i].Position = p
		if err != nil {
			out[i].Error = err.Error()
		}
	}
	slices.SortFunc(out, func(a, b Holding) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Floor is the lowest position every holder has passed, and the holder
// at it ("" and the last position when nothing holds the log lower).
func (l *Log) Floor() (floor uint64, holder string, err error) {
	floor = l.Last()
	for _, h := range l.Holdings() {
		if h.Error != "" {
			return 0, h.Name, fmt.Errorf("read the position of %s: %s", h.Name, h.Error)
		}
		if h.Position < floor {
			floor, holder = h.Position, h.Name
		}
	}
	return floor, holder, nil
}

// CompactPlan returns the last position a compaction may drop: the end
// of the run of events from the start of the log that are older than
// before and at or below floor. An event that is young enough ends the
// run even if older ones follow (a child's backlog arrives late): the
// log is dropped as a prefix, and they wait their turn. 0: nothing.
// held reports that the floor, not the age, ended the run.
func (l *Log) CompactPlan(before time.Time, floor uint64) (through uint64, held bool, err error) {
	last := l.Last() // read before the transaction: a writer holds l.mu while it commits
	err = l.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketEvents).Cursor()
		for k, v := c.First(); len(k) == 8; k, v = c.Next() {
			pos := binary.BigEndian.Uint64(k)
			if pos >= last {
				return nil // the newest event is always kept: it carries lastPos across a restart
			}
			t, err := eventTime(v)
			if pos > floor {
				held = err == nil && t.Before(before)
				return nil
			}
			if err != nil {
				return fmt.Errorf("decode event at %d: %w", pos, err)
			}
			if !t.Before(before) {
				return nil
			}
			through = pos
		}
		return nil
	})
	return through, held, err
}

// Compact drops every event at or below position through, with its
// identity index, in bounded transactions, and remembers per incarnation
// the highest Seq dropped. Urgent events still waiting for their ordered
// copy are dropped as well when they are older than before. It returns
// how many events it dropped.
func (l *Log) Compact(through uint64, before time.Time) (int, error) {
	last := l.Last()
	if last == 0 {
		return 0, nil
	}
	if through >= last {
		through = last - 1 // the newest event carries lastPos across a restart
	}
	n := 0
	for {
		done := true
		err := l.db.Update(func(tx *bolt.Tx) error {
			events, seqpos, dropped := tx.Bucket(bucketEvents), tx.Bucket(bucketSeqPos), tx.Bucket(bucketDropped)
			high := map[string]uint64{}
			c := events.Cursor()
			k, v := c.First()
			for i := 0; len(k) == 8 && binary.BigEndian.Uint64(k) <= through; i++ {
				if i == compactStep {
					done = false
					break
				}
				var e Event
				if err := json.Unmarshal(v, &e); err != nil {
					return fmt.Errorf("decode event at %d: %w", binary.BigEndian.Uint64(k), err)
				}
				if err := seqpos.Delete(seqPosKey(e.Origin, e.Inc, e.Seq)); err != nil {
					return err
				}
				mk := string(markKey(e.Origin, e.Inc))
				high[mk] = max(high[mk], e.Seq)
				if err := c.Delete(); err != nil {
					return err
				}
				// after a Delete, Next may skip a key; the prefix is
				// dropped from the front, so the next one is the first
				k, v = c.First()
				n++
			}
			for mk, s := range high {
				if err := putMax(dropped, []byte(mk), s); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return n, fmt.Errorf("compact event log through %d: %w", through, err)
		}
		if done {
			break
		}
	}
	return n, l.dropStaleUrgent(before)
}

// dropStaleUrgent removes urgent events older than before whose ordered
// copy never came: their origin lost them, or they are long since shown.
func (l *Log) dropStaleUrgent(before time.Time) error {
	return l.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketUrgent)
		var stale [][]byte
		if err := b.ForEach(func(k, v []byte) error {
			if t, err := eventTime(v); err == nil && t.Before(before) {
				stale = append(stale, append([]byte(nil), k...))
			}
			return nil
		}); err != nil {
			return err
		}
		for _, k := range stale {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
}

// Dropped lists, per origin incarnation, the highest Seq this log no
// longer holds because it was dropped here or forgone (see Forgo).
func (l *Log) Dropped() ([]Mark, error) {
	var out []Mark
	err := l.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketDropped).ForEach(func(k, v []byte) error {
			if o, inc, ok := parseMarkKey(k); ok && len(v) == 8 {
				out = append(out, Mark{Origin: o, Inc: inc, Seq: binary.BigEndian.Uint64(v)})
			}
			return nil
		})
	})
	return out, err
}

// Forgo accepts that the events of m's incarnation up to m.Seq will never
// arrive: the node that sent them up dropped them before this one held
// them. The high-water mark moves past them (so the events after them are
// taken in order) and they count as dropped here too, so the same is said
// to this node's parent. It returns the first Seq forgone and false when
// this log already held everything up to m.Seq.
func (l *Log) Forgo(m Mark) (from uint64, forgone bool, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if m.Origin == l.origin {
		return 0, false, fmt.Errorf("forgo events of %s: this node's own events", m.Origin)
	}
	err = l.db.Update(func(tx *bolt.Tx) error {
		hwm := tx.Bucket(bucketHWM)
		key := markKey(m.Origin, m.Inc)
		held := m.Inc
		if v := hwm.Get(key); len(v) == 8 {
			held = binary.BigEndian.Uint64(v)
		}
		if m.Seq <= held {
			return nil
		}
		from, forgone = held+1, true
		if err := hwm.Put(key, u64(m.Seq)); err != nil {
			return err
		}
		return putMax(tx.Bucket(bucketDropped), key, m.Seq)
	})
	if err != nil {
		return 0, false, fmt.Errorf("forgo events of %s up to %d: %w", m.Key(), m.Seq, err)
	}
	return from, forgone, nil
}

// eventTime reads only the time of a stored event.
func eventTime(v []byte) (time.Time, error) {
	var e struct {
		Time time.Time `json:"time"`
	}
	err := json.Unmarshal(v, &e)
	return e.Time, err
}

// putMax stores v under k unless a higher value is there.
func putMax(b *bolt.Bucket, k []byte, v uint64) error {
	if old := b.Get(k); len(old) == 8 && binary.BigEndian.Uint64(old) >= v {
		return nil
	}
	return b.Put(k, u64(v))
}
