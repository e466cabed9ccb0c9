package exchange

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/kuzet/kuzet/seals"
)

var (
	bucketMeta          = []byte("meta")           // incarnation
	bucketLog           = []byte("log")            // seq -> Record: every message in and out
	bucketOutbox        = []byte("outbox")         // partner NUL seq -> nothing: waiting for delivery, in order
	bucketSeen          = []byte("seen")           // sender NUL message ID -> seq NUL sha256 of the message taken
	bucketSent          = []byte("sent")           // own message ID -> seq
	bucketReadings      = []byte("readings")       // seal NUL unix nanos -> seals.Reading
	bucketBindings      = []byte("bindings")       // seal NUL shipment -> Binding
	bucketTracks        = []byte("tracks")         // shipment NUL unix nanos NUL seq -> seals.TrackRecord
	bucketOwners        = []byte("owners")         // seal -> Owner: whose a seal is, as learnt
	bucketRegistry      = []byte("registry")       // seal -> Registration: seals registered with this operator
	bucketAnomaly       = []byte("anomaly")        // seal NUL shipment NUL code -> Anomaly: open anomalies, raised once
	bucketAlarms        = []byte("alarms")         // seq -> Alarm not raised yet
	bucketPlates        = []byte("plates")         // plate key NUL seal NUL shipment -> nothing: sealed vehicles
	bucketCrossings     = []byte("crossings")      // read NUL seal NUL shipment -> Crossing
	bucketSealCrossings = []byte("seal_crossings") // seal NUL unix nanos NUL read -> its crossings key

	metaIncarnation = []byte("incarnation")
)

// Record is a message as the log keeps it.
type Record struct {
	Seq       uint64         `json:"seq"`
	Dir       string         `json:"dir"`  // in | out
	Peer      string         `json:"peer"` // the partner it came from or goes to
	At        time.Time      `json:"at"`   // taken or queued
	Status    string         `json:"status"`
	Attempts  int            `json:"attempts,omitempty"`
	Error     string         `json:"error,omitempty"` // the last delivery error, or the partner's refusal
	Delivered *time.Time     `json:"delivered,omitempty"`
	Message   *seals.Message `json:"message"`
}

// A record's status.
const (
	StatusAccepted  = "accepted"  // in: taken
	StatusQueued    = "queued"    // out: waiting in the partner's outbox
	StatusDelivered = "delivered" // out: the partner took it
	StatusRefused   = "refused"   // out: the partner refused it (not retried)
)

// Owner is what the exchange learnt of whose a seal is.
type Owner struct {
	Operator string    `json:"operator"`
	Result   string    `json:"result"` // the ownership answer's code (00, 02), or "tracking"
	At       time.Time `json:"at"`
}

// Registration is a seal registered with this operator.
type Registration struct {
	Seal   string    `json:"seal"`
	Usable bool      `json:"usable"` // false: registered here, not usable for tracking (answer 02)
	At     time.Time `json:"at"`
}

func (x *Exchange) init() error {
	return x.db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketMeta, bucketLog, bucketOutbox, bucketSeen, bucketSent, bucketReadings,
			bucketBindings, bucketTracks, bucketOwners, bucketRegistry, bucketAnomaly, bucketAlarms, bucketPlates, bucketCrossings, bucketSealCrossings} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bucketMeta)
		if meta.Get(metaIncarnation) == nil {
			// message IDs start with it: a store wiped and begun again never
			// reuses an ID a partner has already taken
			var b [6]byte
			if _, err := rand.Read(b[:]); err != nil {
				return err
			}
			return meta.Put(metaIncarnation, []byte(hex.EncodeToString(b[:])))
		}
		return nil
	})
}

func u64(v uint64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], v)
	return b[:]
}

func key(parts ...[]byte) []byte { return bytes.Join(parts, []byte{0}) }

// timeKey orders times in keys: before 1970 is 1970, after 2262 is 2262
// (a query's window may reach beyond what Unix nanoseconds hold).
func timeKey(t time.Time) []byte {
	switch {
	case t.Before(time.Unix(0, 0)):
		return u64(0)
	case t.After(time.Unix(0, 1<<63-1)):
		return u64(1<<63 - 1)
	}
	return u64(uint64(t.UnixNano()))
}

func putJSON(b *bolt.Bucket, k []byte, v any) error {
	enc, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(k, enc)
}

// appendLog adds r to the log, giving it its sequence number.
func appendLog(tx *bolt.Tx, r *Record) error {
	b := tx.Bucket(bucketLog)
	seq, err := b.NextSequence()
	if err != nil {
		return err
	}
	r.Seq = seq
	return putJSON(b, u64(seq), r)
}

func getRecord(tx *bolt.Tx, seq uint64) (*Record, error) {
	v := tx.Bucket(bucketLog).Get(u64(seq))
	if v == nil {
		return nil, fmt.Errorf("log record %d missing", seq)
	}
	var r Record
	if err := json.Unmarshal(v, &r); err != nil {
		return nil, fmt.Errorf("log record %d: %w", seq, err)
	}
	return &r, nil
}

func digest(m *seals.Message) []byte {
	enc, _ := json.Marshal(m)
	s := sha256.Sum256(enc)
	return s[:]
}

// queue puts a message for partner to into the log and its outbox, giving
// it its ID (the incarnation and the log position) unless it has one.
// The caller wakes the partner's sender after the transaction commits.
func (x *Exchange) queue(tx *bolt.Tx, m *seals.Message) (*Record, error) {
	if m.To == x.opt.Operator {
		return nil, &seals.FieldError{Field: "to", Msg: fmt.Sprintf("%s is this operator: a message is never sent to oneself (EAEU-4)", m.To)}
	}
	if x.partners[m.To] == nil {
		return nil, &seals.FieldError{Field: "to", Msg: fmt.Sprintf("%q is no partner of %s", m.To, x.opt.Operator)}
	}
	m.Version, m.From = seals.Version, x.opt.Operator
	if m.Time.IsZero() {
		m.Time = seals.At(x.opt.Now().UTC().Truncate(time.Millisecond))
	}
	b := tx.Bucket(bucketLog)
	seq, err := b.NextSequence()
	if err != nil {
		return nil, err
	}
	if m.ID == "" {
		m.ID = fmt.Sprintf("%s-%010d", tx.Bucket(bucketMeta).Get(metaIncarnation), seq)
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	if tx.Bucket(bucketSent).Get([]byte(m.ID)) != nil {
		return nil, &seals.FieldError{Field: "id", Msg: fmt.Sprintf("%s was sent already: a message ID is used once", m.ID)}
	}
	r := &Record{Seq: seq, Dir: "out", Peer: m.To, At: x.opt.Now().UTC(), Status: StatusQueued, Message: m}
	if err := putJSON(b, u64(seq), r); err != nil {
		return nil, err
	}
	if err := tx.Bucket(bucketSent).Put([]byte(m.ID), u64(seq)); err != nil {
		return nil, err
	}
	return r, tx.Bucket(bucketOutbox).Put(key([]byte(m.To), u64(seq)), nil)
}

// poke wakes the senders of the records' partners.
func (x *Exchange) poke(rs []*Record) {
	for _, r := range rs {
		if r.Dir != "out" {
			continue
		}
		select {
		case x.wake[r.Peer] <- struct{}{}:
		default:
		}
	}
}

// Filter selects log records; zero fields select all.
type Filter struct {
	Seal      string // messages that name this seal
	InReplyTo string
	ID        string
	Peer      string
	Kind      seals.Kind
	Limit     int // newest first (default 100)
}

// Messages lists the log, newest first.
func (x *Exchange) Messages(f Filter) ([]Record, error) {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	out := []Record{}
	err := x.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketLog).Cursor()
		for k, v := c.Last(); k != nil && len(out) < f.Limit; k, v = c.Prev() {
			var r Record
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("log record %d: %w", binary.BigEndian.Uint64(k), err)
			}
			m := r.Message
			if f.InReplyTo != "" && m.InReplyTo != f.InReplyTo || f.ID != "" && m.ID != f.ID ||
				f.Peer != "" && r.Peer != f.Peer || f.Kind != "" && m.Kind != f.Kind || f.Seal != "" && !names(m, f.Seal) {
				continue
			}
			out = append(out, r)
		}
		return nil
	})
	return out, err
}

// names reports whether a message is about seal.
func names(m *seals.Message, seal string) bool {
	return sealOf(m) == seal
}

// sealOf is the seal a message is about ("" for a shipment's).
func sealOf(m *seals.Message) string {
	switch {
	case m.OwnershipQuery != nil:
		return m.OwnershipQuery.Seal
	case m.OwnershipAnswer != nil:
		return m.OwnershipAnswer.Seal
	case m.ActionRequest != nil:
		return m.ActionRequest.Seal
	case m.Action != nil:
		return m.Action.Seal
	case m.WriteRequest != nil:
		return m.WriteRequest.Seal
	case m.WriteResult != nil:
		return m.WriteResult.Seal
	case m.Tracking != nil:
		return m.Tracking.Seal.Seal
	case m.TechData != nil:
		return m.TechData.Seal
	case m.SealQuery != nil:
		return m.SealQuery.Seal
	case m.SealShipments != nil:
		return m.SealShipments.Seal
	case m.ShipmentReport != nil && m.ShipmentReport.Seal != nil:
		return m.ShipmentReport.Seal.Seal
	}
	return ""
}

// eachUnder calls fn for each key under prefix, in order, while it
// returns true.
func eachUnder(b *bolt.Bucket, prefix []byte, fn func(k, v []byte) bool) {
	c := b.Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		if !fn(k, v) {
			return
		}
	}
}

// lastUnder positions c on the last key under prefix (nil: none), for
// keys whose next part is a time.
func lastUnder(c *bolt.Cursor, prefix []byte) (k, v []byte) {
	past := append(append([]byte(nil), prefix...), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)
	if k, _ = c.Seek(past); k == nil {
		k, v = c.Last()
	} else {
		k, v = c.Prev()
	}
	if k == nil || !bytes.HasPrefix(k, prefix) {
		return nil, nil
	}
	return k, v
}
