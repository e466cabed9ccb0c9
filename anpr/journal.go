package anpr

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

var (
	bucketJournalReads = []byte("reads") // sequence → journalEntry, in arrival order
	bucketJournalMeta  = []byte("meta")  // "prefix" → this journal's ID prefix
	journalPrefixKey   = []byte("prefix")
)

// Journal holds the camera reads the node has acknowledged until the
// plate.read of their pass is stored. A camera does not send a read again
// once answered, so a read is written here (and fsynced) before the answer:
// the node killed before the pass is stored replays it at its next start.
type Journal struct {
	db *bolt.DB
	// prefix makes the IDs of this journal file unique: the plate.reads
	// naming them outlive the file should it be removed
	prefix string
}

// JournaledRead is a read left in the journal.
type JournaledRead struct {
	Camera  string
	Read    ExternalRead // its ID set
	Arrived time.Time
	// After is the event log's last position when the read arrived: the
	// plate.read of its pass is stored after it.
	After uint64
}

type journalEntry struct {
	Camera     string    `json:"camera"`
	Text       string    `json:"text"`
	Country    string    `json:"country,omitempty"`
	Confidence float64   `json:"confidence,omitempty"`
	At         time.Time `json:"at"`
	Direction  string    `json:"direction,omitempty"`
	Overview   []byte    `json:"overview,omitempty"`
	Crop       []byte    `json:"crop,omitempty"`
	Arrived    time.Time `json:"arrived"`
	After      uint64    `json:"log_after"`
}

// OpenJournal opens or creates the journal at path.
func OpenJournal(path string) (*Journal, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("open camera read journal %s: %w", path, err)
	}
	j := &Journal{db: db}
	err = db.Update(func(tx *bolt.Tx) error {
		if _, err := tx.CreateBucketIfNotExists(bucketJournalReads); err != nil {
			return err
		}
		meta, err := tx.CreateBucketIfNotExists(bucketJournalMeta)
		if err != nil {
			return err
		}
		if v := meta.Get(journalPrefixKey); v != nil {
			j.prefix = string(v)
			return nil
		}
		var b [6]byte
		if _, err := rand.Read(b[:]); err != nil {
			return err
		}
		j.prefix = hex.EncodeToString(b[:])
		return meta.Put(journalPrefixKey, []byte(j.prefix))
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("init camera read journal %s: %w", path, err)
	}
	return j, nil
}

// Close closes the journal (nil: nothing to close).
func (j *Journal) Close() error {
	if j == nil {
		return nil
	}
	return j.db.Close()
}

// Add stores a camera's read durably and returns its ID. after is the
// event log's last position now.
func (j *Journal) Add(camera string, r ExternalRead, arrived time.Time, after uint64) (string, error) {
	b, err := json.Marshal(journalEntry{Camera: camera, Text: r.Text, Country: r.Country, Confidence: r.Confidence,
		At: r.At, Direction: r.Direction, Overview: r.Overview, Crop: r.Crop, Arrived: arrived, After: after})
	if err != nil {
		return "", err
	}
	var id string
	err = j.db.Update(func(tx *bolt.Tx) error {
		bk := tx.Bucket(bucketJournalReads)
		seq, err := bk.NextSequence()
		if err != nil {
			return err
		}
		id = j.prefix + "-" + strconv.FormatUint(seq, 10)
		return bk.Put(journalKey(seq), b)
	})
	if err != nil {
		return "", fmt.Errorf("journal camera read: %w", err)
	}
	return id, nil
}

// Release removes reads whose pass is stored; IDs of another journal
// file are ignored.
func (j *Journal) Release(ids ...string) error {
	if len(ids) == 0 {
		return nil
	}
	return j.db.Update(func(tx *bolt.Tx) error {
		bk := tx.Bucket(bucketJournalReads)
		for _, id := range ids {
			if seq, ok := j.seq(id); ok {
				if err := bk.Delete(journalKey(seq)); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// Pending lists the reads still held, in arrival order. An entry that
// cannot be decoded is named in the error and left where it is; the
// others are listed all the same, so one bad entry never holds up the
// reads behind it.
func (j *Journal) Pending() ([]JournaledRead, error) {
	var out []JournaledRead
	var bad []error
	err := j.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketJournalReads).ForEach(func(k, v []byte) error {
			var e journalEntry
			if err := json.Unmarshal(v, &e); err != nil || len(k) != 8 {
				bad = append(bad, fmt.Errorf("journaled read %x is unreadable (left in the journal): %v", k, err))
				return nil
			}
			out = append(out, JournaledRead{Camera: e.Camera, Arrived: e.Arrived, After: e.After,
				Read: ExternalRead{Text: e.Text, Country: e.Country, Confidence: e.Confidence, At: e.At,
					Direction: e.Direction, Overview: e.Overview, Crop: e.Crop,
					ID: j.prefix + "-" + strconv.FormatUint(binary.BigEndian.Uint64(k), 10)}})
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	return out, errors.Join(bad...)
}

func (j *Journal) seq(id string) (uint64, bool) {
	p, n, ok := strings.Cut(id, "-")
	if !ok || p != j.prefix {
		return 0, false
	}
	seq, err := strconv.ParseUint(n, 10, 64)
	return seq, err == nil
}

func journalKey(seq uint64) []byte {
	var k [8]byte
	binary.BigEndian.PutUint64(k[:], seq)
	return k[:]
}
