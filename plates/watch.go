package plates

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	bolt "go.etcd.io/bbolt"

	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/plates/platetext"
)

// A node's watch-list names plates its operators want to know of the
// moment one is read, by this node or anywhere below it. Its changes are
// events of the node's own log (durable before they are acknowledged,
// audited, and carried up the tree like any other); the index folds them
// in log order, so an entry matches the reads stored after it, and a read
// that matches leaves a hit that the node raises as a watchlist_hit
// alarm (agent). A node folds its own list only: a site's list travels up
// as events but does not become its centre's.

// Watch-list event kinds.
const (
	KindWatchSet     = "watchlist.set"
	KindWatchRemoved = "watchlist.removed"
)

// AlarmWatchHit is the alarm type of a watched plate read.
const AlarmWatchHit = "watchlist_hit"

// WatchEntry is one plate on the watch-list.
type WatchEntry struct {
	ID       string         `json:"id"`
	Plate    string         `json:"plate"` // normalised: letters and digits, upper case
	Match    string         `json:"match"` // exact | prefix | fuzzy (within one edit)
	Reason   string         `json:"reason"`
	Severity event.Severity `json:"severity"` // minor | medium | grave
	Expires  time.Time      `json:"expires,omitzero"`
	User     string         `json:"user,omitempty"`
	Added    time.Time      `json:"added"`
	// Hits counts the reads that matched; LastHit is the newest one's ID.
	Hits    int    `json:"hits"`
	LastHit string `json:"last_hit,omitempty"`
}

// WatchHit is a matched read waiting to be raised as an alarm.
type WatchHit struct {
	Entry  WatchEntry `json:"entry"`
	Read   string     `json:"read"` // the plate.read event ID
	Origin string     `json:"origin"`
	Camera string     `json:"camera"`
	Plate  string     `json:"plate"`
	Time   time.Time  `json:"time"`
}

var (
	bucketWatch     = []byte("watch")       // entry ID -> WatchEntry (this node's list)
	bucketWatchHits = []byte("watch_hits")  // pos \0 entry ID -> WatchHit, waiting to be raised
	keyWatchFrom    = []byte("watch_from")  // reads at or before this position raise nothing
	keyWatchSelf    = []byte("watch_owner") // the node whose list this is
)

// ErrWatchInvalid marks a watch-list entry that cannot be stored.
var ErrWatchInvalid = errors.New("invalid watch-list entry")

// CheckWatch normalises and checks an entry as an operator gives it.
func CheckWatch(e *WatchEntry) error {
	e.Plate = platetext.Normalize(strings.ToUpper(strings.TrimSpace(e.Plate)))
	e.Reason = strings.TrimSpace(e.Reason)
	switch {
	case len(e.Plate) < 2 || len(e.Plate) > 16:
		return fmt.Errorf("%w: plate: 2 to 16 letters and digits", ErrWatchInvalid)
	case e.Match == "":
		e.Match = "exact"
	}
	switch e.Match {
	case "exact", "prefix", "fuzzy":
	default:
		return fmt.Errorf("%w: match: %q must be exact, prefix or fuzzy", ErrWatchInvalid, e.Match)
	}
	if e.Match == "prefix" && len(e.Plate) < 3 {
		return fmt.Errorf("%w: plate: a prefix needs at least 3 characters", ErrWatchInvalid)
	}
	if e.Severity == "" {
		e.Severity = event.SeverityMedium
	}
	switch e.Severity {
	case event.SeverityMinor, event.SeverityMedium, event.SeverityGrave:
	default:
		return fmt.Errorf("%w: severity: %q must be minor, medium or grave", ErrWatchInvalid, e.Severity)
	}
	if e.Reason == "" || utf8.RuneCountInString(e.Reason) > 300 || !utf8.ValidString(e.Reason) {
		return fmt.Errorf("%w: reason: say why the plate is watched (at most 300 characters)", ErrWatchInvalid)
	}
	return nil
}

// Matches reports whether a read of plate at t is this entry's.
func (e WatchEntry) Matches(plate string, t time.Time) bool {
	if !e.Expires.IsZero() && !t.Before(e.Expires) {
		return false
	}
	p := platetext.Normalize(plate)
	switch e.Match {
	case "prefix":
		return strings.HasPrefix(p, e.Plate)
	case "fuzzy":
		return withinOneEdit(p, e.Plate)
	}
	return p == e.Plate
}

// SetOwner names the node whose watch-list this index keeps, and, the
// first time, where hits start: reads already in the log (last) are
// history and raise nothing, also when the index is rebuilt later.
func (x *Index) SetOwner(self string, last uint64) error {
	return x.db.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if err := meta.Put(keyWatchSelf, []byte(self)); err != nil {
			return err
		}
		if meta.Get(keyWatchFrom) == nil {
			return meta.Put(keyWatchFrom, binary.BigEndian.AppendUint64(nil, last))
		}
		return nil
	})
}

// Watchlist is the node's list, as folded from its log so far.
func (x *Index) Watchlist() ([]WatchEntry, error) {
	var out []WatchEntry
	err := x.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketWatch).ForEach(func(_, v []byte) error {
			var e WatchEntry
			if err := json.Unmarshal(v, &e); err != nil {
				return err
			}
			out = append(out, e)
			return nil
		})
	})
	return out, err
}

// WatchEntryOf is one entry of the list.
func (x *Index) WatchEntryOf(id string) (WatchEntry, bool, error) {
	var e WatchEntry
	var ok bool
	err := x.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketWatch).Get([]byte(id))
		if v == nil {
			return nil
		}
		ok = true
		return json.Unmarshal(v, &e)
	})
	return e, ok, err
}

// PendingHits lists the hits not raised yet, oldest first.
func (x *Index) PendingHits(limit int) ([]WatchHit, [][]byte, error) {
	var hits []WatchHit
	var keys [][]byte
	err := x.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketWatchHits).Cursor()
		for k, v := c.First(); k != nil && len(hits) < limit; k, v = c.Next() {
			var h WatchHit
			if err := json.Unmarshal(v, &h); err != nil {
				return err
			}
			hits = append(hits, h)
			keys = append(keys, bytes.Clone(k))
		}
		return nil
	})
	return hits, keys, err
}

// HitRaised drops a hit once its alarm is stored.
func (x *Index) HitRaised(key []byte) error {
	return x.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketWatchHits).Delete(key) })
}

// foldWatch applies a watch-list event of the list's owner.
func foldWatch(tx *bolt.Tx, e event.Event) error {
	owner := tx.Bucket(bucketMeta).Get(keyWatchSelf)
	if owner == nil || e.Origin != string(owner) {
		return nil
	}
	b := tx.Bucket(bucketWatch)
	switch e.Kind {
	case KindWatchSet:
		var w WatchEntry
		if json.Unmarshal(e.Payload, &w) != nil || w.ID == "" {
			return nil
		}
		if old := b.Get([]byte(w.ID)); old != nil {
			var prev WatchEntry
			if json.Unmarshal(old, &prev) == nil {
				w.Hits, w.LastHit = prev.Hits, prev.LastHit
			}
		}
		v, err := json.Marshal(w)
		if err != nil {
			return err
		}
		return b.Put([]byte(w.ID), v)
	case KindWatchRemoved:
		var w struct{ ID string }
		if json.Unmarshal(e.Payload, &w) != nil || w.ID == "" {
			return nil
		}
		return b.Delete([]byte(w.ID))
	}
	return nil
}

// matchWatch checks a read against the list and keeps a hit for each
// entry it matches; reads before the start of hits only count.
func matchWatch(tx *bolt.Tx, e event.Event, plate string) error {
	b := tx.Bucket(bucketWatch)
	if k, _ := b.Cursor().First(); k == nil {
		return nil // nothing watched: the common case costs one seek
	}
	var from uint64
	if v := tx.Bucket(bucketMeta).Get(keyWatchFrom); len(v) == 8 {
		from = binary.BigEndian.Uint64(v)
	}
	type hit struct {
		key []byte
		w   WatchEntry
	}
	var hits []hit
	err := b.ForEach(func(k, v []byte) error {
		var w WatchEntry
		if json.Unmarshal(v, &w) != nil || !w.Matches(plate, e.Time) {
			return nil
		}
		hits = append(hits, hit{bytes.Clone(k), w})
		return nil
	})
	if err != nil {
		return err
	}
	for _, h := range hits {
		h.w.Hits++
		h.w.LastHit = e.ID()
		v, err := json.Marshal(h.w)
		if err != nil {
			return err
		}
		if err := b.Put(h.key, v); err != nil {
			return err
		}
		if e.Pos <= from {
			continue // history: counted, not alarmed
		}
		hv, err := json.Marshal(WatchHit{Entry: h.w, Read: e.ID(), Origin: e.Origin, Camera: e.Camera, Plate: plate, Time: e.Time})
		if err != nil {
			return err
		}
		key := append(binary.BigEndian.AppendUint64(nil, e.Pos), 0)
		if err := tx.Bucket(bucketWatchHits).Put(append(key, h.key...), hv); err != nil {
			return err
		}
	}
	return nil
}
