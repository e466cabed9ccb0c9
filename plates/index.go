// Package plates keeps the plate index: every plate read this node holds
// (its own and its subtree's), searchable by exact plate, prefix, one edit
// and time range without walking the event log, and operators'
// corrections, which re-file a read under its corrected plate.
package plates

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"
)

// KindCorrected is the event kind of an operator's plate correction.
const KindCorrected = "plate.corrected"

// Correction is the payload of a plate.corrected event.
type Correction struct {
	Read     string `json:"read"` // the plate.read event ID, origin/seq
	Plate    string `json:"plate"`
	Previous string `json:"previous"`
	User     string `json:"user,omitempty"`
	Comment  string `json:"comment,omitempty"`
}

// Entry is one indexed read.
type Entry struct {
	ID        string      `json:"id"` // plate.read event ID
	Origin    string      `json:"node"`
	Camera    string      `json:"camera"`
	Plate     string      `json:"plate"` // current: corrected if it was
	Time      time.Time   `json:"time"`
	Pos       uint64      `json:"pos"` // in this node's log
	Corrected *Correction `json:"corrected,omitempty"`
}

var (
	bucketByPlate  = []byte("by_plate") // plate \0 time pos -> Entry
	bucketByRead   = []byte("by_read")  // read ID -> by_plate key
	bucketDistinct = []byte("distinct") // plate -> number of reads
	bucketMeta     = []byte("meta")
	keyPos         = []byte("pos") // last log position indexed
)

// Index is the bbolt plate index.
type Index struct {
	db *bolt.DB
}

// Open opens or creates the index file.
func Open(path string) (*Index, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("open plate index %s: %w", path, err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketByPlate, bucketByRead, bucketDistinct, bucketMeta} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("init plate index: %w", err)
	}
	return &Index{db: db}, nil
}

// Close closes the file.
func (x *Index) Close() error { return x.db.Close() }

func plateKey(plate string, t time.Time, pos uint64) []byte {
	k := make([]byte, 0, len(plate)+17)
	k = append(k, plate...)
	k = append(k, 0)
	k = binary.BigEndian.AppendUint64(k, uint64(t.UnixNano()))
	return binary.BigEndian.AppendUint64(k, pos)
}

// Position is how far into the log the index reaches.
func (x *Index) Position() (uint64, error) {
	var p uint64
	err := x.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketMeta).Get(keyPos); len(v) == 8 {
			p = binary.BigEndian.Uint64(v)
		}
		return nil
	})
	return p, err
}

func put(tx *bolt.Tx, e Entry) error {
	raw, err := json.Marshal(e)
	if err != nil {
		return err
	}
	k := plateKey(e.Plate, e.Time, e.Pos)
	if err := tx.Bucket(bucketByPlate).Put(k, raw); err != nil {
		return err
	}
	if err := tx.Bucket(bucketByRead).Put([]byte(e.ID), k); err != nil {
		return err
	}
	return count(tx, e.Plate, 1)
}

func count(tx *bolt.Tx, plate string, delta int64) error {
	b := tx.Bucket(bucketDistinct)
	var n int64
	if v := b.Get([]byte(plate)); len(v) == 8 {
		n = int64(binary.BigEndian.Uint64(v))
	}
	n += delta
	if n <= 0 {
		return b.Delete([]byte(plate))
	}
	return b.Put([]byte(plate), binary.BigEndian.AppendUint64(nil, uint64(n)))
}

// Lookup finds one read by its event ID.
func (x *Index) Lookup(id string) (Entry, bool, error) {
	var e Entry
	found := false
	err := x.db.View(func(tx *bolt.Tx) error {
		k := tx.Bucket(bucketByRead).Get([]byte(id))
		if k == nil {
			return nil
		}
		v := tx.Bucket(bucketByPlate).Get(k)
		if v == nil {
			return nil
		}
		found = true
		return json.Unmarshal(v, &e)
	})
	return e, found, err
}

// correct re-files a read under its corrected plate.
func correct(tx *bolt.Tx, c Correction) error {
	oldKey := tx.Bucket(bucketByRead).Get([]byte(c.Read))
	if oldKey == nil {
		return nil // a read this node never held
	}
	oldKey = append([]byte(nil), oldKey...)
	var e Entry
	if err := json.Unmarshal(tx.Bucket(bucketByPlate).Get(oldKey), &e); err != nil {
		return fmt.Errorf("decode indexed read %s: %w", c.Read, err)
	}
	if err := tx.Bucket(bucketByPlate).Delete(oldKey); err != nil {
		return err
	}
	if err := count(tx, e.Plate, -1); err != nil {
		return err
	}
	corr := c
	if e.Corrected != nil {
		corr.Previous = e.Plate
	}
	e.Plate, e.Corrected = c.Plate, &corr
	return put(tx, e)
}

// Match modes.
const (
	Exact  = "exact"
	Prefix = "prefix"
	Fuzzy  = "fuzzy" // within one edit
)

// Query selects reads; zero fields do not filter.
type Query struct {
	Plate  string
	Match  string
	From   time.Time
	To     time.Time
	Camera string
	Node   string
	Limit  int
}

// Search returns matching reads, newest first.
func (x *Index) Search(q Query) ([]Entry, error) {
	if q.Limit <= 0 {
		q.Limit = 100
	}
	var out []Entry
	err := x.db.View(func(tx *bolt.Tx) error {
		var plates []string
		switch q.Match {
		case Exact, "":
			plates = []string{q.Plate}
		case Prefix:
			c := tx.Bucket(bucketDistinct).Cursor()
			for k, _ := c.Seek([]byte(q.Plate)); k != nil && bytes.HasPrefix(k, []byte(q.Plate)); k, _ = c.Next() {
				plates = append(plates, string(k))
			}
		case Fuzzy:
			err := tx.Bucket(bucketDistinct).ForEach(func(k, _ []byte) error {
				if withinOneEdit(string(k), q.Plate) {
					plates = append(plates, string(k))
				}
				return nil
			})
			if err != nil {
				return err
			}
		default:
			return fmt.Errorf("match %q: must be exact, prefix or fuzzy", q.Match)
		}
		for _, p := range plates {
			if err := scanPlate(tx, p, q, &out); err != nil {
				return err
			}
		}
		return nil
	})
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Time.Equal(out[j].Time) {
			return out[i].Time.After(out[j].Time)
		}
		return out[i].Pos > out[j].Pos
	})
	if len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out, err
}

// scanPlate collects one plate's reads in [From, To), newest first, at
// most Limit of them.
func scanPlate(tx *bolt.Tx, plate string, q Query, out *[]Entry) error {
	prefix := append([]byte(plate), 0)
	c := tx.Bucket(bucketByPlate).Cursor()
	end := append(append([]byte(nil), prefix...), 0xff)
	if !q.To.IsZero() {
		end = plateKey(plate, q.To, 0)
	}
	k, _ := c.Seek(end)
	var v []byte
	if k == nil {
		k, v = c.Last()
	} else {
		k, v = c.Prev()
	}
	n := 0
	for ; k != nil && bytes.HasPrefix(k, prefix) && n < q.Limit; k, v = c.Prev() {
		var e Entry
		if err := json.Unmarshal(v, &e); err != nil {
			return fmt.Errorf("decode indexed read: %w", err)
		}
		if !q.From.IsZero() && e.Time.Before(q.From) {
			break
		}
		if (q.Camera != "" && e.Camera != q.Camera) || (q.Node != "" && e.Origin != q.Node) {
			continue
		}
		*out = append(*out, e)
		n++
	}
	return nil
}

// withinOneEdit reports whether a becomes b by at most one insertion,
// deletion or substitution.
func withinOneEdit(a, b string) bool {
	if len(a) > len(b) {
		a, b = b, a
	}
	if len(b)-len(a) > 1 {
		return false
	}
	i := 0
	for i < len(a) && a[i] == b[i] {
		i++
	}
	if len(a) == len(b) {
		return i == len(a) || a[i+1:] == b[i+1:]
	}
	return a[i:] == b[i+1:]
}
