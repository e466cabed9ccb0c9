package archive

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kuzet/kuzet/archive/objstore"
	"github.com/kuzet/kuzet/event"
)

// tierReplica is one replica of a parent tier sharing store.
func tierReplica(t *testing.T, store objstore.Store, now func() time.Time) (*Archive, *event.Log) {
	t.Helper()
	return openTestArchive(t, Options{Store: store, Now: now, Retention: func(string) time.Duration { return 24 * time.Hour }})
}

// writePart assembles b[from:to] into origin's segment s at a, as a fetch
// does, and returns the part still open.
func writePart(t *testing.T, a *Archive, origin string, s Segment, b []byte, to int) Part {
	t.Helper()
	p, err := a.OpenPart(context.Background(), origin, s)
	if err != nil {
		t.Fatal(err)
	}
	if off := p.Offset(); off < int64(to) {
		if _, err := p.Write(b[off:to]); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

func kinds(t *testing.T, l *event.Log, kind string) []event.Event {
	t.Helper()
	evs, err := l.Search(1000, func(e event.Event) bool { return e.Kind == kind })
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// Three replicas share one store: a transfer one of them leaves half done
// is carried on by another from what is stored, the object is stored
// once, the third indexes it from the journal and a fourth that starts
// empty from the listing; replica.stored is said once, by the replica
// that pulled it; bad bytes store nothing; an object with other bytes is
// never replaced.
func TestStoreSharedByATier(t *testing.T) {
	store, err := objstore.NewFS(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	clock := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	now := func() time.Time { return clock }
	a1, l1 := tierReplica(t, store, now)
	a2, l2 := tierReplica(t, store, now)
	a3, l3 := tierReplica(t, store, now)
	ctx := context.Background()

	s, b := replicaOf("Camera1", clock.Add(-10*time.Minute), 300_000)
	p := writePart(t, a1, "site-1", s, b, 200_000)
	_ = p.Close() // a1 "dies" mid-file
	p, err = a2.OpenPart(ctx, "site-1", s)
	if err != nil || p.Offset() != 200_000 {
		t.Fatalf("a2 resumes at %d, not where a1 left off: %v", p.Offset(), err)
	}
	_ = p.Close()
	p = writePart(t, a2, "site-1", s, b, len(b))
	if err := p.Import(ctx); err != nil {
		t.Fatal(err)
	}
	_ = p.Close()
	key := "site-1/" + s.Path
	if in, err := store.Stat(ctx, key); err != nil || in.SHA256 != s.SHA256 || in.Size != s.Bytes ||
		in.Meta["origin"] != "site-1" || in.Meta["start"] == "" {
		t.Fatalf("stored %+v %v", in, err)
	}
	if local := a2.Abs(ReplicaPath("site-1", s.Path)); fileExists(local) {
		t.Fatalf("the replica went to the disk too: %s", local)
	}

	// a1 asks again (its fetch is still queued): nothing to transfer
	p, err = a1.OpenPart(ctx, "site-1", s)
	if err != nil || p.Offset() != s.Bytes {
		t.Fatalf("a stored segment opened at %d of %d: %v", p.Offset(), s.Bytes, err)
	}
	if err := p.Import(ctx); err != nil {
		t.Fatal(err)
	}
	// a3 learns it from the journal
	if n, err := a3.SyncStore(ctx); err != nil || n != 1 {
		t.Fatalf("a3 synced %d, %v", n, err)
	}
	for i, a := range []*Archive{a1, a2, a3} {
		segs, _ := a.Index().Segments(event.ReplicaCamera("site-1", "Camera1"), time.Time{}, time.Time{})
		if len(segs) != 1 || segs[0].SHA256 != s.SHA256 || segs[0].Path != ReplicaPath("site-1", s.Path) || !segs[0].Start.Equal(s.Start) {
			t.Fatalf("replica %d indexes %+v", i+1, segs)
		}
	}
	if n1, n2, n3 := len(kinds(t, l1, event.KindReplicaStored)), len(kinds(t, l2, event.KindReplicaStored)), len(kinds(t, l3, event.KindReplicaStored)); n1+n2+n3 < 1 || n3 != 0 {
		t.Fatalf("replica.stored said %d, %d, %d times", n1, n2, n3)
	}

	// a replica that starts empty indexes the store's listing
	a4, _ := tierReplica(t, store, now)
	if n, err := a4.SyncStore(ctx); err != nil || n != 1 {
		t.Fatalf("an empty replica rebuilt %d, %v", n, err)
	}
	// and lists the whole store once: then it follows the journal
	if th, err := a4.index.storeThrough(); err != nil || th.IsZero() {
		t.Fatalf("after the rebuild the journal is followed from %v (%v)", th, err)
	}

	// bad bytes: nothing stored, the next attempt starts from 0
	s2, b2 := replicaOf("Camera1", clock.Add(-5*time.Minute), 100_000)
	bad := bytes.Clone(b2)
	bad[5000] ^= 1
	p = writePart(t, a1, "site-1", s2, bad, len(bad))
	if err := p.Import(ctx); !errors.Is(err, objstore.ErrChecksum) {
		t.Fatalf("bad bytes imported: %v", err)
	}
	if _, err := store.Stat(ctx, "site-1/"+s2.Path); !errors.Is(err, objstore.ErrNotFound) {
		t.Fatalf("bad bytes stored: %v", err)
	}
	if p, err := a1.OpenPart(ctx, "site-1", s2); err != nil || p.Offset() != 0 {
		t.Fatalf("after bad bytes: %v", err)
	} else {
		_ = p.Close()
	}

	// an object with other bytes at the place: refused, kept
	s3, b3 := replicaOf("Camera1", clock.Add(-2*time.Minute), 1000)
	other := bytes.Repeat([]byte{7}, 1000)
	if err := store.Put(ctx, "site-1/"+s3.Path, bytes.NewReader(other), 1000, shaOf(other)); err != nil {
		t.Fatal(err)
	}
	if _, err := a2.OpenPart(ctx, "site-1", s3); !errors.Is(err, ErrReplicaConflict) || !errors.Is(err, event.ErrReplicaRefused) {
		t.Fatalf("another object at the place: %v", err)
	}
	_ = b3
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// Retention deletes a replica from the store; the disk floor never does
// (deleting it frees nothing here); verify reads the store and finds an
// object altered outside the node.
func TestStoreRetentionFloorAndVerify(t *testing.T) {
	dir := t.TempDir()
	store, err := objstore.NewFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	clock := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	var free atomic.Uint64
	free.Store(1 << 40)
	a, _ := openTestArchive(t, Options{Store: store, Now: func() time.Time { return clock },
		Retention: func(string) time.Duration { return 24 * time.Hour }, MinFreeBytes: 1 << 30,
		DiskFree: func(string) (uint64, error) { return free.Load(), nil }})
	ctx := context.Background()
	old, ob := replicaOf("Camera1", clock.Add(-48*time.Hour), 2000)
	fresh, fb := replicaOf("Camera1", clock.Add(-time.Hour), 3000)
	for _, x := range []struct {
		s Segment
		b []byte
	}{{old, ob}, {fresh, fb}} {
		p := writePart(t, a, "site-1", x.s, x.b, len(x.b))
		if err := p.Import(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if r, err := Verify(a.Root(), a.Index(), false, store); err != nil || len(r.Problems) != 0 || r.Segments != 2 {
		t.Fatalf("verify: %+v %v", r, err)
	}
	// altered outside the node: a full verify reads it and says so
	if err := os.WriteFile(filepath.Join(dir, "site-1", filepath.FromSlash(fresh.Path)), bytes.Repeat([]byte{1}, 3000), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := Verify(a.Root(), a.Index(), false, store)
	if err != nil || len(r.Problems) != 1 || r.Problems[0].What != "sha256" || !strings.Contains(r.Problems[0].Detail, "altered") {
		t.Fatalf("verify of an altered object: %+v %v", r, err)
	}
	// the disk under its floor: the store's replicas are not what fills it
	free.Store(0)
	a.Sweep()
	if _, err := store.Stat(ctx, "site-1/"+fresh.Path); err != nil {
		t.Fatalf("the disk floor deleted a replica in the store: %v", err)
	}
	if _, err := store.Stat(ctx, "site-1/"+old.Path); !errors.Is(err, objstore.ErrNotFound) {
		t.Fatalf("retention left the old replica in the store: %v", err)
	}
	segs, _ := a.Index().Segments(event.ReplicaCamera("site-1", "Camera1"), time.Time{}, time.Time{})
	if len(segs) != 1 || segs[0].SHA256 != fresh.SHA256 {
		t.Fatalf("index after the sweep: %+v", segs)
	}
}

// failingStore fails every operation while down is set.
type failingStore struct {
	objstore.Store
	down atomic.Bool
}

var errDown = errors.New("connection refused")

func (f *failingStore) Stat(ctx context.Context, key string) (objstore.Info, error) {
	if f.down.Load() {
		return objstore.Info{}, &objstore.StoreError{Store: f.Name(), Op: "stat", Key: key, Err: errDown}
	}
	return f.Store.Stat(ctx, key)
}

// A store that fails raises one object_store alarm naming it; the next
// operation that succeeds clears it.
func TestStoreAlarm(t *testing.T) {
	fs, err := objstore.NewFS(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	store := &failingStore{Store: fs}
	store.down.Store(true)
	clock := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	a, l := tierReplica(t, store, func() time.Time { return clock })
	s, b := replicaOf("Camera1", clock.Add(-time.Minute), 1000)
	for range 3 {
		if _, err := a.OpenPart(context.Background(), "site-1", s); err == nil || !strings.Contains(err.Error(), fs.Name()) {
			t.Fatalf("a store that is down: %v", err)
		}
	}
	raised := kinds(t, l, event.KindAlarmRaised)
	if len(raised) != 1 || !strings.Contains(string(raised[0].Payload), fs.Name()) || !strings.Contains(string(raised[0].Payload), event.AlarmObjectStore) {
		t.Fatalf("raised %d alarms: %+v", len(raised), raised)
	}
	store.down.Store(false)
	p := writePart(t, a, "site-1", s, b, len(b))
	if err := p.Import(context.Background()); err != nil {
		t.Fatal(err)
	}
	if cleared := kinds(t, l, event.KindAlarmCleared); len(cleared) != 1 {
		t.Fatalf("cleared %d alarms", len(cleared))
	}
}
