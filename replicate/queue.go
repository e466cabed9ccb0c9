package replicate

import (
	"encoding/json"
	"fmt"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Fetch is a segment file a parent still has to pull from a child.
type Fetch struct {
	Child  string    `json:"child"`  // the direct child that serves it
	Origin string    `json:"origin"` // the node that recorded it
	Camera string    `json:"camera"`
	Start  time.Time `json:"start"`
	End    time.Time `json:"end"`
	Path   string    `json:"path"` // in the origin's archive layout
	Bytes  int64     `json:"bytes"`
	SHA256 string    `json:"sha256"`
	Tries  int       `json:"tries,omitempty"`
	// Urgent fetches were asked for by an operator and go first.
	Urgent bool `json:"urgent,omitempty"`
}

// Key identifies a fetch within its child's queue.
func (f Fetch) Key() string { return f.Origin + "/" + f.Path }

var bucketFetch = []byte("fetch") // child -> origin/path -> Fetch

// Queue is the durable list of fetches, per child, oldest first.
type Queue struct {
	db *bolt.DB

	mu    sync.Mutex
	wakes map[string]chan struct{}
}

// OpenQueue opens or creates the queue file.
func OpenQueue(path string) (*Queue, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("open fetch queue %s: %w", path, err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketFetch, bucketKnown, bucketRefs} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		_ = db.Close()
		return nil, err
	}
	return &Queue{db: db, wakes: map[string]chan struct{}{}}, nil
}

// Close closes the file.
func (q *Queue) Close() error { return q.db.Close() }

// Add enqueues fetches durably; ones already queued are left as they are,
// except that an urgent request makes a queued fetch urgent.
func (q *Queue) Add(fs ...Fetch) error {
	if len(fs) == 0 {
		return nil
	}
	err := q.db.Update(func(tx *bolt.Tx) error {
		for _, f := range fs {
			b, err := tx.Bucket(bucketFetch).CreateBucketIfNotExists([]byte(f.Child))
			if err != nil {
				return err
			}
			if old := b.Get([]byte(f.Key())); old != nil {
				var was Fetch
				if !f.Urgent || (json.Unmarshal(old, &was) == nil && was.Urgent) {
					continue
				}
			}
			raw, err := json.Marshal(f)
			if err != nil {
				return err
			}
			if err := b.Put([]byte(f.Key()), raw); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("enqueue fetch: %w", err)
	}
	for _, f := range fs {
		q.wake(f.Child)
	}
	return nil
}

// Next returns the child's oldest queued fetch (by start time), if any.
func (q *Queue) Next(child string) (Fetch, bool, error) {
	var best Fetch
	found := false
	err := q.each(child, func(f Fetch) {
		// urgent first, then fewer failures, then oldest: one bad file never
		// blocks the rest
		if !found || f.before(best) {
			best, found = f, true
		}
	})
	return best, found, err
}

func (f Fetch) before(o Fetch) bool {
	if f.Urgent != o.Urgent {
		return f.Urgent
	}
	if f.Tries != o.Tries {
		return f.Tries < o.Tries
	}
	return f.Start.Before(o.Start)
}

// Done removes a completed fetch.
func (q *Queue) Done(f Fetch) error {
	return q.db.Update(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bucketFetch).Bucket([]byte(f.Child)); b != nil {
			return b.Delete([]byte(f.Key()))
		}
		return nil
	})
}

// Failed counts a failed attempt so other fetches go first.
func (q *Queue) Failed(f Fetch) error {
	f.Tries++
	return q.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketFetch).Bucket([]byte(f.Child))
		if b == nil || b.Get([]byte(f.Key())) == nil {
			return nil
		}
		raw, err := json.Marshal(f)
		if err != nil {
			return err
		}
		return b.Put([]byte(f.Key()), raw)
	})
}

// Len counts the child's queued fetches and their bytes.
func (q *Queue) Len(child string) (n int, bytes int64, err error) {
	err = q.each(child, func(f Fetch) {
		n++
		bytes += f.Bytes
	})
	return n, bytes, err
}

// Backlog is what waits in the queue for one origin.
type Backlog struct {
	Segments int       `json:"segments"`
	Bytes    int64     `json:"bytes"`
	Oldest   time.Time `json:"oldest,omitzero"` // start of the oldest segment waiting
}

// Backlogs sums the queued fetches by origin, over every child link.
func (q *Queue) Backlogs() (map[string]Backlog, error) {
	out := map[string]Backlog{}
	err := q.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketFetch).ForEachBucket(func(child []byte) error {
			return tx.Bucket(bucketFetch).Bucket(child).ForEach(func(_, v []byte) error {
				var f Fetch
				if err := json.Unmarshal(v, &f); err != nil {
					return fmt.Errorf("decode queued fetch of %s: %w", child, err)
				}
				b := out[f.Origin]
				b.Segments++
				b.Bytes += f.Bytes
				if b.Oldest.IsZero() || f.Start.Before(b.Oldest) {
					b.Oldest = f.Start
				}
				out[f.Origin] = b
				return nil
			})
		})
	})
	return out, err
}

// each visits the child's queued fetches.
func (q *Queue) each(child string, visit func(Fetch)) error {
	return q.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketFetch).Bucket([]byte(child))
		if b == nil {
			return nil
		}
		return b.ForEach(func(_, v []byte) error {
			var f Fetch
			if err := json.Unmarshal(v, &f); err != nil {
				return fmt.Errorf("decode queued fetch of %s: %w", child, err)
			}
			visit(f)
			return nil
		})
	})
}

// Wake returns a channel signalled when the child's queue grows.
func (q *Queue) Wake(child string) <-chan struct{} { return q.wakeChan(child) }

func (q *Queue) wakeChan(child string) chan struct{} {
	q.mu.Lock()
	defer q.mu.Unlock()
	ch, ok := q.wakes[child]
	if !ok {
		ch = make(chan struct{}, 1)
		q.wakes[child] = ch
	}
	return ch
}

func (q *Queue) wake(child string) {
	select {
	case q.wakeChan(child) <- struct{}{}:
	default:
	}
}
