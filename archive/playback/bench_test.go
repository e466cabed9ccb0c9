package playback

import (
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/kuzet/kuzet/archive"
)

// benchArchive records minutes of the demo clip (720p25 H.264, ~1.3
// Mbit/s) into 1-minute files through the archive's recorder.
func benchArchive(b *testing.B, minutes int) (*Handler, time.Time, time.Time) {
	b.Helper()
	dir := b.TempDir()
	a, err := archive.Open(archive.Options{Root: filepath.Join(dir, "archive"), Segment: time.Minute, Location: time.UTC})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { a.Close() })
	start := time.Date(2025, 8, 18, 14, 0, 0, 0, time.UTC)
	n := feed(b, a, "Camera1", parseClip(b, demoClip()), start, minutes*60*25)
	h, err := New(Options{Archive: a})
	if err != nil {
		b.Fatal(err)
	}
	return h, start, start.Add(time.Duration(n) * 40 * time.Millisecond)
}

// discard is a ResponseWriter that only counts.
type discard struct {
	h    http.Header
	code int
	n    int64
}

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) WriteHeader(code int)        { d.code = code }
func (d *discard) Write(p []byte) (int, error) { d.n += int64(len(p)); return len(p), nil }

func serve(b *testing.B, h http.Handler, target string) int64 {
	d := &discard{h: http.Header{}, code: 200}
	h.ServeHTTP(d, httptest.NewRequest(http.MethodGet, target, nil))
	if d.code != 200 {
		b.Fatalf("%s: %d", target, d.code)
	}
	return d.n
}

// Export throughput: MB/s of MP4 produced from 2 minutes of recording.
func BenchmarkExport(b *testing.B) {
	h, from, to := benchArchive(b, 2)
	target := "/api/v1/archive/export.mp4?" + rangeQ("Camera1", from, to.Add(-time.Second))
	n := serve(b, h, target)
	b.SetBytes(n)
	b.ResetTimer()
	for b.Loop() {
		serve(b, h, target)
	}
}

// Playlist of two minutes (two files, ~120 fragments scanned).
func BenchmarkPlaylist(b *testing.B) {
	h, from, to := benchArchive(b, 2)
	target := "/api/v1/archive/play.m3u8?" + rangeQ("Camera1", from, to.Add(-time.Second))
	b.ResetTimer()
	for b.Loop() {
		serve(b, h, target)
	}
}

// One 4-second media segment of a 1-minute file (the file is scanned
// for every request).
func BenchmarkMediaSegment(b *testing.B) {
	h, from, _ := benchArchive(b, 1)
	rel := archive.SegmentPath("Camera1", from, time.UTC, 0)
	target := "/api/v1/archive/media/0/" + rel
	req := func() int64 {
		d := &discard{h: http.Header{}, code: 200}
		r := httptest.NewRequest(http.MethodGet, target, nil)
		r.Header.Set("Range", "bytes=100000-"+strconv.Itoa(100000+4*160000-1))
		h.ServeHTTP(d, r)
		if d.code != http.StatusPartialContent {
			b.Fatalf("%d", d.code)
		}
		return d.n
	}
	b.SetBytes(req())
	b.ResetTimer()
	for b.Loop() {
		req()
	}
}

// Export over real loopback HTTP, as a client downloads it.
func BenchmarkExportHTTP(b *testing.B) {
	h, from, to := benchArchive(b, 2)
	srv := httptest.NewServer(h)
	b.Cleanup(srv.Close)
	u := srv.URL + "/api/v1/archive/export.mp4?" + rangeQ("Camera1", from, to.Add(-time.Second))
	get := func() int64 {
		resp, err := http.Get(u)
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		n, err := io.Copy(io.Discard, resp.Body)
		if err != nil || resp.StatusCode != 200 {
			b.Fatalf("%d, %v", resp.StatusCode, err)
		}
		return n
	}
	b.SetBytes(get())
	b.ResetTimer()
	for b.Loop() {
		get()
	}
}
