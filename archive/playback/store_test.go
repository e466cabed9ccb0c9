package playback

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kuzet/kuzet/archive"
	"github.com/kuzet/kuzet/archive/objstore"
	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/internal/mediatest"
	"github.com/kuzet/kuzet/testcam"
)

// countedStore counts the ranged reads asked of a store; down makes them
// fail as a store that cannot be reached.
type countedStore struct {
	objstore.Store
	opens atomic.Int64
	down  atomic.Bool
}

func (s *countedStore) Open(ctx context.Context, key string, off, n int64) (io.ReadCloser, error) {
	s.opens.Add(1)
	if s.down.Load() {
		return nil, &objstore.StoreError{Store: s.Name(), Op: "open", Key: key, Err: fmt.Errorf("connection refused")}
	}
	return s.Store.Open(ctx, key, off, n)
}

func (s *countedStore) Stat(ctx context.Context, key string) (objstore.Info, error) {
	if s.down.Load() {
		return objstore.Info{}, &objstore.StoreError{Store: s.Name(), Op: "stat", Key: key, Err: fmt.Errorf("connection refused")}
	}
	return s.Store.Stat(ctx, key)
}

// A replica kept in the object store plays like one on the disk: the
// same playlist, media, byte ranges and export, byte for byte.
func TestPlayStoredReplica(t *testing.T) {
	needTools(t)
	dir := t.TempDir()
	events, err := event.OpenLog(filepath.Join(dir, "events.db"), "centre", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { events.Close() })
	fs, err := objstore.NewFS(filepath.Join(dir, "store"))
	if err != nil {
		t.Fatal(err)
	}
	store := &countedStore{Store: fs}
	arch, err := archive.Open(archive.Options{Root: filepath.Join(dir, "archive"), Segment: segmentLen,
		Location: time.UTC, Events: events, Store: store})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { arch.Close() })
	// a child's recording: three 3-second files
	clip := parseClip(t, testcam.DemoClip)
	start := time.Date(2025, 8, 18, 14, 0, 0, 0, time.UTC)
	feed(t, arch, "Camera1", clip, start, 225)
	segs, err := arch.Index().Segments("Camera1", time.Time{}, time.Time{})
	if err != nil || len(segs) != 3 {
		t.Fatalf("recorded %+v, %v", segs, err)
	}
	// held twice: as site-disk's replica on the disk, as site-store's in
	// the store only
	for _, s := range segs {
		b, err := os.ReadFile(arch.Abs(s.Path))
		if err != nil {
			t.Fatal(err)
		}
		part, err := arch.PartPath("site-disk", s.Path)
		if err != nil {
			t.Fatal(err)
		}
		if err := arch.MkdirFor(part); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(part, b, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := arch.ImportReplica("site-disk", s, part); err != nil {
			t.Fatal(err)
		}
		key, _ := archive.StoreKey(archive.ReplicaPath("site-store", s.Path))
		if err := fs.Put(context.Background(), key, bytes.NewReader(b), int64(len(b)), s.SHA256); err != nil {
			t.Fatal(err)
		}
		if err := arch.IndexStoredReplica("site-store", s); err != nil {
			t.Fatal(err)
		}
	}
	h, err := New(Options{Archive: arch, MaxSpan: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	base := srv.URL + "/api/v1/archive"
	disk := func(s archive.Segment) string { return archive.ReplicaPath("site-disk", s.Path) }
	stored := func(s archive.Segment) string { return archive.ReplicaPath("site-store", s.Path) }
	if _, err := os.Stat(arch.Abs(stored(segs[0]))); err == nil {
		t.Fatal("the stored replica is on the disk")
	}

	// same answer, byte for byte, for the disk's and the store's replica
	same := func(what, diskURL, storeURL string, hdr ...string) []byte {
		t.Helper()
		c1, h1, b1 := get(t, diskURL, hdr...)
		c2, h2, b2 := get(t, storeURL, hdr...)
		// the parts of a multi-range answer are cut by a random boundary
		b1, b2 = unbound(b1, h1.Get("Content-Type")), unbound(b2, h2.Get("Content-Type"))
		if c1 != c2 || !bytes.Equal(b1, b2) || h1.Get("Content-Range") != h2.Get("Content-Range") ||
			h1.Get("Content-Length") != h2.Get("Content-Length") {
			t.Fatalf("%s: disk %d %q %d bytes, store %d %q %d bytes", what, c1, h1.Get("Content-Range"), len(b1),
				c2, h2.Get("Content-Range"), len(b2))
		}
		if c1 != http.StatusOK && c1 != http.StatusPartialContent {
			t.Fatalf("%s: %d %s", what, c1, b1)
		}
		return b2
	}

	// files, whole and by ranges
	for _, s := range segs {
		store.opens.Store(0)
		body := same("file "+s.Path, base+"/files/"+disk(s), base+"/files/"+stored(s))
		if sha(body) != s.SHA256 {
			t.Fatalf("file %s: sha256 %s", s.Path, sha(body))
		}
		t.Logf("download of %d bytes: %d ranged reads of the store", len(body), store.opens.Load())
		n := len(body)
		for _, rng := range []string{"bytes=100-1099", "bytes=-500", fmt.Sprintf("bytes=%d-", n/2), "bytes=0-0",
			fmt.Sprintf("bytes=10-20,%d-%d", n/2, n/2+100)} {
			same("file "+s.Path+" "+rng, base+"/files/"+disk(s), base+"/files/"+stored(s), "Range", rng)
		}
	}
	// media: the file shifted, and a range of it
	s := segs[1]
	same("media", fmt.Sprintf("%s/media/%d/%s", base, 987654, disk(s)), fmt.Sprintf("%s/media/%d/%s", base, 987654, stored(s)))
	same("media range", fmt.Sprintf("%s/media/%d/%s", base, 987654, disk(s)), fmt.Sprintf("%s/media/%d/%s", base, 987654, stored(s)),
		"Range", "bytes=5000-90000")

	// the playlist of a range cut inside the first and last files: the
	// same media segments, each fetched by its byte range
	from, to := segs[0].Start.Add(1200*time.Millisecond), segs[2].End.Add(-1300*time.Millisecond)
	store.opens.Store(0)
	c1, _, pl1 := get(t, base+"/play.m3u8?"+rangeQ("site-disk/Camera1", from, to))
	c2, _, pl2 := get(t, base+"/play.m3u8?"+rangeQ("site-store/Camera1", from, to))
	if c1 != 200 || c2 != 200 {
		t.Fatalf("playlists: %d %s / %d %s", c1, pl1, c2, pl2)
	}
	t.Logf("playlist over %d files: %d ranged reads of the store", len(segs), store.opens.Load())
	if n := store.opens.Load(); n > int64(3*len(segs)+2) {
		t.Errorf("a playlist over %d files cost %d ranged reads", len(segs), n)
	}
	u1, u2 := playlistMedia(string(pl1)), playlistMedia(string(pl2))
	if len(u1) != len(u2) || len(u1) < 4 {
		t.Fatalf("playlists differ:\n%s\n%s", pl1, pl2)
	}
	store.opens.Store(0)
	for i := range u1 {
		if u1[i][1] != u2[i][1] {
			t.Fatalf("media %d: ranges %q and %q", i, u1[i][1], u2[i][1])
		}
		same(fmt.Sprintf("playlist media %d", i), base+"/"+u1[i][0], base+"/"+u2[i][0], "Range", u1[i][1])
	}
	t.Logf("%d init sections and media segments by their byte ranges: %d ranged reads", len(u2), store.opens.Load())
	p := mediatest.Probe(t, ffmpegCopy(t, base+"/play.m3u8?"+rangeQ("site-store/Camera1", from, to)))
	if want := to.Sub(from).Seconds(); p.Duration < want-0.05 || p.Duration > want+gop.Seconds()+0.05 {
		t.Errorf("stored replica played %.3f s of a %.3f s range", p.Duration, want)
	}

	// an export of the range
	q := "/export.mp4?"
	exp := same("export", base+q+rangeQ("site-disk/Camera1", from, to), base+q+rangeQ("site-store/Camera1", from, to))
	out := filepath.Join(t.TempDir(), "export.mp4")
	if err := os.WriteFile(out, exp, 0o644); err != nil {
		t.Fatal(err)
	}
	if p := mediatest.Probe(t, out); math.Abs(p.Duration-to.Sub(from).Seconds()) > gop.Seconds()+0.05 {
		t.Errorf("export of the stored replica holds %.3f s", p.Duration)
	}

	// a store that cannot be reached: the file cannot be read now (not
	// "no such file"), and the playlist plays around it
	store.down.Store(true)
	code, _, body := get(t, base+"/files/"+stored(s))
	if code != http.StatusServiceUnavailable || !strings.Contains(string(body), fs.Name()) {
		t.Errorf("store down: %d %s", code, body)
	}
	if code, _, body := get(t, base+"/play.m3u8?"+rangeQ("site-store/Camera1", from, to)); code != http.StatusNotFound {
		t.Errorf("playlist with the store down: %d %s", code, body)
	}
	if code, _, _ := get(t, base+"/files/"+disk(s)); code != 200 {
		t.Errorf("the disk's replica while the store is down: %d", code)
	}
	store.down.Store(false)
	if code, _, _ := get(t, base+"/files/"+stored(s)); code != 200 {
		t.Errorf("store back: %d", code)
	}
}

func unbound(b []byte, ctype string) []byte {
	if _, boundary, ok := strings.Cut(ctype, "boundary="); ok {
		return bytes.ReplaceAll(b, []byte(boundary), []byte("BOUNDARY"))
	}
	return b
}

var playlistURI = regexp.MustCompile(`(?m)^#EXT-X-BYTERANGE:(\d+)@(\d+)\n(\S+)$|#EXT-X-MAP:URI="([^"]+)",BYTERANGE="(\d+)@(\d+)"`)

// playlistMedia lists a playlist's init sections and media segments:
// each URI with the Range header that fetches it.
func playlistMedia(pl string) [][2]string {
	var out [][2]string
	for _, m := range playlistURI.FindAllStringSubmatch(pl, -1) {
		uri, n, off := m[3], m[1], m[2]
		if uri == "" {
			uri, n, off = m[4], m[5], m[6]
		}
		var size, at int64
		fmt.Sscan(n, &size)
		fmt.Sscan(off, &at)
		out = append(out, [2]string{uri, fmt.Sprintf("bytes=%d-%d", at, at+size-1)})
	}
	return out
}

// The scanner reads a small window at every box of a file; over a
// replica in the store, a real 5-minute segment costs a few requests,
// not one per box.
func TestScanStoredSegment(t *testing.T) {
	dir := t.TempDir()
	fs, err := objstore.NewFS(filepath.Join(dir, "store"))
	if err != nil {
		t.Fatal(err)
	}
	store := &countedStore{Store: fs}
	arch, err := archive.Open(archive.Options{Root: filepath.Join(dir, "archive"), Segment: 5 * time.Minute,
		Location: time.UTC, Store: store})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { arch.Close() })
	start := time.Date(2025, 8, 18, 14, 0, 0, 0, time.UTC)
	feed(t, arch, "Camera1", parseClip(t, testcam.DemoClip), start, 7500)
	segs, err := arch.Index().Segments("Camera1", time.Time{}, time.Time{})
	if err != nil || len(segs) != 1 {
		t.Fatalf("recorded %+v, %v", segs, err)
	}
	s := segs[0]
	b, err := os.ReadFile(arch.Abs(s.Path))
	if err != nil {
		t.Fatal(err)
	}
	key, _ := archive.StoreKey(archive.ReplicaPath("site", s.Path))
	if err := fs.Put(context.Background(), key, bytes.NewReader(b), int64(len(b)), s.SHA256); err != nil {
		t.Fatal(err)
	}
	if err := arch.IndexStoredReplica("site", s); err != nil {
		t.Fatal(err)
	}
	local := mustScan(t, b)
	h, err := New(Options{Archive: arch})
	if err != nil {
		t.Fatal(err)
	}
	fi, err := h.scanArchiveFile(archive.ReplicaPath("site", s.Path))
	if err != nil {
		t.Fatal(err)
	}
	if len(fi.Fragments) != len(local.Fragments) || fi.InitEnd != local.InitEnd {
		t.Fatalf("stored scan: %d fragments, init %d; local %d, %d", len(fi.Fragments), fi.InitEnd, len(local.Fragments), local.InitEnd)
	}
	t.Logf("scan of %d fragments in %d bytes: %d ranged reads", len(fi.Fragments), len(b), store.opens.Load())
	if n := store.opens.Load(); n > 4 {
		t.Errorf("scan of %d fragments cost %d ranged reads", len(fi.Fragments), n)
	}
	// the file's index is kept: the next request over it (an HLS player's
	// media) reads only what it serves
	store.opens.Store(0)
	if again, err := h.scanArchiveFile(archive.ReplicaPath("site", s.Path)); err != nil || again != fi {
		t.Fatalf("second scan: %v", err)
	}
	if n := store.opens.Load(); n != 0 {
		t.Errorf("second scan of the same file: %d ranged reads", n)
	}
}
