package audit

import (
	"encoding/binary"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/kuzet/kuzet/event"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2025, 8, 18, 9, 0, 0, 123456789, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Second)
	return c.t
}

func openLog(t testing.TB, path, origin string) *event.Log {
	t.Helper()
	l, err := event.OpenLog(path, origin, nil)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func copyFile(t testing.TB, from string) string {
	t.Helper()
	to := filepath.Join(t.TempDir(), "events-copy.db")
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	return to
}

// rawEvent is how the test edits stored events behind the log's back.
type rawEvent struct {
	pos uint64
	m   map[string]any
}

func (r rawEvent) payload() map[string]any { return r.m["payload"].(map[string]any) }

func (r rawEvent) auditSeq() uint64 {
	if r.m["kind"] != Kind {
		return 0
	}
	return uint64(r.payload()["seq"].(float64))
}

func (r rawEvent) id() string {
	return r.m["origin"].(string) + "/" + itoa(uint64(r.m["seq"].(float64)))
}

func itoa(n uint64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// editDB opens the bbolt file directly and hands fn every stored event.
func editDB(t testing.TB, path string, fn func(b *bolt.Bucket, evs []rawEvent)) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("events"))
		var evs []rawEvent
		if err := b.ForEach(func(k, v []byte) error {
			r := rawEvent{pos: binary.BigEndian.Uint64(k)}
			if err := json.Unmarshal(v, &r.m); err != nil {
				return err
			}
			evs = append(evs, r)
			return nil
		}); err != nil {
			return err
		}
		fn(b, evs)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func byAuditSeq(t testing.TB, evs []rawEvent, seq uint64) rawEvent {
	t.Helper()
	for _, r := range evs {
		if r.auditSeq() == seq {
			return r
		}
	}
	t.Fatalf("no audit entry %d", seq)
	return rawEvent{}
}

func put(t testing.TB, b *bolt.Bucket, pos uint64, m map[string]any) {
	t.Helper()
	v, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var k [8]byte
	binary.BigEndian.PutUint64(k[:], pos)
	if err := b.Put(k[:], v); err != nil {
		t.Fatal(err)
	}
}

func jsonRoundTrip(m map[string]any) (event.Event, error) {
	var e event.Event
	b, err := json.Marshal(m)
	if err != nil {
		return e, err
	}
	err = json.Unmarshal(b, &e)
	return e, err
}
