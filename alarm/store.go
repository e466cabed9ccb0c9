package alarm

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/kuzet/kuzet/event"
)

var (
	bucketAlarms  = []byte("alarms")  // alarm ID -> Alarm
	bucketLatest  = []byte("latest")  // origin NUL key -> ID of the key's newest alarm
	bucketPending = []byte("pending") // origin NUL key -> held raise
	bucketMeta    = []byte("meta")    // cursor, webhook state
	bucketOutbox  = []byte("outbox")  // sequence -> Change waiting for the webhook
	// alarm ID NUL log position -> an ack, clear or escalation that came
	// before its alarm (an operator acting on an alarm that overtook its
	// origin's backlog)
	bucketDeferred = []byte("deferred")
	// log position of an act here -> RemoteAct waiting to reach its
	// alarm's origin
	bucketDown = []byte("down")
	// ID of an ancestor's act applied here -> nothing
	bucketApplied = []byte("applied")

	metaCursor  = []byte("cursor")          // log position applied
	metaFailing = []byte("webhook_failing") // 1 while alarm_webhook_failing is raised
)

// held is a raise kept back by the suppression window, as tables written
// before re-opening may still hold; they are promoted or dropped
// as they were then, and no new ones are made.
type held struct {
	Raise    event.Event `json:"raise"`
	Until    time.Time   `json:"until"` // the window ends
	Count    int         `json:"count"`
	LastSeen time.Time   `json:"last_seen"`
	Message  string      `json:"message"`
}

func originKey(origin, key string) string { return origin + "\x00" + key }

func u64(v uint64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], v)
	return b[:]
}

// load reads the whole table into memory.
func (m *Manager) load() error {
	return m.db.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketAlarms, bucketLatest, bucketPending, bucketMeta, bucketOutbox, bucketDeferred, bucketDown, bucketApplied} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		if v := tx.Bucket(bucketMeta).Get(metaCursor); len(v) == 8 {
			m.cursor = binary.BigEndian.Uint64(v)
		}
		if v := tx.Bucket(bucketMeta).Get(metaFailing); len(v) == 1 {
			m.failing = v[0] == 1
		}
		err := tx.Bucket(bucketAlarms).ForEach(func(k, v []byte) error {
			var a Alarm
			if err := json.Unmarshal(v, &a); err != nil {
				return fmt.Errorf("decode alarm %q: %w", k, err)
			}
			m.alarms[a.ID] = &a
			return nil
		})
		if err != nil {
			return err
		}
		err = tx.Bucket(bucketLatest).ForEach(func(k, v []byte) error {
			m.latest[string(k)] = string(v)
			return nil
		})
		if err != nil {
			return err
		}
		err = tx.Bucket(bucketPending).ForEach(func(k, v []byte) error {
			var h held
			if err := json.Unmarshal(v, &h); err != nil {
				return fmt.Errorf("decode held raise %q: %w", k, err)
			}
			m.pending[string(k)] = &h
			return nil
		})
		if err != nil {
			return err
		}
		// keys sort by position within an alarm, so order is kept
		return tx.Bucket(bucketDeferred).ForEach(func(k, v []byte) error {
			id, _, _ := strings.Cut(string(k), "\x00")
			var e event.Event
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("decode deferred event %q: %w", k, err)
			}
			m.deferred[id] = append(m.deferred[id], e)
			return nil
		})
	})
}

// txn collects the effects of a batch of events (or of a timer pass) so
// that they reach the file in one commit, cursor included, and memory only
// after that commit: a crash or a failed write applies nothing twice and
// loses nothing.
type txn struct {
	m        *Manager
	alarms   map[string]*Alarm
	latest   map[string]string
	pending  map[string]*held         // nil: deleted
	deleted  map[string]bool          // alarms pruned
	deferred map[string][]event.Event // added, by alarm ID
	undefer  map[string]bool          // deferred events applied or pruned, by alarm ID
	changes  []Change
	down     []downAct
	applied  []string
	outcomes map[uint64]Outcome
	cursor   uint64
}

func (m *Manager) newTxn() *txn {
	return &txn{m: m, alarms: map[string]*Alarm{}, latest: map[string]string{},
		pending: map[string]*held{}, deleted: map[string]bool{}, outcomes: map[uint64]Outcome{}, cursor: m.cursor,
		deferred: map[string][]event.Event{}, undefer: map[string]bool{}}
}

// get returns a copy of an alarm to change, or nil.
func (t *txn) get(id string) *Alarm {
	if t.deleted[id] {
		return nil
	}
	if a, ok := t.alarms[id]; ok {
		return a
	}
	if a, ok := t.m.alarms[id]; ok {
		c := *a
		t.alarms[id] = &c
		return &c
	}
	return nil
}

func (t *txn) put(a *Alarm) { t.alarms[a.ID] = a }

func (t *txn) latestOf(k string) *Alarm {
	id, ok := t.latest[k]
	if !ok {
		id = t.m.latest[k]
	}
	if id == "" {
		return nil
	}
	return t.get(id)
}

func (t *txn) heldOf(k string) *held {
	if h, ok := t.pending[k]; ok {
		return h
	}
	if h, ok := t.m.pending[k]; ok {
		c := *h
		t.pending[k] = &c
		return &c
	}
	return nil
}

// deferredFor returns the events waiting for alarm id, in log order.
func (t *txn) deferredFor(id string) []event.Event {
	if t.undefer[id] {
		return t.deferred[id]
	}
	return append(append([]event.Event(nil), t.m.deferred[id]...), t.deferred[id]...)
}

func (t *txn) change(kind string, a *Alarm, at time.Time) {
	id := a.ID + "/" + kind
	switch {
	case kind == ChangeEscalated:
		id = fmt.Sprintf("%s/%d", id, a.Escalations)
	case (kind == ChangeRaised || kind == ChangeCleared) && a.Suppressed > 0:
		// a re-opened alarm is raised and cleared again: each time is a
		// change of its own
		id = fmt.Sprintf("%s/%d", id, a.Suppressed)
	}
	t.changes = append(t.changes, Change{ID: id, Change: kind, Time: at.UTC(), Node: t.m.node, Alarm: *a})
}

func (t *txn) empty() bool {
	return len(t.alarms) == 0 && len(t.latest) == 0 && len(t.pending) == 0 && len(t.deleted) == 0 &&
		len(t.deferred) == 0 && len(t.undefer) == 0 && len(t.down) == 0 && len(t.applied) == 0 && t.cursor == t.m.cursor
}

// commit writes the batch durably, then makes it visible.
func (t *txn) commit() error {
	if t.empty() {
		return nil
	}
	m := t.m
	queue := m.o.Webhook.URL != ""
	err := m.db.Update(func(tx *bolt.Tx) error {
		ab, lb, pb := tx.Bucket(bucketAlarms), tx.Bucket(bucketLatest), tx.Bucket(bucketPending)
		for id, a := range t.alarms {
			if t.deleted[id] {
				continue
			}
			b, err := json.Marshal(a)
			if err != nil {
				return fmt.Errorf("encode alarm %s: %w", id, err)
			}
			if err := ab.Put([]byte(id), b); err != nil {
				return err
			}
		}
		for id := range t.deleted {
			if err := ab.Delete([]byte(id)); err != nil {
				return err
			}
		}
		for k, id := range t.latest {
			var err error
			if id == "" {
				err = lb.Delete([]byte(k))
			} else {
				err = lb.Put([]byte(k), []byte(id))
			}
			if err != nil {
				return err
			}
		}
		for k, h := range t.pending {
			if h == nil {
				if err := pb.Delete([]byte(k)); err != nil {
					return err
				}
				continue
			}
			b, err := json.Marshal(h)
			if err != nil {
				return fmt.Errorf("encode held raise: %w", err)
			}
			if err := pb.Put([]byte(k), b); err != nil {
				return err
			}
		}
		db := tx.Bucket(bucketDeferred)
		for id := range t.undefer {
			prefix := []byte(id + "\x00")
			c := db.Cursor()
			for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Seek(prefix) {
				if err := db.Delete(k); err != nil {
					return err
				}
			}
		}
		for id, evs := range t.deferred {
			for _, e := range evs {
				b, err := json.Marshal(e)
				if err != nil {
					return fmt.Errorf("encode deferred event %s: %w", e.ID(), err)
				}
				if err := db.Put(append([]byte(id+"\x00"), u64(e.Pos)...), b); err != nil {
					return err
				}
			}
		}
		for _, d := range t.down {
			b, err := json.Marshal(d.act)
			if err != nil {
				return fmt.Errorf("encode alarm act %s: %w", d.act.ID, err)
			}
			if err := tx.Bucket(bucketDown).Put(u64(d.pos), b); err != nil {
				return err
			}
		}
		for _, id := range t.applied {
			if err := tx.Bucket(bucketApplied).Put([]byte(id), []byte{}); err != nil {
				return err
			}
		}
		if queue {
			ob := tx.Bucket(bucketOutbox)
			for _, c := range t.changes {
				seq, err := ob.NextSequence()
				if err != nil {
					return err
				}
				b, err := json.Marshal(c)
				if err != nil {
					return fmt.Errorf("encode change %s: %w", c.ID, err)
				}
				if err := ob.Put(u64(seq), b); err != nil {
					return err
				}
			}
		}
		return tx.Bucket(bucketMeta).Put(metaCursor, u64(t.cursor))
	})
	if err != nil {
		return fmt.Errorf("store alarm table: %w", err)
	}
	for id, a := range t.alarms {
		if !t.deleted[id] {
			m.alarms[id] = a
		}
	}
	for id := range t.deleted {
		delete(m.alarms, id)
	}
	for k, id := range t.latest {
		if id == "" {
			delete(m.latest, k)
		} else {
			m.latest[k] = id
		}
	}
	for k, h := range t.pending {
		if h == nil {
			delete(m.pending, k)
		} else {
			m.pending[k] = h
		}
	}
	for id := range t.undefer {
		delete(m.deferred, id)
	}
	for id, evs := range t.deferred {
		m.deferred[id] = append(m.deferred[id], evs...)
	}
	m.cursor = t.cursor
	for _, c := range t.changes {
		m.metrics.changes.WithLabelValues(c.Change).Inc()
	}
	if queue && len(t.changes) > 0 {
		select {
		case m.outboxWake <- struct{}{}:
		default:
		}
	}
	if len(t.down) > 0 {
		select {
		case m.downWake <- struct{}{}:
		default:
		}
	}
	return nil
}
