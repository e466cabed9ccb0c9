package federation

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kuzet/kuzet/archive"
	"github.com/kuzet/kuzet/archive/objstore"
	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/internal/mediatest"
	"github.com/kuzet/kuzet/internal/testkit"
	"github.com/kuzet/kuzet/replicate"
)

// opensCounted counts the ranged reads of a store.
type opensCounted struct {
	objstore.Store
	opens atomic.Int64
}

func (s *opensCounted) Open(ctx context.Context, key string, off, n int64) (io.ReadCloser, error) {
	s.opens.Add(1)
	return s.Store.Open(ctx, key, off, n)
}

// A region keeping a site's segment only in its object store serves it to
// the centre, read from the store by ranges, byte for byte.
func TestFetchFromRegionStore(t *testing.T) {
	ca := newPKI(t)
	centreID, _ := ca.identity("centre", time.Time{}, time.Hour)
	regionID, _ := ca.identity("region-a1", time.Time{}, time.Hour)
	dir := t.TempDir()

	// the region: the site's segment in the store, indexed, not on disk
	fs, err := objstore.NewFS(filepath.Join(dir, "store"))
	if err != nil {
		t.Fatal(err)
	}
	store := &opensCounted{Store: fs}
	region, err := archive.Open(archive.Options{Root: filepath.Join(dir, "region"), Store: store})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { region.Close() })
	rel := "Camera1/2025/08/18/14/Camera1_2025_08_18_14_05.mp4"
	data := make([]byte, 5<<20+777)
	_, _ = rand.Read(data)
	sum := sha256.Sum256(data)
	start := time.Date(2025, 8, 18, 14, 5, 0, 0, time.UTC)
	seg := archive.Segment{Camera: "Camera1", Start: start, End: start.Add(time.Minute), Path: rel,
		Bytes: int64(len(data)), SHA256: hex.EncodeToString(sum[:])}
	key, _ := archive.StoreKey(archive.ReplicaPath("site", rel))
	if err := fs.Put(context.Background(), key, bytes.NewReader(data), seg.Bytes, seg.SHA256); err != nil {
		t.Fatal(err)
	}
	if err := region.IndexStoredReplica("site", seg); err != nil {
		t.Fatal(err)
	}
	if _, err := region.File("region-a1", "site", rel); err == nil {
		t.Fatal("the region holds the segment on its disk")
	}

	// the centre pulls it from the region
	centre, err := archive.Open(archive.Options{Root: filepath.Join(dir, "centre")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { centre.Close() })
	q, err := replicate.OpenQueue(filepath.Join(dir, "replicate.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	puller := &replicate.Puller{Queue: q, Store: archiveParts(centre)}
	srv, err := Listen(ServerOptions{Listen: "127.0.0.1:0", Identity: centreID, Log: openLog(t, "centre"), MaySpeakFor: tierSubtree,
		Puller: puller})
	if err != nil {
		t.Fatal(err)
	}
	puller.Routes = srv.Descendants
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { srv.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	regionLog := openLog(t, "region-a1")
	if _, err := regionLog.Ingest([]event.Event{{Origin: "site", Seq: 1, Kind: "test.tick"}}, "site"); err != nil {
		t.Fatal(err)
	}
	startClientWith(t, ClientOptions{Upstream: []string{srv.Addr()}, Identity: regionID, Log: regionLog,
		Files: func(origin, rel string) (ServedFile, error) {
			f, err := region.OpenSegment("region-a1", origin, rel)
			if err != nil {
				return nil, err
			}
			return f, nil
		}})
	testkit.WaitFor(t, 10*time.Second, "the site's route through the region", func() bool { return srv.Descendants()["site"] == "region-a1" })
	if err := q.Add(replicate.Fetch{Child: "region-a1", Origin: "site", Camera: "Camera1", Start: start, End: seg.End,
		Path: rel, Bytes: seg.Bytes, SHA256: seg.SHA256}); err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, 20*time.Second, "the replica at the centre", func() bool {
		_, err := centre.File("centre", "site", rel)
		return err == nil
	})
	p, _ := centre.File("centre", "site", rel)
	if got := mediatest.SHA256(t, p); got != seg.SHA256 {
		t.Fatalf("centre's replica sha256 %s, want %s", got, seg.SHA256)
	}
	t.Logf("%d bytes served from the store in %d ranged reads", len(data), store.opens.Load())
	if n := store.opens.Load(); n > 3 {
		t.Errorf("serving %d bytes cost %d ranged reads", len(data), n)
	}
}
