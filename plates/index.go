package plates

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// KindCorrected is the event kind of an operator's plate correction.
const KindCorrected = "plate.corrected"

// Correction is the payload of a plate.corrected event. An operator who
// confirms an uncertain read stores one too, with the same plate and
// Confirmed set.
type Correction struct {
	Read      string `json:"read"` // the plate.read event ID, origin/seq
	Plate     string `json:"plate"`
	Previous  string `json:"previous"`
	User      string `json:"user,omitempty"`
	Comment   string `json:"comment,omitempty"`
	Confirmed bool   `json:"confirmed,omitempty"`
}

// Entry is one indexed read.
type Entry struct {
	ID         string      `json:"id"` // plate.read event ID
	Origin     string      `json:"node"`
	Camera     string      `json:"camera"`
	Plate      string      `json:"plate"` // current: corrected if it was
	Time       time.Time   `json:"time"`
	Pos        uint64      `json:"pos"`        // in this node's log
	Confidence float64     `json:"confidence"` // as recognised
	Reviewed   bool        `json:"reviewed,omitempty"`
	Corrected  *Correction `json:"corrected,omitempty"`
}

var (
	bucketByPlate  = []byte("by_plate")  // plate \0 time pos -> Entry
	bucketByRead   = []byte("by_read")   // read ID -> by_plate key
	bucketDistinct = []byte("distinct")  // plate -> number of reads
	bucketQueue    = []byte("uncertain") // time pos -> by_plate key, for unreviewed reads below the threshold
	bucketPending  = []byte("pending")   // read ID -> corrections that arrived before their read
	bucketByPos    = []byte("by_pos")    // log position -> read ID, for retention (retention.go)
	bucketAlphabet = []byte("alphabet")  // every character of an indexed plate -> nil (fuzzy.go)
	bucketMeta     = []byte("meta")
	keyPos         = []byte("pos")          // last log position indexed
	keySchema      = []byte("schema")       // layout version
	keyReviewBelow = []byte("review_below") // the threshold the queue was filed under
	dataBuckets    = [][]byte{bucketByPlate, bucketByRead, bucketDistinct, bucketQueue, bucketPending, bucketWatch, bucketWatchHits, bucketByPos, bucketAlphabet}
)

// schema is the index layout: 2 keeps each read's confidence and review
// state. An index of another layout is emptied and rebuilt from the log.
const schema = 2

// DefaultReviewBelow is the queue threshold Open uses (the default of the
// node's anpr.review_below).
const DefaultReviewBelow = 0.95

// Options tune an index.
type Options struct {
	// ReviewBelow is the confidence (0..1) under which an unreviewed read
	// waits in the uncertain queue; 0 queues nothing.
	ReviewBelow float64
}

// Index is the bbolt plate index.
type Index struct {
	db          *bolt.DB
	reviewBelow float64
	reviewMu    sync.Mutex // see LockReview
}

// Open opens or creates the index file with the default queue threshold.
func Open(path string) (*Index, error) {
	return OpenWith(path, Options{ReviewBelow: DefaultReviewBelow})
}

// OpenWith opens or creates the index file. An index of an older layout
// is emptied, to be rebuilt from the log; one whose queue was filed under
// another threshold has its queue filed again from its entries.
func OpenWith(path string, o Options) (*Index, error) {
	if math.IsNaN(o.ReviewBelow) || o.ReviewBelow < 0 || o.ReviewBelow > 1 {
		return nil, fmt.Errorf("plate index: review threshold %v is not between 0 and 1", o.ReviewBelow)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("open plate index %s: %w", path, err)
	}
	x := &Index{db: db, reviewBelow: o.ReviewBelow}
	if err := db.Update(x.init); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("init plate index: %w", err)
	}

	return x, nil
}

func (x *Index) init(tx *bolt.Tx) error {
	meta, err := tx.CreateBucketIfNotExists(bucketMeta)
	if err != nil {
		return err
	}
	if v := meta.Get(keySchema); len(v) != 8 || binary.BigEndian.Uint64(v) != schema {
		// older entries lack what the queue needs: start again from the
		// log's first event
		for _, b := range dataBuckets {
			if tx.Bucket(b) != nil {
				if err := tx.DeleteBucket(b); err != nil {
					return err
				}
			}
		}
		if err := meta.Delete(keyPos); err != nil {
			return err
		}
		if err := meta.Put(keySchema, binary.BigEndian.AppendUint64(nil, schema)); err != nil {
			return err
		}
	}
	for _, b := range dataBuckets {
		if _, err := tx.CreateBucketIfNotExists(b); err != nil {
			return err
		}
	}
	if err := fillAlphabet(tx); err != nil {
		return fmt.Errorf("index the plates' characters: %w", err)
	}
	want := binary.BigEndian.AppendUint64(nil, math.Float64bits(x.reviewBelow))
	if bytes.Equal(meta.Get(keyReviewBelow), want) {
		return nil
	}
	if err := x.refileQueue(tx); err != nil {
		return fmt.Errorf("file the uncertain queue under %v: %w", x.reviewBelow, err)
	}
	return meta.Put(keyReviewBelow, want)
}

// refileQueue files the queue again from the entries, under this
// index's threshold.
func (x *Index) refileQueue(tx *bolt.Tx) error {
	if err := tx.DeleteBucket(bucketQueue); err != nil {
		return err
	}
	q, err := tx.CreateBucket(bucketQueue)
	if err != nil {
		return err
	}
	return tx.Bucket(bucketByPlate).ForEach(func(k, v []byte) error {
		var e Entry
		if err := json.Unmarshal(v, &e); err != nil {
			return fmt.Errorf("decode indexed read: %w", err)
		}
		if x.Queued(e) {
			return q.Put(queueKey(e), k)
		}
		return nil
	})
}

// ReviewBelow is the confidence under which unreviewed reads are queued.
func (x *Index) ReviewBelow() float64 { return x.reviewBelow }

// Queued reports whether a read waits in the uncertain queue: nobody
// has confirmed or corrected it and its confidence is below the threshold.
func (x *Index) Queued(e Entry) bool { return !e.Reviewed && e.Confidence < x.reviewBelow }

// LockReview makes checking a read's review state and storing the act
// that changes it one step, so that two operators confirming the same
// read get one success and one conflict. Call the returned unlock.
func (x *Index) LockReview() (unlock func()) {
	x.reviewMu.Lock()
	return x.reviewMu.Unlock
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

// queueKey orders the queue by time.
func queueKey(e Entry) []byte {
	k := binary.BigEndian.AppendUint64(make([]byte, 0, 16), uint64(e.Time.UnixNano()))
	return binary.BigEndian.AppendUint64(k, e.Pos)
}

func (x *Index) put(tx *bolt.Tx, e Entry) error {
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
	if err := tx.Bucket(bucketByPos).Put(binary.BigEndian.AppendUint64(nil, e.Pos), []byte(e.ID)); err != nil {
		return err
	}
	if x.Queued(e) {
		if err := tx.Bucket(bucketQueue).Put(queueKey(e), k); err != nil {
			return err
		}
	}
	return count(tx, e.Plate, 1)
}

func count(tx *bolt.Tx, plate string, delta int64) error {
	b := tx.Bucket(bucketDistinct)
	var n int64
	if v := b.Get([]byte(plate)); len(v) == 8 {
		n = int64(binary.BigEndian.Uint64(v))
	}
	if n == 0 && delta > 0 {
		if err := learnAlphabet(tx, plate); err != nil {
			return err
		}
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

// correct re-files a read under its corrected plate and takes it out of
// the queue: a confirmation or correction is a review.
func (x *Index) correct(tx *bolt.Tx, c Correction) error {
	oldKey := tx.Bucket(bucketByRead).Get([]byte(c.Read))
	if oldKey == nil {
		// not here yet: a parent may get a centre's correction before
		// the site's read when the two origins' events come in turns
		return keepPending(tx, c)
	}
	oldKey = append([]byte(nil), oldKey...)
	var e Entry
	if err := json.Unmarshal(tx.Bucket(bucketByPlate).Get(oldKey), &e); err != nil {
		return fmt.Errorf("decode indexed read %s: %w", c.Read, err)
	}
	if err := tx.Bucket(bucketByPlate).Delete(oldKey); err != nil {
		return err
	}
	if err := tx.Bucket(bucketQueue).Delete(queueKey(e)); err != nil {
		return err
	}
	if err := count(tx, e.Plate, -1); err != nil {
		return err
	}
	corr := c
	if e.Corrected != nil {
		corr.Previous = e.Plate
	}
	e.Plate, e.Corrected, e.Reviewed = c.Plate, &corr, true
	return x.put(tx, e)
}

// keepPending holds a correction until its read is indexed.
func keepPending(tx *bolt.Tx, c Correction) error {
	b := tx.Bucket(bucketPending)
	var cs []Correction
	if v := b.Get([]byte(c.Read)); v != nil {
		if err := json.Unmarshal(v, &cs); err != nil {
			return fmt.Errorf("decode pending corrections of %s: %w", c.Read, err)
		}
	}
	raw, err := json.Marshal(append(cs, c))
	if err != nil {
		return err
	}
	return b.Put([]byte(c.Read), raw)
}

// applyPending applies, in their order, the corrections that came
// before a read.
func (x *Index) applyPending(tx *bolt.Tx, read string) error {
	b := tx.Bucket(bucketPending)
	v := b.Get([]byte(read))
	if v == nil {
		return nil
	}
	var cs []Correction
	if err := json.Unmarshal(v, &cs); err != nil {
		return fmt.Errorf("decode pending corrections of %s: %w", read, err)
	}
	if err := b.Delete([]byte(read)); err != nil {
		return err
	}
	for _, c := range cs {
		if err := x.correct(tx, c); err != nil {
			return err
		}
	}
	return nil
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
			plates = oneEditAway(tx, q.Plate)
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
// deletion or substitution of a character (not a byte: a plate may hold a
// province's character). Search finds such plates by lookups
// (oneEditAway); this is the comparison they must agree with.
func withinOneEdit(as, bs string) bool {
	a, b := []rune(as), []rune(bs)
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
		return i == len(a) || string(a[i+1:]) == string(b[i+1:])
	}
	return string(a[i:]) == string(b[i+1:])
}
