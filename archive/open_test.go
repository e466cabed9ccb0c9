package archive

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kuzet/kuzet/archive/objstore"
	"github.com/kuzet/kuzet/archive/objstore/s3test"
	"github.com/kuzet/kuzet/internal/testkit"
)

// countingStore counts the requests made of a store and the bytes read
// through it; down makes every request wait for its context to end, as a
// store that accepts connections and answers nothing.
type countingStore struct {
	objstore.Store
	opens, stats atomic.Int64
	read         atomic.Int64
	down         atomic.Bool
}

func (s *countingStore) Open(ctx context.Context, key string, off, n int64) (io.ReadCloser, error) {
	s.opens.Add(1)
	if s.down.Load() {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	rc, err := s.Store.Open(ctx, key, off, n)
	if err != nil {
		return nil, err
	}
	return &countingBody{rc, s}, nil
}

func (s *countingStore) Stat(ctx context.Context, key string) (objstore.Info, error) {
	s.stats.Add(1)
	if s.down.Load() {
		<-ctx.Done()
		return objstore.Info{}, ctx.Err()
	}
	return s.Store.Stat(ctx, key)
}

func (s *countingStore) reset() { s.opens.Store(0); s.stats.Store(0); s.read.Store(0) }

type countingBody struct {
	io.ReadCloser
	s *countingStore
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.s.read.Add(int64(n))
	return n, err
}

// recordSegment records one segment of d with the recorder and returns
// it and its bytes.
func recordSegment(t *testing.T, a *Archive, camera string, start time.Time, d time.Duration) (Segment, []byte) {
	t.Helper()
	f := newFeeder(t, start)
	r := a.NewRecorder(camera, f.track(), "test")
	f.feed(t, r, d)
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	segs, err := a.Index().Segments(camera, time.Time{}, time.Time{})
	if err != nil || len(segs) == 0 {
		t.Fatalf("segments of %s: %v, %v", camera, segs, err)
	}
	s := segs[len(segs)-1]
	b, err := os.ReadFile(a.Abs(s.Path))
	if err != nil {
		t.Fatal(err)
	}
	return s, b
}

// storeReplica puts b into the store as origin's segment s and indexes
// it in the archive; it returns the indexed path.
func storeReplica(t *testing.T, a *Archive, st objstore.Store, origin string, s Segment, b []byte) string {
	t.Helper()
	key, _ := StoreKey(ReplicaPath(origin, s.Path))
	if err := st.Put(context.Background(), key, bytes.NewReader(b), int64(len(b)), s.SHA256); err != nil {
		t.Fatal(err)
	}
	if err := a.IndexStoredReplica(origin, s); err != nil {
		t.Fatal(err)
	}
	return ReplicaPath(origin, s.Path)
}

// scanBoxes walks the top-level boxes of an MP4 file the way the
// playback scanner does: a small window at each box, the moov and moof
// read whole, the mdat skipped. It returns how many boxes it read.
func scanBoxes(t *testing.T, r io.ReaderAt, size int64) int {
	t.Helper()
	boxes := 0
	win := make([]byte, 4096)
	for off := int64(0); off < size; boxes++ {
		n := min(int64(len(win)), size-off)
		if _, err := r.ReadAt(win[:n], off); err != nil && !errors.Is(err, io.EOF) {
			t.Fatalf("read box at %d: %v", off, err)
		}
		bs := int64(binary.BigEndian.Uint32(win[:4]))
		typ := string(win[4:8])
		if bs < 8 {
			t.Fatalf("box %q at %d: size %d", typ, off, bs)
		}
		if (typ == "moov" || typ == "moof") && bs > n {
			body := make([]byte, bs)
			if _, err := r.ReadAt(body, off); err != nil {
				t.Fatalf("read %s at %d: %v", typ, off, err)
			}
		}
		off += bs
	}
	return boxes
}

// checkStoredReads reads a store-held replica every way readers do,
// compares it with want and logs the requests each way cost.
func checkStoredReads(t *testing.T, a *Archive, cs *countingStore, rel string, want []byte) {
	t.Helper()
	size := int64(len(want))
	open := func() File {
		t.Helper()
		f, err := a.OpenFile(rel)
		if err != nil {
			t.Fatalf("open %s: %v", rel, err)
		}
		return f
	}

	// a scan of every box
	cs.reset()
	f := open()
	st, err := f.Stat()
	if err != nil || st.Size() != size || st.Name() != filepath.Base(rel) || !st.Mode().IsRegular() {
		t.Fatalf("stat: %v %v", st, err)
	}
	boxes := scanBoxes(t, f, size)
	f.Close()
	t.Logf("scan of %d boxes in %d bytes: %d ranged requests, %d bytes read, %d stat", boxes, size, cs.opens.Load(), cs.read.Load(), cs.stats.Load())
	if cs.opens.Load() > 4 || cs.stats.Load() != 1 {
		t.Errorf("a scan of %d boxes cost %d requests and %d stats", boxes, cs.opens.Load(), cs.stats.Load())
	}

	// sequential reads as http.ServeContent makes them: Seek to the end
	// and back, then 32 KiB at a time
	cs.reset()
	f = open()
	if n, err := f.Seek(0, io.SeekEnd); err != nil || n != size {
		t.Fatalf("seek end: %d, %v", n, err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	if _, err := io.CopyBuffer(&got, struct{ io.Reader }{f}, make([]byte, 32<<10)); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Fatalf("sequential read: %d bytes differ from the %d stored", got.Len(), size)
	}
	t.Logf("sequential read: %d ranged requests, %d bytes read", cs.opens.Load(), cs.read.Load())
	if cs.opens.Load() > 3 || cs.read.Load() > size+storeBlock {
		t.Errorf("a sequential read cost %d requests, %d bytes", cs.opens.Load(), cs.read.Load())
	}
	// a range in the middle, as a Range request seeks to it
	mid := size / 3
	if _, err := f.Seek(mid, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	part := make([]byte, 100_000)
	if _, err := io.ReadFull(f, part); err != nil || !bytes.Equal(part, want[mid:mid+int64(len(part))]) {
		t.Fatalf("read after seek: %v", err)
	}
	if _, err := f.Seek(-1, io.SeekEnd); err != nil {
		t.Fatal(err)
	}
	if n, err := f.Read(part); n != 1 || err != nil || part[0] != want[size-1] {
		t.Fatalf("last byte: %d, %v", n, err)
	}
	if n, err := f.Read(part); n != 0 || err != io.EOF {
		t.Fatalf("read at the end: %d, %v", n, err)
	}
	f.Close()
	if _, err := f.ReadAt(part, 0); !errors.Is(err, fs.ErrClosed) {
		t.Errorf("read after close: %v", err)
	}
	if _, err := f.Read(part); !errors.Is(err, fs.ErrClosed) {
		t.Errorf("read after close: %v", err)
	}

	// random small reads anywhere, and reads across block boundaries
	cs.reset()
	f = open()
	defer f.Close()
	rnd := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 300; i++ {
		off := rnd.Int64N(size)
		n := min(rnd.Int64N(70_000)+1, size-off)
		if i%10 == 0 {
			off = max(0, (off/storeBlock)*storeBlock-n/2)
		}
		p := make([]byte, n)
		m, err := f.ReadAt(p, off)
		if m != int(n) || err != nil && !(errors.Is(err, io.EOF) && off+n == size) || !bytes.Equal(p, want[off:off+n]) {
			t.Fatalf("ReadAt(%d, %d) = %d, %v", n, off, m, err)
		}
	}
	p := make([]byte, 10)
	if m, err := f.ReadAt(p, size-4); m != 4 || err != io.EOF || !bytes.Equal(p[:4], want[size-4:]) {
		t.Fatalf("ReadAt past the end: %d, %v", m, err)
	}
	blocks := (size + storeBlock - 1) / storeBlock
	t.Logf("300 random reads over %d blocks: %d ranged requests", blocks, cs.opens.Load())
	if cs.opens.Load() > 300 {
		t.Errorf("300 random reads cost %d requests", cs.opens.Load())
	}
}

// A replica kept in the store reads like the file it is: byte for byte,
// by ranges, a scan of its boxes and a download costing a few requests,
// not one per box or per read.
func TestOpenStoredReplica(t *testing.T) {
	st, err := objstore.NewFS(filepath.Join(t.TempDir(), "store"))
	if err != nil {
		t.Fatal(err)
	}
	cs := &countingStore{Store: st}
	a, _ := openTestArchive(t, Options{Segment: 5 * time.Minute, Store: cs})
	start := time.Date(2025, 8, 18, 14, 0, 0, 0, time.UTC)
	s, b := recordSegment(t, a, "Camera1", start, 5*time.Minute)
	rel := storeReplica(t, a, st, "site-a", s, b)
	if _, err := os.Lstat(a.Abs(rel)); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the replica is on the local disk: %v", err)
	}
	checkStoredReads(t, a, cs, rel, b)

	// the same through the segment's name at its origin
	f, err := a.OpenSegment("region-1", "site-a", s.Path)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(io.NewSectionReader(f, 0, int64(len(b))))
	f.Close()
	if err != nil || !bytes.Equal(got, b) {
		t.Fatalf("OpenSegment: %d bytes, %v", len(got), err)
	}
	// held: by the index, not the disk
	if where, err := a.Held("region-1", "site-a", s.Path); err != nil || !strings.Contains(where, st.Name()) {
		t.Errorf("held: %q, %v", where, err)
	}
	if _, err := a.Held("region-1", "site-b", s.Path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a replica never stored is held: %v", err)
	}
	// the node's own file is still read from the disk
	if f, err := a.OpenFile(s.Path); err != nil {
		t.Fatal(err)
	} else if _, ok := f.(*os.File); !ok {
		t.Errorf("own file opened as %T", f)
	} else {
		f.Close()
	}
	// a bad path is told apart from a missing file
	for _, p := range []string{"../x.mp4", "/etc/passwd", ".replicas/site-a/x.txt"} {
		if _, err := a.OpenFile(p); !errors.Is(err, ErrBadPath) {
			t.Errorf("open %s: %v, want a bad path", p, err)
		}
	}
	if _, err := a.OpenSegment("region-1", "site-a", ".replicas/x/Camera1/a.mp4"); !errors.Is(err, ErrBadPath) {
		t.Errorf("a replica path outside the origin's layout: %v", err)
	}
}

// A replica indexed but missing from the store is a missing file naming
// the store; a store that does not answer is an error naming it within
// the timeout, and the archive goes on serving what it holds on disk.
func TestOpenStoredReplicaFailures(t *testing.T) {
	st, err := objstore.NewFS(filepath.Join(t.TempDir(), "store"))
	if err != nil {
		t.Fatal(err)
	}
	cs := &countingStore{Store: st}
	a, _ := openTestArchive(t, Options{Segment: time.Minute, Store: cs, StoreTimeout: 300 * time.Millisecond})
	start := time.Date(2025, 8, 18, 14, 0, 0, 0, time.UTC)
	s, b := recordSegment(t, a, "Camera1", start, 30*time.Second)

	if err := a.IndexStoredReplica("site-a", s); err != nil {
		t.Fatal(err)
	}
	_, err = a.OpenSegment("region-1", "site-a", s.Path)
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), st.Name()) {
		t.Fatalf("missing object: %v", err)
	}
	t.Logf("missing: %v", err)

	rel := storeReplica(t, a, st, "site-b", s, b)
	f, err := a.OpenFile(rel)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cs.down.Store(true)
	began := time.Now()
	_, err = a.OpenFile(rel)
	if err == nil || errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), st.Name()) || time.Since(began) > 3*time.Second {
		t.Fatalf("store down: open after %v: %v", time.Since(began), err)
	}
	t.Logf("down: %v", err)
	if _, err := f.ReadAt(make([]byte, 10), 1000); err == nil || !strings.Contains(err.Error(), st.Name()) {
		t.Fatalf("store down: read: %v", err)
	}
	// what is on disk is served meanwhile
	if own, err := a.OpenFile(s.Path); err != nil {
		t.Fatalf("own file while the store is down: %v", err)
	} else {
		own.Close()
	}
	cs.down.Store(false)
	p := make([]byte, 5000)
	if _, err := f.ReadAt(p, 1000); err != nil || !bytes.Equal(p, b[1000:6000]) {
		t.Fatalf("read once the store is back: %v", err)
	}
}

// The same against a real S3 server (SeaweedFS): ranged GETs of an
// object, and a server that stops answering.
func TestOpenStoredReplicaS3(t *testing.T) {
	testkit.Long(t)
	srv := s3test.Start(t)
	srv.Bucket(t, "replicas")
	ctx := context.Background()
	o := objstore.S3Options{Endpoint: srv.Endpoint, Bucket: "replicas", AccessKey: s3test.AccessKey, SecretKey: s3test.SecretKey}
	up, err := objstore.NewS3(ctx, o) // uploads may take longer than a read is given
	if err != nil {
		t.Fatal(err)
	}
	o.Timeout = 2 * time.Second
	s3, err := objstore.NewS3(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	cs := &countingStore{Store: s3}
	a, _ := openTestArchive(t, Options{Segment: 5 * time.Minute, Store: cs, StoreTimeout: 2 * time.Second})
	start := time.Date(2025, 8, 18, 14, 0, 0, 0, time.UTC)
	s, b := recordSegment(t, a, "Camera1", start, 5*time.Minute)
	rel := storeReplica(t, a, up, "site-a", s, b)
	checkStoredReads(t, a, cs, rel, b)

	if _, err := a.OpenSegment("region-1", "site-a", strings.Replace(s.Path, "14_00", "14_01", 1)); !errors.Is(err, fs.ErrNotExist) ||
		!strings.Contains(err.Error(), s3.Name()) {
		t.Fatalf("missing object: %v", err)
	}

	if err := srv.Pause(); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	_, err = a.OpenFile(rel)
	took := time.Since(began)
	if rerr := srv.Resume(); rerr != nil {
		t.Fatal(rerr)
	}
	if err == nil || !strings.Contains(err.Error(), s3.Name()) || took > 10*time.Second {
		t.Fatalf("paused store: after %v: %v", took, err)
	}
	t.Logf("paused store: %v after %v", err, took)
	f, err := a.OpenFile(rel)
	if err != nil {
		t.Fatalf("open once the store answers again: %v", err)
	}
	defer f.Close()
	p := make([]byte, 5000)
	if _, err := f.ReadAt(p, int64(len(b))-5000); err != nil || !bytes.Equal(p, b[len(b)-5000:]) {
		t.Fatalf("read once the store answers again: %v", err)
	}
}
