package event

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

var bucketEvents = []byte("events")

// Log is the node's durable event log: a bbolt bucket keyed by Seq. Append
// returns only after the event is committed (bbolt fsyncs on commit).
type Log struct {
	db     *bolt.DB
	origin string
	now    func() time.Time
	logger *slog.Logger

	mu   sync.Mutex
	last uint64
	subs map[chan Event]struct{}
}

// OpenLog opens or creates the log at path for events originating at origin.
func OpenLog(path, origin string, logger *slog.Logger) (*Log, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("open event log %s: %w", path, err)
	}
	l := &Log{db: db, origin: origin, now: time.Now, logger: logger, subs: map[chan Event]struct{}{}}
	err = db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketEvents)
		if err != nil {
			return err
		}
		if k, _ := b.Cursor().Last(); k != nil {
			l.last = binary.BigEndian.Uint64(k)
		}
		return nil
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("init event log %s: %w", path, err)
	}
	return l, nil
}

// Close closes the store.
func (l *Log) Close() error { return l.db.Close() }

// Append stores e durably with the next sequence number.
func (l *Log) Append(e Event) (Event, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e.Origin == "" {
		e.Origin = l.origin
	}
	if e.Time.IsZero() {
		e.Time = l.now()
	}
	e.Time = e.Time.UTC()
	e.Seq = l.last + 1
	if len(e.Path) == 0 {
		e.Path = []string{l.origin}
	}
	b, err := json.Marshal(e)
	if err != nil {
		return e, fmt.Errorf("encode event %s: %w", e.Kind, err)
	}
	err = l.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketEvents).Put(seqKey(e.Seq), b)
	})
	if err != nil {
		return e, fmt.Errorf("store event %s: %w", e.Kind, err)
	}
	l.last = e.Seq
	if l.logger != nil {
		l.logger.Info("event", "id", e.ID(), "kind", e.Kind, "camera", e.Camera,
			"severity", string(e.Severity), "payload", string(e.Payload))
	}
	for ch := range l.subs {
		select {
		case ch <- e:
		default: // a slow watcher misses live events; it can re-read the log
		}
	}
	return e, nil
}

// Last returns the highest stored sequence number.
func (l *Log) Last() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.last
}

// Range returns up to limit events with Seq > after, in order.
func (l *Log) Range(after uint64, limit int) ([]Event, error) {
	var out []Event
	err := l.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketEvents).Cursor()
		for k, v := c.Seek(seqKey(after + 1)); k != nil && (limit <= 0 || len(out) < limit); k, v = c.Next() {
			var e Event
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("decode event %d: %w", binary.BigEndian.Uint64(k), err)
			}
			out = append(out, e)
		}
		return nil
	})
	return out, err
}

// Watch delivers events appended from now on until cancel is called.
func (l *Log) Watch(buffer int) (<-chan Event, func()) {
	ch := make(chan Event, buffer)
	l.mu.Lock()
	l.subs[ch] = struct{}{}
	l.mu.Unlock()
	return ch, func() {
		l.mu.Lock()
		delete(l.subs, ch)
		l.mu.Unlock()
	}
}

func seqKey(s uint64) []byte {
	var k [8]byte
	binary.BigEndian.PutUint64(k[:], s)
	return k[:]
}
