package checkpoint

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/kuzet/kuzet/event"
)

var (
	bucketVisits    = []byte("visits")    // visit ID -> Visit
	bucketByTime    = []byte("by_time")   // opened (unix ns) visit ID -> nil
	bucketByPlate   = []byte("by_plate")  // plate \0 visit ID -> nil
	bucketOpen      = []byte("open")      // visit ID -> nil
	bucketSightings = []byte("sightings") // sighting event ID -> visit ID
	bucketMeta      = []byte("meta")
	bucketAlarms    = []byte("alarms")   // alarm key -> nil: raised by this node's checks (dwell: not cleared yet)
	bucketTokens    = []byte("tokens")   // site \0 token -> Token
	bucketCases     = []byte("cases")    // case ID -> Case
	bucketPending   = []byte("pending")  // site \0 zone \0 time token -> TokenStep: presented, waiting for plates
	bucketBarriers  = []byte("barriers") // site \0 barrier -> BarrierState
	keyPos          = []byte("pos")      // last log position indexed
	allBuckets      = [][]byte{bucketVisits, bucketByTime, bucketByPlate, bucketOpen, bucketSightings, bucketMeta, bucketAlarms,
		bucketTokens, bucketCases, bucketPending, bucketBarriers}
)

// Index is the bbolt visit index every node keeps: the visit events of its
// log, its own and its subtree's. It keeps its own position in the log, so
// it is rebuilt from the log if its file is lost.
type Index struct {
	db *bolt.DB
}

// OpenIndex opens or creates the index file.
func OpenIndex(path string) (*Index, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("open visit index %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open visit index %s: %w", path, err)
	}
	return &Index{db: db}, nil
}

// Close closes the file.
func (x *Index) Close() error { return x.db.Close() }

// position is how far into the log the index reaches.
func (x *Index) position() (uint64, error) {
	var p uint64
	err := x.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketMeta).Get(keyPos); len(v) == 8 {
			p = binary.BigEndian.Uint64(v)
		}
		return nil
	})
	return p, err
}

// Follow indexes the log's visit events until ctx ends.
func (x *Index) Follow(ctx context.Context, log *event.Log, logger *slog.Logger) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	log.Hold("visit index", x.position)
	log.Follow(ctx, func() (int, error) { return x.catchUp(log) },
		func(err error) { logger.Error("visit index", "err", err) })
}

// Sync indexes the log up to its end now.
func (x *Index) Sync(log *event.Log) error {
	for {
		n, err := x.catchUp(log)
		if err != nil || n == 0 {
			return err
		}
	}
}

// catchUp indexes the next batch; the position moves in the same
// transaction, so no event is indexed twice.
func (x *Index) catchUp(log *event.Log) (int, error) {
	n := 0
	err := x.db.Update(func(tx *bolt.Tx) error {
		var pos uint64
		if v := tx.Bucket(bucketMeta).Get(keyPos); len(v) == 8 {
			pos = binary.BigEndian.Uint64(v)
		}
		batch, err := log.Range(pos, 512)
		if err != nil || len(batch) == 0 {
			return err
		}
		n = len(batch)
		for _, e := range batch {
			switch e.Kind {
			case KindVisitOpened, KindVisitPassage, KindVisitClosed:
				var st Step
				if json.Unmarshal(e.Payload, &st) != nil || st.Visit == "" {
					continue // not one of ours: nothing to index
				}
				if !strings.HasPrefix(st.Visit, e.Origin+"/") {
					// a visit is named for its first sighting, an event
					// of the node that tracks it: no node speaks for
					// another's visits
					continue
				}
				if err := apply(tx, e, st); err != nil {
					return err
				}
			case event.KindAlarmRaised, event.KindAlarmCleared:
				if e.Origin == log.Origin() {
					if err := applyAlarm(tx, e); err != nil {
						return err
					}
				}
			default:
				if err := applyPass(tx, e); err != nil {
					return err
				}
			}
			pos = e.Pos
		}
		return tx.Bucket(bucketMeta).Put(keyPos, u64(pos))
	})
	return n, err
}

// apply files one visit event.
func apply(tx *bolt.Tx, e event.Event, st Step) error {
	visits := tx.Bucket(bucketVisits)
	var v Visit
	fresh := true
	if b := visits.Get([]byte(st.Visit)); b != nil {
		if err := json.Unmarshal(b, &v); err != nil {
			return fmt.Errorf("visit %s: %w", st.Visit, err)
		}
		fresh = false
	}
	if fresh {
		// an opening, or a later step whose opening is not here
		v = Visit{ID: st.Visit, Site: e.Origin, Opened: st.Time, EntrySeen: e.Kind == KindVisitOpened && st.EntrySeen}
		if err := tx.Bucket(bucketByTime).Put(timeKey(st.Time, st.Visit), nil); err != nil {
			return err
		}
		if err := tx.Bucket(bucketOpen).Put([]byte(st.Visit), nil); err != nil {
			return err
		}
	}
	p := Passage{Zone: st.Zone, ZoneKind: st.ZoneKind, Camera: st.Camera, Sighting: st.Sighting,
		Tractor: st.Tractor, Trailer: st.Trailer, Time: st.Time, Event: e.ID()}
	last := len(v.Passages) - 1
	if st.Reason == "" && (last < 0 || v.Passages[last].Sighting != st.Sighting) {
		v.Passages = append(v.Passages, p)
		for _, plate := range st.plates() {
			if err := tx.Bucket(bucketByPlate).Put(plateKey(plate, st.Visit), nil); err != nil {
				return err
			}
		}
		if v.Tractor == "" {
			v.Tractor = st.Tractor
		}
		if v.Trailer == "" {
			v.Trailer = st.Trailer
		}
	}
	if e.Kind == KindVisitClosed && v.Closed == nil {
		t := st.Time
		v.Closed, v.Reason = &t, st.Reason
		if err := tx.Bucket(bucketOpen).Delete([]byte(st.Visit)); err != nil {
			return err
		}
	}
	if st.Sighting != "" && st.Reason == "" {
		if err := tx.Bucket(bucketSightings).Put([]byte(st.Sighting), []byte(st.Visit)); err != nil {
			return err
		}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return visits.Put([]byte(st.Visit), b)
}

// Handled reports whether a sighting is part of a visit already.
func (x *Index) Handled(sighting string) (bool, error) {
	var ok bool
	err := x.db.View(func(tx *bolt.Tx) error {
		ok = tx.Bucket(bucketSightings).Get([]byte(sighting)) != nil
		return nil
	})
	return ok, err
}

// OpenVisits returns the open visits that site tracked.
func (x *Index) OpenVisits(site string) ([]Visit, error) {
	var out []Visit
	err := x.db.View(func(tx *bolt.Tx) error {
		visits := tx.Bucket(bucketVisits)
		return tx.Bucket(bucketOpen).ForEach(func(k, _ []byte) error {
			var v Visit
			if err := json.Unmarshal(visits.Get(k), &v); err != nil {
				return fmt.Errorf("visit %s: %w", k, err)
			}
			if v.Site == site {
				out = append(out, v)
			}
			return nil
		})
	})
	return out, err
}

// Query selects visits; the zero value is every visit.
type Query struct {
	Site  string
	Zone  string // a passage at this zone
	Plate string // its tractor's or trailer's plate
	State string // "" | open | closed
	// From and To: visits on the site at some time in [From, To).
	From, To time.Time
	Limit    int // 0: 100
}

func (q Query) match(v Visit) bool {
	switch {
	case q.Site != "" && v.Site != q.Site,
		q.State == "open" && !v.Open(),
		q.State == "closed" && v.Open(),
		!q.To.IsZero() && !v.Opened.Before(q.To),
		!q.From.IsZero() && v.Closed != nil && v.Closed.Before(q.From):
		return false
	}
	if q.Zone != "" {
		for _, p := range v.Passages {
			if p.Zone == q.Zone {
				return true
			}
		}
		return false
	}
	return true
}

// Find returns the visits that match q, newest opening first.
func (x *Index) Find(q Query) ([]Visit, error) {
	if q.Limit <= 0 {
		q.Limit = 100
	}
	var out []Visit
	err := x.db.View(func(tx *bolt.Tx) error {
		visits := tx.Bucket(bucketVisits)
		load := func(id []byte) error {
			var v Visit
			if err := json.Unmarshal(visits.Get(id), &v); err != nil {
				return fmt.Errorf("visit %s: %w", id, err)
			}
			if q.match(v) {
				out = append(out, v)
			}
			return nil
		}
		if q.Plate != "" {
			prefix := plateKey(q.Plate, "")
			c := tx.Bucket(bucketByPlate).Cursor()
			for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
				if err := load(k[len(prefix):]); err != nil {
					return err
				}
			}
			sort.Slice(out, func(i, j int) bool { return out[i].Opened.After(out[j].Opened) })
			if len(out) > q.Limit {
				out = out[:q.Limit]
			}
			return nil
		}
		c := tx.Bucket(bucketByTime).Cursor()
		for k, _ := c.Last(); k != nil && len(out) < q.Limit; k, _ = c.Prev() {
			if err := load(k[8:]); err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}

// raisedAlarms are the alarms of one type this node raised (and, for
// dwell, has not cleared).
func (x *Index) raisedAlarms(typ string) (map[string]bool, error) {
	out := map[string]bool{}
	prefix := []byte(typ + ":")
	err := x.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketAlarms).Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			out[string(k)] = true
		}
		return nil
	})
	return out, err
}

// raised reports whether the alarm key is recorded as raised.
func (x *Index) raised(key string) (bool, error) {
	var ok bool
	err := x.db.View(func(tx *bolt.Tx) error {
		ok = tx.Bucket(bucketAlarms).Get([]byte(key)) != nil
		return nil
	})
	return ok, err
}

// markAlarm records that an alarm is (raised) or is no longer (cleared)
// standing, before the event says so.
func (x *Index) markAlarm(key string, raised bool) error {
	return x.db.Update(func(tx *bolt.Tx) error {
		if raised {
			return tx.Bucket(bucketAlarms).Put([]byte(key), nil)
		}
		return tx.Bucket(bucketAlarms).Delete([]byte(key))
	})
}

// longestVisit bounds how long before a range a visit that reaches into
// it may have opened: Began looks no further back.
const longestVisit = 7 * 24 * time.Hour

// Began returns the visits (of site, if given) opened in [from-7 days,
// to): every visit with a stay that began in [from, to), unless it had
// been on the site for over a week by then.
func (x *Index) Began(site string, from, to time.Time) ([]Visit, error) {
	var out []Visit
	err := x.db.View(func(tx *bolt.Tx) error {
		visits := tx.Bucket(bucketVisits)
		c := tx.Bucket(bucketByTime).Cursor()
		stop := from.Add(-longestVisit).UnixNano()
		k, _ := c.Seek(u64(uint64(to.UnixNano())))
		if k == nil {
			k, _ = c.Last()
		}
		for ; k != nil; k, _ = c.Prev() {
			at := int64(binary.BigEndian.Uint64(k[:8]))
			if at >= to.UnixNano() {
				continue
			}
			if at < stop {
				break
			}
			var v Visit
			if err := json.Unmarshal(visits.Get(k[8:]), &v); err != nil {
				return fmt.Errorf("visit %s: %w", k[8:], err)
			}
			if site == "" || v.Site == site {
				out = append(out, v)
			}
		}
		return nil
	})
	return out, err
}

func timeKey(t time.Time, id string) []byte {
	return append(u64(uint64(t.UnixNano())), id...)
}

func plateKey(plate, id string) []byte {
	return append(append([]byte(plate), 0), id...)
}

func u64(v uint64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], v)
	return b[:]
}
