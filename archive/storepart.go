package archive

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kuzet/kuzet/archive/objstore"
	"github.com/kuzet/kuzet/event"
)

// Object metadata of a replica in the store, so that any replica of the
// tier can index it from the bucket alone.
const (
	metaOrigin = "origin"
	metaCamera = "camera"
	metaStart  = "start"
	metaEnd    = "end"
)

func segmentMeta(origin string, s Segment) map[string]string {
	return map[string]string{metaOrigin: origin, metaCamera: s.Camera,
		metaStart: s.Start.UTC().Format(time.RFC3339Nano), metaEnd: s.End.UTC().Format(time.RFC3339Nano)}
}

// asReplica is how origin's segment s (in the origin's layout) is indexed
// here.
func asReplica(origin string, s Segment) Segment {
	rs := s
	rs.Camera = event.ReplicaCamera(origin, s.Camera)
	rs.Path = ReplicaPath(origin, s.Path)
	return rs
}

// openStorePart opens the upload of a replica into the shared store. The
// store may hold it already — another replica of the tier pulled it — and
// then nothing is transferred; an object there with other bytes is never
// replaced.
func (a *Archive) openStorePart(ctx context.Context, origin string, s Segment) (Part, error) {
	rs := asReplica(origin, s)
	held, err := a.index.replicaHeld(rs)
	if err != nil {
		return nil, err
	}
	p := &storePart{a: a, origin: origin, s: s}
	if held {
		p.indexed = true
		return p, nil
	}
	key, _ := StoreKey(rs.Path)
	st, err := a.o.Store.Stat(ctx, key)
	switch {
	case err == nil && (st.SHA256 != s.SHA256 || st.Size != s.Bytes):
		return nil, fmt.Errorf("replica %s is stored in %s with other bytes (%d bytes, sha256 %s; offered %d bytes, sha256 %s): refused, the object is kept: %w",
			key, a.o.Store.Name(), st.Size, st.SHA256, s.Bytes, s.SHA256, ErrReplicaConflict)
	case err == nil:
		a.storeOK()
		return p, nil // stored whole by another replica
	case !errors.Is(err, objstore.ErrNotFound):
		return nil, a.storeFailed("stat", err)
	}
	up, err := a.o.Store.Resume(ctx, key, s.Bytes, s.SHA256, segmentMeta(origin, s))
	switch {
	case errors.Is(err, objstore.ErrStored):
		a.storeOK()
		return p, nil
	case err != nil:
		return nil, a.storeFailed("resume upload", err)
	}
	a.storeOK()
	p.up = up
	return p, nil
}

// storePart streams a replica into the store; nil up: held whole already.
type storePart struct {
	a       *Archive
	origin  string
	s       Segment
	up      objstore.Upload
	indexed bool // in this archive's index already
}

func (p *storePart) Offset() int64 {
	if p.up == nil {
		return p.s.Bytes
	}
	return p.up.Offset()
}

func (p *storePart) Write(b []byte) (int, error) {
	if p.up == nil {
		return 0, errors.New("replica is stored whole already")
	}
	n, err := p.up.Write(b)
	if err != nil {
		return n, p.a.storeFailed("upload", err)
	}
	return n, nil
}

func (p *storePart) Close() error {
	if p.up == nil {
		return nil
	}
	return p.up.Close()
}

// Import completes the upload (the store checks size and sha256: a
// mismatch drops it, so the next attempt starts clean), indexes the
// replica and tells the tier's other replicas through the journal — every
// time, so a replica that died between the two leaves no object unsaid.
func (p *storePart) Import(ctx context.Context) error {
	if p.up != nil {
		_, err := p.up.Complete(ctx)
		p.up = nil
		if errors.Is(err, objstore.ErrChecksum) {
			return fmt.Errorf("replica %s of %s: %w", p.s.Path, p.origin, err)
		}
		if err != nil {
			return p.a.storeFailed("complete upload", err)
		}
		p.a.storeOK()
	}
	if !p.indexed {
		if _, err := p.a.indexReplica(p.origin, p.s, true); err != nil {
			return err
		}
	}
	if err := p.a.journal(ctx, p.origin, p.s); err != nil {
		// the other replicas find it at their next full listing
		p.a.o.Logger.Warn("journal of a stored replica", "path", p.s.Path, "origin", p.origin, "err", err)
	}
	return nil
}

// indexReplica indexes origin's segment s held in the store; added is
// false when the index had it already. pulled: this replica pulled it
// (replica.stored is said once, by the replica that pulled it).
func (a *Archive) indexReplica(origin string, s Segment, pulled bool) (added bool, err error) {
	if err := checkReplicaOf(origin, s); err != nil {
		return false, err
	}
	rs := asReplica(origin, s)
	a.importMu.Lock()
	defer a.importMu.Unlock()
	added, err = a.index.putReplica(rs)
	if err != nil {
		return false, fmt.Errorf("index replica %s: %w", rs.Path, err)
	}
	switch {
	case added && pulled:
		a.replicaStored(rs)
	case added:
		a.o.Metrics.StoreSynced.Inc()
	}
	return added, nil
}

// storeFailed raises the object_store alarm naming the store (once, until
// an operation succeeds again) and returns err.
func (a *Archive) storeFailed(op string, err error) error {
	a.mu.Lock()
	was := a.storeDown
	a.storeDown, a.storeErr, a.storeErrAt = true, fmt.Sprintf("%s: %v", op, err), a.o.Now()
	a.mu.Unlock()
	a.o.Metrics.StoreErrors.WithLabelValues(op).Inc()
	if !was {
		msg := fmt.Sprintf("the archive store %s failed (%s): %v; replicas wait at the children until it is back", a.o.Store.Name(), op, err)
		a.o.Logger.Error(msg)
		a.emit(event.New(event.KindAlarmRaised, "", event.SeverityGrave, event.Alarm{
			Key: event.AlarmObjectStore + ":" + a.o.Store.Name(), Type: event.AlarmObjectStore, Message: msg}))
	}
	return err
}

// storeOK clears the object_store alarm after a failure.
func (a *Archive) storeOK() {
	a.mu.Lock()
	was := a.storeDown
	a.storeDown = false
	a.mu.Unlock()
	if was {
		a.emit(event.New(event.KindAlarmCleared, "", event.SeverityInfo, event.Alarm{
			Key: event.AlarmObjectStore + ":" + a.o.Store.Name(), Type: event.AlarmObjectStore,
			Message: fmt.Sprintf("the archive store %s answers again", a.o.Store.Name())}))
	}
}
