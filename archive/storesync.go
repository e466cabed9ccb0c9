package archive

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/kuzet/kuzet/archive/objstore"
)

// The replicas of a tier share one store, and each indexes what the others
// pulled from the journal: one small object per replica stored, under
// .tier/journal/<hour>/, which no origin's key can reach (origins start
// with a letter or a digit). A replica lists the hours since it last did
// (the last two again, for writers whose clock or upload ran late), reads
// the records it has not seen and indexes them. A replica that starts
// empty, or was away longer than the journal is kept, lists the whole
// store instead: the objects carry their segment in their metadata.
const (
	journalDir  = ".tier/journal"
	journalHour = "2006010215"
	journalKeep = 7 * 24 * time.Hour
)

var keyStoreThrough = []byte("store_journal_through")

// journalRecord says that a replica stored origin's segment.
type journalRecord struct {
	Origin  string  `json:"origin"`
	Segment Segment `json:"segment"` // in the origin's layout
}

// storeSync is a replica's place in the journal.
type storeSync struct {
	seen    map[string]bool // journal keys read or written, of the hours listed again
	cleaned time.Time       // journal hours before this are deleted
}

// journal tells the tier's other replicas that origin's segment s is
// stored.
func (a *Archive) journal(ctx context.Context, origin string, s Segment) error {
	b, err := json.Marshal(journalRecord{Origin: origin, Segment: s})
	if err != nil {
		return err
	}
	var r [6]byte
	_, _ = rand.Read(r[:])
	now := a.o.Now().UTC()
	key := journalDir + "/" + now.Format(journalHour) + "/" + now.Format("20060102T150405.000000000Z") + "-" + hex.EncodeToString(r[:]) + ".json"
	sum := sha256.Sum256(b)
	if err := a.o.Store.Put(ctx, key, bytes.NewReader(b), int64(len(b)), hex.EncodeToString(sum[:])); err != nil {
		return a.storeFailed("journal", err)
	}
	a.syncMu.Lock()
	a.sync.seen[key] = true
	a.syncMu.Unlock()
	return nil
}

// SyncStore indexes the replicas that the tier's other replicas stored
// since the last sync; it returns how many it added.
func (a *Archive) SyncStore(ctx context.Context) (added int, err error) {
	if a.o.Store == nil {
		return 0, nil
	}
	a.syncMu.Lock()
	defer a.syncMu.Unlock()
	now := a.o.Now().UTC()
	through, err := a.index.storeThrough()
	if err != nil {
		return 0, err
	}
	if through.IsZero() || now.Sub(through) > journalKeep {
		n, err := a.rebuildFromStore(ctx)
		if err != nil {
			return n, err
		}
		added += n
		// the journal takes over from an hour before the listing
		through = now.Add(-time.Hour).Truncate(time.Hour)
		if err := a.index.setStoreThrough(through); err != nil {
			return added, err
		}
	}
	for h := through; !h.After(now.Add(time.Hour)); h = h.Add(time.Hour) {
		n, err := a.syncHour(ctx, h)
		added += n
		if err != nil {
			return added, err
		}
	}
	next := now.Add(-time.Hour).Truncate(time.Hour)
	if next.After(through) {
		if err := a.index.setStoreThrough(next); err != nil {
			return added, err
		}
		for k := range a.sync.seen {
			if k < journalDir+"/"+next.Format(journalHour) {
				delete(a.sync.seen, k)
			}
		}
	}
	a.cleanJournal(ctx, now)
	return added, nil
}

// syncHour reads the journal records of one hour not seen yet.
func (a *Archive) syncHour(ctx context.Context, h time.Time) (added int, err error) {
	var fresh []string
	err = a.o.Store.List(ctx, journalDir+"/"+h.Format(journalHour)+"/", func(in objstore.Info) error {
		if !a.sync.seen[in.Key] {
			fresh = append(fresh, in.Key)
		}
		return nil
	})
	if err != nil {
		return 0, a.storeFailed("list journal", err)
	}
	for _, key := range fresh {
		rec, err := a.readJournal(ctx, key)
		if err != nil {
			if errors.Is(err, objstore.ErrNotFound) {
				continue // deleted since it was listed
			}
			return added, a.storeFailed("read journal", err)
		}
		a.sync.seen[key] = true
		ok, err := a.indexReplica(rec.Origin, rec.Segment, false)
		if err != nil {
			a.o.Logger.Warn("journal record not indexed", "key", key, "err", err)
			continue
		}
		if ok {
			added++
		}
	}
	a.storeOK()
	return added, nil
}

func (a *Archive) readJournal(ctx context.Context, key string) (journalRecord, error) {
	var rec journalRecord
	r, err := a.o.Store.Open(ctx, key, 0, -1)
	if err != nil {
		return rec, err
	}
	defer r.Close()
	b, err := io.ReadAll(io.LimitReader(r, 64<<10))
	if err != nil {
		return rec, err
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		return rec, fmt.Errorf("journal record %s: %w", key, err)
	}
	return rec, nil
}

// runStoreSync syncs with the store every StoreSync until ctx ends;
// failures raised the store's alarm and are tried again.
func (a *Archive) runStoreSync(ctx context.Context) {
	for {
		if n, err := a.SyncStore(ctx); err != nil && ctx.Err() == nil {
			a.o.Logger.Warn("sync with the archive store", "store", a.o.Store.Name(), "err", err)
		} else if n > 0 {
			a.o.Logger.Info("replicas indexed from the archive store", "store", a.o.Store.Name(), "added", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(a.o.StoreSync):
		}
	}
}

// rebuildFromStore indexes every replica the store holds: the objects'
// metadata names their segment.
func (a *Archive) rebuildFromStore(ctx context.Context) (added int, err error) {
	start := time.Now()
	seen := 0
	err = a.o.Store.List(ctx, "", func(in objstore.Info) error {
		if strings.HasPrefix(in.Key, ".") {
			return nil // the journal, uploads in progress
		}
		seen++
		origin, s, err := a.storedSegment(ctx, in)
		if err != nil {
			a.o.Logger.Warn("stored object not indexed", "key", in.Key, "err", err)
			return nil
		}
		ok, err := a.indexReplica(origin, s, false)
		if err != nil {
			a.o.Logger.Warn("stored object not indexed", "key", in.Key, "err", err)
			return nil
		}
		if ok {
			added++
		}
		return nil
	})
	if err != nil {
		return added, a.storeFailed("list", err)
	}
	a.o.Logger.Info("index rebuilt from the archive store", "store", a.o.Store.Name(), "objects", seen,
		"indexed", added, "seconds", time.Since(start).Seconds())
	return added, nil
}

// storedSegment reads the segment an object holds from its key and
// metadata (asking for the metadata when the listing lacked it).
func (a *Archive) storedSegment(ctx context.Context, in objstore.Info) (string, Segment, error) {
	origin, rel, ok := strings.Cut(in.Key, "/")
	if !ok {
		return "", Segment{}, errors.New("not in an origin's folder")
	}
	meta := in.Meta
	if meta[metaStart] == "" {
		st, err := a.o.Store.Stat(ctx, in.Key)
		if err != nil {
			return "", Segment{}, err
		}
		meta, in.SHA256 = st.Meta, st.SHA256
	}
	start, err := time.Parse(time.RFC3339Nano, meta[metaStart])
	if err != nil {
		return "", Segment{}, fmt.Errorf("metadata start: %w", err)
	}
	end, err := time.Parse(time.RFC3339Nano, meta[metaEnd])
	if err != nil {
		return "", Segment{}, fmt.Errorf("metadata end: %w", err)
	}
	if in.SHA256 == "" {
		return "", Segment{}, errors.New("stored without a sha256")
	}
	cam, _, _ := strings.Cut(rel, "/")
	return origin, Segment{Camera: cam, Start: start, End: end, Path: rel, Bytes: in.Size, SHA256: in.SHA256}, nil
}

// abandonedAfter is how long an upload no replica carries on is kept
// before it is dropped: far longer than any transfer pauses.
const abandonedAfter = 24 * time.Hour

// cleanJournal deletes journal hours older than the journal is kept, and
// drops uploads abandoned by replicas that died with no other carrying
// them on; at most once an hour.
func (a *Archive) cleanJournal(ctx context.Context, now time.Time) {
	horizon := now.Add(-journalKeep).Truncate(time.Hour)
	if a.sync.cleaned.IsZero() {
		a.sync.cleaned = horizon.Add(-3 * 24 * time.Hour)
	}
	if a.sync.cleaned.Before(horizon) {
		if d, ok := a.o.Store.(interface {
			DropAbandoned(context.Context, time.Duration) ([]string, error)
		}); ok {
			dropped, err := d.DropAbandoned(ctx, abandonedAfter)
			if err != nil {
				a.o.Logger.Warn("drop abandoned uploads", "err", err)
			} else if len(dropped) > 0 {
				a.o.Logger.Info("abandoned uploads dropped", "store", a.o.Store.Name(), "keys", dropped)
			}
		}
	}
	for ; a.sync.cleaned.Before(horizon); a.sync.cleaned = a.sync.cleaned.Add(time.Hour) {
		var keys []string
		err := a.o.Store.List(ctx, journalDir+"/"+a.sync.cleaned.Format(journalHour)+"/", func(in objstore.Info) error {
			keys = append(keys, in.Key)
			return nil
		})
		for _, k := range keys {
			if err == nil {
				err = a.o.Store.Delete(ctx, k)
			}
		}
		if err != nil {
			a.o.Logger.Warn("clean the archive store's journal", "err", err)
			return
		}
	}
}

func (x *Index) storeThrough() (time.Time, error) {
	var t time.Time
	err := x.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketMeta).Get(keyStoreThrough); v != nil {
			return t.UnmarshalText(v)
		}
		return nil
	})
	return t, err
}

func (x *Index) setStoreThrough(t time.Time) error {
	v, err := t.UTC().MarshalText()
	if err != nil {
		return err
	}
	return x.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put(keyStoreThrough, v) })
}
