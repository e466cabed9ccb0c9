package federation

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/iotest"
	"time"

	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/internal/testkit"
	"github.com/kuzet/kuzet/media"
	"github.com/kuzet/kuzet/replicate"
)

// Issue 12: a parent pulled 98 files over one link and then stalled for
// good, because the child never finished the streams the parent opened and
// QUIC's limit on open streams (100) ran out. Thousands of files and tens
// of thousands of requests must go over one link without it reconnecting.

// dirStore is a replicate.Store that keeps replicas as plain files, so the
// test measures the link rather than the archive's index.
type dirStore struct {
	root     string
	imported atomic.Int64
}

func (d *dirStore) OpenPart(_ context.Context, origin string, s event.Segment) (replicate.Part, error) {
	final := filepath.Join(d.root, origin, s.Path)
	if err := os.MkdirAll(filepath.Dir(final), 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(final+".part", os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, err
	}
	return &dirPart{d: d, f: f, final: final, s: s, h: sha256.New()}, nil
}

// dirPart writes a part file from its start and checks its sha256.
type dirPart struct {
	d     *dirStore
	f     *os.File
	final string
	s     event.Segment
	h     hash.Hash
}

func (p *dirPart) Offset() int64 { return 0 }
func (p *dirPart) Close() error  { return p.f.Close() }

func (p *dirPart) Write(b []byte) (int, error) {
	p.h.Write(b)
	return p.f.Write(b)
}

func (p *dirPart) Import(context.Context) error {
	if sum := hex.EncodeToString(p.h.Sum(nil)); sum != p.s.SHA256 {
		return fmt.Errorf("sha256 %s, want %s", sum, p.s.SHA256)
	}
	if err := os.Rename(p.f.Name(), p.final); err != nil {
		return err
	}
	p.d.imported.Add(1)
	return nil
}

// linkWatch remembers when both ends saw the link come up, to tell later
// whether it ever went down.
type linkWatch struct {
	child, parent time.Time
}

func watchLink(t *testing.T, srv *Server, cl *Client, child string) linkWatch {
	t.Helper()
	testkit.WaitFor(t, 10*time.Second, "the link", func() bool {
		_, _, ok := srv.route(child)
		return ok && cl.Status().Connected
	})
	w := linkWatch{child: cl.Status().Since}
	for _, c := range srv.Children() {
		if c.NodeID == child {
			w.parent = c.Since
		}
	}
	return w
}

func (w linkWatch) check(t *testing.T, srv *Server, cl *Client, child string) {
	t.Helper()
	st := cl.Status()
	if !st.Connected || !st.Since.Equal(w.child) {
		t.Errorf("the child's link went down and came back (up since %v, first up %v, last error %q)", st.Since, w.child, st.LastError)
	}
	for _, c := range srv.Children() {
		if c.NodeID == child && (!c.Connected || !c.Since.Equal(w.parent)) {
			t.Errorf("the parent saw the child link again (since %v, first %v, connected %v)", c.Since, w.parent, c.Connected)
		}
	}
}

// streamTestClient links a child with timings loose enough for a loaded
// two-core machine under the race detector: these tests are about streams,
// not about heartbeats.
func streamTestClient(t *testing.T, o ClientOptions) *Client {
	t.Helper()
	o.Heartbeat, o.IdleTimeout, o.BackoffMax = time.Second, 10*time.Second, 500*time.Millisecond
	c := NewClient(o)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { c.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return c
}

// 2,000 small files through the fetch queue over one link: every one
// arrives, none twice, and the link never reconnects.
func TestFetchQueueThousandsOfFilesOverOneLink(t *testing.T) {
	testkit.Long(t)
	const files = 2000
	ca := newPKI(t)
	parentID, _ := ca.identity("region", time.Time{}, time.Hour)
	childID, _ := ca.identity("site", time.Time{}, time.Hour)
	dir := t.TempDir()
	q, err := replicate.OpenQueue(filepath.Join(dir, "replicate.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	store := &dirStore{root: filepath.Join(dir, "parent")}

	// the child's segments: 1–4 KiB of random bytes each
	start := time.Date(2025, 8, 18, 0, 0, 0, 0, time.UTC)
	fetches := make([]replicate.Fetch, files)
	for i := range fetches {
		rel := fmt.Sprintf("Camera1/2025/08/18/%02d/Camera1_%04d.mp4", i/100, i)
		var sz [2]byte
		_, _ = rand.Read(sz[:])
		data := make([]byte, 1024+int(binary.BigEndian.Uint16(sz[:]))%(3*1024+1))
		_, _ = rand.Read(data)
		src := filepath.Join(dir, "child", rel)
		if err := os.MkdirAll(filepath.Dir(src), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(src, data, 0o644); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		s := start.Add(time.Duration(i) * time.Minute)
		fetches[i] = replicate.Fetch{Child: "site", Origin: "site", Camera: "Camera1", Start: s, End: s.Add(time.Minute),
			Path: rel, Bytes: int64(len(data)), SHA256: hex.EncodeToString(sum[:])}
	}

	m := NewMetrics(nil)
	puller := &replicate.Puller{Queue: q, Store: store}
	srv, err := Listen(ServerOptions{Listen: "127.0.0.1:0", Identity: parentID, Log: openLog(t, "region"), Metrics: m,
		Puller: puller})
	if err != nil {
		t.Fatal(err)
	}
	puller.Routes = srv.Descendants
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { srv.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	cl := streamTestClient(t, ClientOptions{Upstream: []string{srv.Addr()}, Identity: childID, Log: openLog(t, "site"),
		Files: PathSource(func(_, rel string) (string, error) { return filepath.Join(dir, "child", rel), nil })})
	link := watchLink(t, srv, cl, "site")

	// the queue is topped up as it drains, as the replication planner does,
	// so that the queue's own scans stay short
	began := time.Now()
	added, lastDone, lastProgress := 0, int64(0), time.Now()
	for {
		doneNow := store.imported.Load()
		if doneNow == files {
			break
		}
		if doneNow != lastDone {
			lastDone, lastProgress = doneNow, time.Now()
		}
		if time.Since(lastProgress) > 10*time.Second {
			t.Fatalf("fetches stalled after %d of %d files (%d queued): the child does not release the parent's streams",
				doneNow, files, added)
		}
		if n, _, err := q.Len("site"); err != nil {
			t.Fatal(err)
		} else if n < 50 && added < files {
			batch := fetches[added:min(added+100, files)]
			if err := q.Add(batch...); err != nil {
				t.Fatal(err)
			}
			added += len(batch)
		}
		time.Sleep(5 * time.Millisecond)
	}
	elapsed := time.Since(began)
	// the last file is dequeued just after it is stored
	testkit.WaitFor(t, 5*time.Second, "an empty fetch queue", func() bool { n, _, _ := q.Len("site"); return n == 0 })
	for _, f := range fetches {
		got, err := os.ReadFile(filepath.Join(store.root, "site", f.Path))
		if err != nil {
			t.Fatal(err)
		}
		if sum := sha256.Sum256(got); hex.EncodeToString(sum[:]) != f.SHA256 {
			t.Fatalf("%s arrived corrupt", f.Path)
		}
	}
	if got := store.imported.Load(); got != files {
		t.Errorf("%d files imported, want %d exactly once each", got, files)
	}
	link.check(t, srv, cl, "site")
	t.Logf("%d files over one link in %v (%.0f files/s)", files, elapsed.Round(time.Millisecond), files/elapsed.Seconds())
}

// stillFeed is a live feed that sends nothing until its relay ends.
type stillFeed struct{ open *atomic.Int64 }

func (f stillFeed) Track() media.Track {
	return media.Track{Codec: media.H264, SPS: []byte{0x67, 1, 2}, PPS: []byte{0x68, 3}}
}

func (f stillFeed) Next(ctx context.Context) (*media.Unit, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

func (f stillFeed) Close() error { f.open.Add(-1); return nil }

// 12,000 on-demand requests over one link — snapshots, live relays closed
// at once, index listings, catalogue slices, open files, whole or from
// an offset, and node statuses, eight at a time — all
// complete, the child ends every relay, and the link never reconnects.
func TestOnDemandRequestsOverOneLink(t *testing.T) {
	const (
		requests = 12000
		parallel = 8
	)
	ca := newPKI(t)
	parentID, _ := ca.identity("region", time.Time{}, time.Hour)
	childID, _ := ca.identity("site", time.Time{}, time.Hour)
	dir := t.TempDir()
	snaps := make([][]byte, 16)
	for i := range snaps {
		snaps[i] = make([]byte, 1024+i*192)
		_, _ = rand.Read(snaps[i])
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("plate-%02d.jpg", i)), snaps[i], 0o644); err != nil {
			t.Fatal(err)
		}
	}
	listed := []IndexEntry{
		{Origin: "site", Segment: event.Segment{Camera: "Camera1", Path: "Camera1/a.mp4", Bytes: 10}},
		{Origin: "site", Segment: event.Segment{Camera: "Camera2", Path: "Camera2/b.mp4", Bytes: 20}},
	}
	openRel := "Camera1/2025/08/18/14/Camera1_2025_08_18_14_05.mp4"
	openBytes := make([]byte, 4096)
	_, _ = rand.Read(openBytes)
	if err := os.WriteFile(filepath.Join(dir, "open.mp4"), append(openBytes, "partial fragment"...), 0o644); err != nil {
		t.Fatal(err)
	}
	var relays, relaysOpen, slices atomic.Int64
	srv := startServer(t, parentID, openLog(t, "region"), nil)
	cl := streamTestClient(t, ClientOptions{Upstream: []string{srv.Addr()}, Identity: childID, Log: openLog(t, "site"),
		Logger: slog.New(slog.DiscardHandler),
		Snapshots: PathSource(func(_, rel string) (string, error) {
			if strings.Contains(rel, "/") {
				return "", errors.New("no such snapshot")
			}
			return filepath.Join(dir, rel), nil
		}),
		Index: func(time.Time) ([]IndexEntry, error) { return listed, nil },
		Live: func(ctx context.Context, origin, camera string) (LiveFeed, error) {
			relays.Add(1)
			relaysOpen.Add(1)
			return stillFeed{open: &relaysOpen}, nil
		},
		OnConfig: func(uint64, []byte) error { slices.Add(1); return nil },
		Status: func(_ context.Context, origin string) (NodeStatus, error) {
			return NodeStatus{Node: origin, Cameras: []CameraHealth{{ID: "Camera1", State: "streaming", FPS: 25}}}, nil
		},
		Open: func(_ context.Context, origin, camera string) (OpenFile, error) {
			return OpenFile{Local: filepath.Join(dir, "open.mp4"), Path: openRel, Start: time.Unix(1755525900, 0), Size: int64(len(openBytes))}, nil
		}})
	link := watchLink(t, srv, cl, "site")
	conn, _, _ := srv.route("site")

	request := func(i int) error {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		switch i % 6 {
		case 0:
			var buf bytes.Buffer
			n := (i / 4) % len(snaps)
			if err := srv.FetchSnapshot(ctx, "site", fmt.Sprintf("plate-%02d.jpg", n), &buf); err != nil {
				return err
			}
			if !bytes.Equal(buf.Bytes(), snaps[n]) {
				return fmt.Errorf("snapshot %d differs", n)
			}
		case 1:
			feed, err := srv.OpenLive(ctx, "site", "Camera1")
			if err != nil {
				return err
			}
			if feed.Track().Codec != media.H264 {
				return fmt.Errorf("live track %+v", feed.Track())
			}
			return feed.Close()
		case 2:
			got, err := srv.requestIndex(ctx, conn, time.Time{})
			if err != nil {
				return err
			}
			if len(got) != len(listed) {
				return fmt.Errorf("index of %d segments, want %d", len(got), len(listed))
			}
		case 3:
			return srv.sendConfig(ctx, conn, uint64(i), []byte(`{"cameras":[]}`))
		case 4:
			have, off := "", int64(0)
			if i%2 == 1 {
				have, off = openRel, int64(i%len(openBytes))
			}
			head, body, err := srv.FetchOpen(ctx, "site", "Camera1", have, off)
			if err != nil {
				return err
			}
			b, err := io.ReadAll(body)
			_ = body.Close()
			if err != nil {
				return err
			}
			if head.Path != openRel || head.From != off || head.Size != int64(len(openBytes)) || !bytes.Equal(b, openBytes[off:]) {
				return fmt.Errorf("open file from %d: head %+v, %d bytes", off, head, len(b))
			}
		case 5:
			st, err := srv.FetchStatus(ctx, "site")
			if err != nil {
				return err
			}
			if st.Node != "site" || len(st.Cameras) != 1 || st.Cameras[0].FPS != 25 {
				return fmt.Errorf("status %+v", st)
			}
		}
		return nil
	}

	began := time.Now()
	var next, completed atomic.Int64
	var wg sync.WaitGroup
	errc := make(chan error, parallel)
	for range parallel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= requests {
					return
				}
				if err := request(i); err != nil {
					errc <- fmt.Errorf("request %d (after %d completed): %w", i, completed.Load(), err)
					next.Store(requests) // the others stop too
					return
				}
				completed.Add(1)
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	elapsed := time.Since(began)
	if t.Failed() {
		t.FailNow()
	}
	if n := completed.Load(); n != requests {
		t.Fatalf("%d of %d requests completed", n, requests)
	}
	if n := slices.Load(); n != requests/6 {
		t.Errorf("child stored %d slices, want %d", n, requests/6)
	}
	if n := relays.Load(); n != requests/6 {
		t.Errorf("child started %d relays, want %d", n, requests/6)
	}
	testkit.WaitFor(t, 10*time.Second, "the child to end every relay", func() bool { return relaysOpen.Load() == 0 })
	link.check(t, srv, cl, "site")
	t.Logf("%d requests over one link in %v (%.0f/s)", requests, elapsed.Round(time.Millisecond), requests/elapsed.Seconds())
}

// A frame header that announces 8 MiB with nothing behind it must not make
// the reader allocate 8 MiB: memory follows the bytes that arrive.
func TestReadFrameDoesNotTrustAnnouncedLength(t *testing.T) {
	header := []byte{WireVersion, byte(MsgEvents), 0, 0, 0, 0}
	binary.BigEndian.PutUint32(header[2:], MaxControlFrame)
	const runs = 20
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range runs {
		_, _, err := ReadFrame(bytes.NewReader(header), MaxControlFrame)
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("truncated frame: %v", err)
		}
	}
	runtime.ReadMemStats(&after)
	perRead := (after.TotalAlloc - before.TotalAlloc) / runs
	t.Logf("%d bytes allocated per read of an empty 8 MiB frame", perRead)
	if perRead > 256<<10 {
		t.Fatalf("%d bytes allocated for a frame announcing %d bytes and carrying none", perRead, MaxControlFrame)
	}

	// a frame with a few KiB behind it costs about that
	partial := append(append([]byte{}, header...), make([]byte, 100<<10)...)
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range runs {
		_, _, _ = ReadFrame(bytes.NewReader(partial), MaxControlFrame)
	}
	runtime.ReadMemStats(&after)
	if perRead := (after.TotalAlloc - before.TotalAlloc) / runs; perRead > 512<<10 {
		t.Fatalf("%d bytes allocated for a frame carrying 100 KiB", perRead)
	}

	// and whole frames still arrive intact, however the reader splits them
	for _, size := range []int{0, 1, frameChunk - 1, frameChunk, frameChunk + 1, 3<<20 + 17, MaxControlFrame} {
		payload := make([]byte, size)
		_, _ = rand.Read(payload)
		frame := append([]byte{WireVersion, byte(MsgLiveUnit), 0, 0, 0, 0}, payload...)
		binary.BigEndian.PutUint32(frame[2:], uint32(size))
		for name, r := range map[string]io.Reader{
			"whole":   bytes.NewReader(frame),
			"halves":  iotest.HalfReader(bytes.NewReader(frame)),
			"dataerr": iotest.DataErrReader(bytes.NewReader(frame)),
		} {
			typ, got, err := ReadFrame(r, MaxControlFrame)
			if err != nil || typ != MsgLiveUnit || !bytes.Equal(got, payload) {
				t.Fatalf("%d-byte frame read %s: %v %v, %d bytes", size, name, typ, err, len(got))
			}
		}
		if size > 0 {
			if _, _, err := ReadFrame(bytes.NewReader(frame[:len(frame)-1]), MaxControlFrame); !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("%d-byte frame short by one byte: %v", size, err)
			}
		}
	}
}

// A child serves at most serveLimits requests of a kind at once for its
// parent: one more waits for a slot, and is refused as busy when none
// frees up in time. Other kinds are not held up, and a freed slot serves
// the next request.
func TestChildCapsRequestsInService(t *testing.T) {
	defer func(w time.Duration) { serveWait = w }(serveWait)
	serveWait = time.Second
	ca := newPKI(t)
	parentID, _ := ca.identity("region", time.Time{}, time.Hour)
	childID, _ := ca.identity("site", time.Time{}, time.Hour)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "plate.jpg"), []byte("jpeg"), 0o644); err != nil {
		t.Fatal(err)
	}
	var relaysOpen atomic.Int64
	srv := startServer(t, parentID, openLog(t, "region"), nil)
	cl := streamTestClient(t, ClientOptions{Upstream: []string{srv.Addr()}, Identity: childID, Log: openLog(t, "site"),
		Snapshots: PathSource(func(_, rel string) (string, error) { return filepath.Join(dir, rel), nil }),
		Live: func(ctx context.Context, origin, camera string) (LiveFeed, error) {
			relaysOpen.Add(1)
			return stillFeed{open: &relaysOpen}, nil
		}})
	link := watchLink(t, srv, cl, "site")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	limit := serveLimits[StreamLive]
	feeds := make([]LiveFeed, 0, limit)
	defer func() {
		for _, f := range feeds {
			_ = f.Close()
		}
	}()
	for i := range limit {
		f, err := srv.OpenLive(ctx, "site", fmt.Sprintf("Camera%d", i))
		if err != nil {
			t.Fatalf("relay %d of %d: %v", i+1, limit, err)
		}
		feeds = append(feeds, f)
	}
	began := time.Now()
	_, err := srv.OpenLive(ctx, "site", "one-too-many")
	if err == nil || !strings.Contains(err.Error(), "busy") {
		t.Fatalf("relay beyond the limit of %d: %v, want a busy refusal", limit, err)
	}
	if waited := time.Since(began); waited < serveWait {
		t.Errorf("refused after %v, before waiting %v for a slot", waited, serveWait)
	}
	t.Logf("relay %d: %v", limit+1, err)
	// file requests have slots of their own
	var buf bytes.Buffer
	if err := srv.FetchSnapshot(ctx, "site", "plate.jpg", &buf); err != nil || buf.String() != "jpeg" {
		t.Fatalf("snapshot while relays are at their limit: %q %v", buf.String(), err)
	}
	// a request that waits gets the slot a closed relay frees
	got := make(chan error, 1)
	go func() {
		f, err := srv.OpenLive(ctx, "site", "next")
		if err == nil {
			_ = f.Close()
		}
		got <- err
	}()
	time.Sleep(serveWait / 4)
	_ = feeds[0].Close()
	feeds = feeds[1:]
	if err := <-got; err != nil {
		t.Fatalf("relay after one ended: %v", err)
	}
	for _, f := range feeds {
		_ = f.Close()
	}
	feeds = nil
	testkit.WaitFor(t, 10*time.Second, "the child to end every relay", func() bool { return relaysOpen.Load() == 0 })
	link.check(t, srv, cl, "site")
}
