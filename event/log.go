package event

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

var (
	bucketEvents  = []byte("events")  // local position -> Event
	bucketHWM     = []byte("hwm")     // origin\0inc -> highest Seq stored (markKey)
	bucketCursors = []byte("cursors") // sink name -> local position delivered
	bucketUrgent  = []byte("urgent")  // "origin/seq" -> Event that overtook the ordered stream
	bucketSeqPos  = []byte("seqpos")  // origin\0inc seq -> local position (seqPosKey)
	bucketMeta    = []byte("meta")    // "incarnation" -> this store's incarnation
)

var metaIncarnation = []byte("incarnation")

// Log is the node's durable event log. Every event, its own and those
// received from children, gets the next local position; its own events also
// get the next per-origin Seq. Append and Ingest return only after the
// commit (bbolt fsyncs on commit), so whatever they acknowledge is durable.
type Log struct {
	db     *bolt.DB
	origin string
	now    func() time.Time
	logger *slog.Logger

	mu      sync.Mutex // serialises writers
	lastPos uint64
	lastSeq uint64 // this node's own Seq
	inc     uint64 // this store's incarnation
	fresh   bool   // the store was created by this open

	// subscribers have their own lock, so that announcing an event never
	// waits for another writer's commit
	subMu  sync.Mutex
	subs   map[chan Event]struct{}
	urgent map[chan Event]struct{}

	holdMu sync.Mutex
	holds  map[string]func() (uint64, error) // readers that hold the floor (retention.go)
}

// OpenLog opens or creates the log at path for events originating at origin.
func OpenLog(path, origin string, logger *slog.Logger) (*Log, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("open event log %s: %w", path, err)
	}
	l := &Log{db: db, origin: origin, now: time.Now, logger: logger, subs: map[chan Event]struct{}{}, urgent: map[chan Event]struct{}{}}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketEvents, bucketHWM, bucketCursors, bucketUrgent, bucketSeqPos, bucketMeta, bucketDropped} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		if k, _ := tx.Bucket(bucketEvents).Cursor().Last(); k != nil {
			l.lastPos = binary.BigEndian.Uint64(k)
		}
		meta := tx.Bucket(bucketMeta)
		if v := meta.Get(metaIncarnation); len(v) == 8 {
			l.inc = binary.BigEndian.Uint64(v)
		} else {
			// a store made before incarnations keeps incarnation 0 and
			// its numbering; an empty one starts a new incarnation
			if l.lastPos == 0 {
				l.inc, l.fresh = NewIncarnation(time.Now()), true
			}
			if err := meta.Put(metaIncarnation, u64(l.inc)); err != nil {
				return err
			}
		}
		if err := migrateMarks(tx); err != nil {
			return err
		}
		l.lastSeq = l.inc
		if v := tx.Bucket(bucketHWM).Get(markKey(origin, l.inc)); v != nil {
			l.lastSeq = binary.BigEndian.Uint64(v)
		}
		return nil
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("init event log %s: %w", path, err)
	}
	if err := l.indexSeqs(); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("index event log %s: %w", path, err)
	}
	return l, nil
}

// Incarnation is this store's incarnation (0: made before incarnations).
func (l *Log) Incarnation() uint64 { return l.inc }

// Fresh reports whether this open created the store: this node is a new
// incarnation of its origin.
func (l *Log) Fresh() bool { return l.fresh }

// Close closes the store.
func (l *Log) Close() error { return l.db.Close() }

// Origin is this node's ID.
func (l *Log) Origin() string { return l.origin }

// Append stores one of this node's events durably.
func (l *Log) Append(e Event) (Event, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e.Origin = l.origin
	e.Inc = l.inc
	if e.Time.IsZero() {
		e.Time = l.now()
	}
	e.Time = e.Time.UTC()
	e.Seq = l.lastSeq + 1
	e.Pos = l.lastPos + 1
	e.Path = []string{l.origin}
	b, err := json.Marshal(e)
	if err != nil {
		return e, fmt.Errorf("encode event %s: %w", e.Kind, err)
	}
	err = l.db.Update(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucketEvents).Put(u64(e.Pos), b); err != nil {
			return err
		}
		if err := tx.Bucket(bucketSeqPos).Put(seqPosKey(l.origin, e.Inc, e.Seq), u64(e.Pos)); err != nil {
			return err
		}
		return tx.Bucket(bucketHWM).Put(markKey(l.origin, l.inc), u64(e.Seq))
	})
	if err != nil {
		return e, fmt.Errorf("store event %s: %w", e.Kind, err)
	}
	l.lastPos, l.lastSeq = e.Pos, e.Seq
	if Urgent(e) {
		l.notifyUrgent(e)
	}
	if l.logger != nil {
		l.logger.Info("event", "id", e.ID(), "kind", e.Kind, "camera", e.Camera,
			"severity", string(e.Severity), "payload", string(e.Payload))
	}
	l.notify(e)
	return e, nil
}

// Ingest stores events received from another node, in one durable commit,
// strictly in order: an event is stored only when it is the next of its
// origin's incarnation (Seq one above what is held). One at or below is a
// replay and is skipped, which makes redelivery harmless; one above is a
// gap, and neither it nor any later event of that incarnation in the batch
// is stored: the sender must send what is missing first. via is appended
// to each stored event's path. It returns the events stored.
func (l *Log) Ingest(events []Event, via string) ([]Event, error) {
	stored, _, err := l.IngestOrdered(events, via)
	return stored, err
}

// IngestOrdered is Ingest that also returns, for each incarnation whose
// events in the batch did not follow on from what is held, the mark held.
func (l *Log) IngestOrdered(events []Event, via string) (stored []Event, gaps []Mark, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var firstSeen []Event
	pos := l.lastPos
	err = l.db.Update(func(tx *bolt.Tx) error {
		stored, firstSeen, gaps = stored[:0], firstSeen[:0], gaps[:0]
		pos = l.lastPos
		hwm := tx.Bucket(bucketHWM)
		marks := map[string]uint64{}
		blocked := map[string]bool{}
		for _, e := range events {
			if e.Origin == "" || e.Seq == 0 {
				return fmt.Errorf("event without origin or seq from %s", via)
			}
			if e.Seq <= e.Inc {
				return fmt.Errorf("event %s from %s: seq %d is not above its incarnation %d", e.ID(), via, e.Seq, e.Inc)
			}
			if e.Origin == l.origin {
				continue // our own event coming back: never store it twice
			}
			key := string(markKey(e.Origin, e.Inc))
			if blocked[key] {
				continue
			}
			mark, ok := marks[key]
			if !ok {
				mark = e.Inc
				if v := hwm.Get([]byte(key)); v != nil {
					mark = binary.BigEndian.Uint64(v)
				}
				marks[key] = mark
			}
			if e.Seq <= mark {
				continue
			}
			if e.Seq > mark+1 {
				blocked[key] = true
				gaps = append(gaps, Mark{Origin: e.Origin, Inc: e.Inc, Seq: mark})
				continue
			}
			pos++
			e.Pos = pos
			if len(e.Path) == 0 || e.Path[len(e.Path)-1] != via {
				e.Path = append(slices.Clone(e.Path), via)
			}
			e.Path = append(e.Path, l.origin)
			b, err := json.Marshal(e)
			if err != nil {
				return fmt.Errorf("encode event %s: %w", e.ID(), err)
			}
			if err := tx.Bucket(bucketEvents).Put(u64(pos), b); err != nil {
				return err
			}
			if err := tx.Bucket(bucketSeqPos).Put(seqPosKey(e.Origin, e.Inc, e.Seq), u64(pos)); err != nil {
				return err
			}
			if Urgent(e) {
				// the ordered copy is here: the early one is no longer needed
				ub := tx.Bucket(bucketUrgent)
				if ub.Get([]byte(e.ID())) != nil {
					if err := ub.Delete([]byte(e.ID())); err != nil {
						return err
					}
				} else {
					firstSeen = append(firstSeen, e)
				}
			}
			marks[key] = e.Seq
			stored = append(stored, e)
		}
		for key, m := range marks {
			if err := hwm.Put([]byte(key), u64(m)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("ingest %d events from %s: %w", len(events), via, err)
	}
	l.lastPos = pos
	for _, e := range stored {
		l.notify(e)
	}
	for _, e := range firstSeen {
		// urgent, and it came in order first: pass it on ahead from here
		l.notifyUrgent(e)
	}
	return stored, gaps, nil
}

// Urgent reports whether e must overtake ordinary traffic on its way up:
// grave and medium alarms (UA-3.19, NVMS-7.1).
func Urgent(e Event) bool {
	return (e.Kind == KindAlarmRaised || e.Kind == KindAlarmCleared) &&
		(e.Severity == SeverityGrave || e.Severity == SeverityMedium)
}

// StoreUrgent keeps an urgent event that arrived ahead of its origin's
// ordered stream. It reports false when the event is already known, in
// order or ahead. The ordered copy still arrives later through Ingest.
func (l *Log) StoreUrgent(e Event, via string) (bool, error) {
	if e.Origin == "" || e.Seq == 0 || e.Seq <= e.Inc {
		return false, fmt.Errorf("urgent event without origin or seq from %s", via)
	}
	if e.Origin == l.origin {
		return false, nil
	}
	key := []byte(e.ID())
	stored := false
	err := l.db.Update(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketHWM).Get(markKey(e.Origin, e.Inc)); v != nil && binary.BigEndian.Uint64(v) >= e.Seq {
			return nil
		}
		b := tx.Bucket(bucketUrgent)
		if b.Get(key) != nil {
			return nil
		}
		e.Path = append(slices.Clone(e.Path), l.origin)
		e.Pos = 0
		raw, err := json.Marshal(e)
		if err != nil {
			return err
		}
		stored = true
		return b.Put(key, raw)
	})
	if err != nil || !stored {
		return false, err
	}
	l.notifyUrgent(e)
	return true, nil
}

// notifyUrgent announces an urgent event. Urgent events are few, so their
// watchers' buffers do not fill behind bulk traffic.
func (l *Log) notifyUrgent(e Event) {
	l.subMu.Lock()
	defer l.subMu.Unlock()
	for ch := range l.urgent {
		select {
		case ch <- e:
		default:
		}
	}
}

// UrgentEvents lists urgent events received ahead of their ordered copy.
func (l *Log) UrgentEvents() ([]Event, error) {
	var out []Event
	err := l.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketUrgent).ForEach(func(_, v []byte) error {
			var e Event
			if err := json.Unmarshal(v, &e); err != nil {
				return err
			}
			out = append(out, e)
			return nil
		})
	})
	return out, err
}

// WatchUrgent delivers urgent events (see Urgent) as this node raises
// them and as they first arrive from children — ahead of order or in it —
// so a link can pass them on at once.
func (l *Log) WatchUrgent(buffer int) (<-chan Event, func()) {
	ch := make(chan Event, buffer)
	l.subMu.Lock()
	l.urgent[ch] = struct{}{}
	l.subMu.Unlock()
	return ch, func() {
		l.subMu.Lock()
		delete(l.urgent, ch)
		l.subMu.Unlock()
	}
}

func (l *Log) notify(e Event) {
	l.subMu.Lock()
	defer l.subMu.Unlock()
	for ch := range l.subs {
		select {
		case ch <- e:
		default: // a slow watcher misses live events; it can re-read the log
		}
	}
}

// Last returns the highest local position.
func (l *Log) Last() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lastPos
}

// HighWater returns the highest Seq stored for origin, over all its
// incarnations.
func (l *Log) HighWater(origin string) (uint64, error) {
	var m uint64
	err := l.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketHWM).Cursor()
		prefix := append([]byte(origin), 0)
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			if o, _, ok := parseMarkKey(k); ok && o == origin {
				m = max(m, binary.BigEndian.Uint64(v))
			}
		}
		return nil
	})
	return m, err
}

// Range returns up to limit events with local position > after, in order.
func (l *Log) Range(after uint64, limit int) ([]Event, error) {
	var out []Event
	err := l.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketEvents).Cursor()
		for k, v := c.Seek(u64(after + 1)); k != nil && (limit <= 0 || len(out) < limit); k, v = c.Next() {
			var e Event
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("decode event at %d: %w", binary.BigEndian.Uint64(k), err)
			}
			e.Pos = binary.BigEndian.Uint64(k)
			out = append(out, e)
		}
		return nil
	})
	return out, err
}

// Cursor returns how far sink name has durably received the log.
func (l *Log) Cursor(name string) (uint64, error) {
	var pos uint64
	err := l.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketCursors).Get([]byte(name)); v != nil {
			pos = binary.BigEndian.Uint64(v)
		}
		return nil
	})
	return pos, err
}

// SetCursor records durably that sink name holds everything up to pos.
func (l *Log) SetCursor(name string, pos uint64) error {
	return l.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketCursors).Put([]byte(name), u64(pos))
	})
}

// Watch delivers events stored from now on until cancel is called.
func (l *Log) Watch(buffer int) (<-chan Event, func()) {
	ch := make(chan Event, buffer)
	l.subMu.Lock()
	l.subs[ch] = struct{}{}
	l.subMu.Unlock()
	return ch, func() {
		l.subMu.Lock()
		delete(l.subs, ch)
		l.subMu.Unlock()
	}
}

func u64(s uint64) []byte {
	var k [8]byte
	binary.BigEndian.PutUint64(k[:], s)
	return k[:]
}

// Search walks the log from the newest event back and returns up to limit
// events that match, newest first. It reads every event it passes: fine
// for operator queries over a node's log, not for high rates.
func (l *Log) Search(limit int, match func(Event) bool) ([]Event, error) {
	var out []Event
	err := l.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketEvents).Cursor()
		for k, v := c.Last(); k != nil && (limit <= 0 || len(out) < limit); k, v = c.Prev() {
			var e Event
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("decode event at %d: %w", binary.BigEndian.Uint64(k), err)
			}
			e.Pos = binary.BigEndian.Uint64(k)
			if match(e) {
				out = append(out, e)
			}
		}
		return nil
	})
	return out, err
}

// Get returns the events at the given local positions, in the order
// asked; positions not in the log are skipped.
func (l *Log) Get(pos ...uint64) ([]Event, error) {
	out := make([]Event, 0, len(pos))
	err := l.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketEvents)
		for _, p := range pos {
			v := b.Get(u64(p))
			if v == nil {
				continue
			}
			var e Event
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("decode event at %d: %w", p, err)
			}
			e.Pos = p
			out = append(out, e)
		}
		return nil
	})
	return out, err
}
