package playback

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kuzet/kuzet/internal/mediatest"
)

// userServer serves fx's archive to callers named by the X-User header,
// reporting downloads to the returned function.
func userServer(t *testing.T, fx *fixture) (string, func() []Download) {
	t.Helper()
	var mu sync.Mutex
	var got []Download
	h, err := New(Options{Archive: fx.arch, MaxSpan: time.Hour,
		Caller: func(r *http.Request) string { return r.Header.Get("X-User") },
		OnDownload: func(_ *http.Request, d Download) {
			mu.Lock()
			got = append(got, d)
			mu.Unlock()
		}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL + "/api/v1/archive", func() []Download {
		mu.Lock()
		defer mu.Unlock()
		return append([]Download(nil), got...)
	}
}

var mediaLine = regexp.MustCompile(`#EXT-X-BYTERANGE:(\d+)@(\d+)\n(vod/\S+)`)

// A playlist's media links serve the byte ranges it lists, to the user it
// was made for, and nothing else: not the rest of the file, not a whole
// file, not another file, not to another user, not once altered.
func testLinks(t *testing.T, fx *fixture) {
	base, reported := userServer(t, fx)
	a, b := contiguousPair(t, fx.segs)
	// the last second of a and the first of b: only part of each file
	from, to := a.End.Add(-time.Second), b.Start.Add(900*time.Millisecond)
	code, _, pl := get(t, base+"/play.m3u8?"+rangeQ("Camera1", from, to), "X-User", "vera")
	if code != 200 {
		t.Fatalf("playlist: %d %s", code, pl)
	}
	ms := mediaLine.FindAllStringSubmatch(string(pl), -1)
	if len(ms) < 2 {
		t.Fatalf("no media lines:\n%s", pl)
	}
	fetch := func(user, uri string, rng string) (int, []byte) {
		t.Helper()
		hdr := []string{"X-User", user}
		if rng != "" {
			hdr = append(hdr, "Range", rng)
		}
		code, _, body := get(t, base+"/"+uri, hdr...)
		return code, body
	}
	first := ms[0]
	size, _ := strconv.ParseInt(first[1], 10, 64)
	off, _ := strconv.ParseInt(first[2], 10, 64)
	listed := fmt.Sprintf("bytes=%d-%d", off, off+size-1)
	if code, body := fetch("vera", first[3], listed); code != http.StatusPartialContent || int64(len(body)) != size {
		t.Fatalf("listed range %s: %d, %d bytes", listed, code, len(body))
	}
	init := regexp.MustCompile(`#EXT-X-MAP:URI="([^"]+)",BYTERANGE="(\d+)@0"`).FindStringSubmatch(string(pl))
	n, _ := strconv.Atoi(init[2])
	if code, body := fetch("vera", init[1], fmt.Sprintf("bytes=0-%d", n-1)); code != http.StatusPartialContent || len(body) != n {
		t.Errorf("init section: %d, %d bytes", code, len(body))
	}
	other := strings.Replace(first[3], escapePath(a.Path), escapePath(fx.segs[len(fx.segs)-1].Path), 1)
	tampered := []byte(first[3])
	tampered[len("vod/")+12] ^= 1
	for _, c := range []struct {
		what, user, uri, rng string
		code                 int
	}{
		{"the whole file", "vera", first[3], "", http.StatusRequestedRangeNotSatisfiable},
		{"bytes before the range", "vera", first[3], fmt.Sprintf("bytes=%d-%d", n, off-1), http.StatusRequestedRangeNotSatisfiable},
		{"everything from the init", "vera", first[3], "bytes=0-", http.StatusRequestedRangeNotSatisfiable},
		{"the file's tail", "vera", first[3], "bytes=-100000000", http.StatusRequestedRangeNotSatisfiable},
		{"two ranges, one outside", "vera", first[3], listed + ",0-" + strconv.Itoa(n+10), http.StatusRequestedRangeNotSatisfiable},
		{"another user", "olga", first[3], listed, http.StatusNotFound},
		{"no user", "", first[3], listed, http.StatusNotFound},
		{"another file", "vera", other, listed, http.StatusNotFound},
		{"an altered link", "vera", string(tampered), listed, http.StatusNotFound},
		{"not a link", "vera", "vod/x/" + escapePath(a.Path), listed, http.StatusNotFound},
	} {
		if code, body := fetch(c.user, c.uri, c.rng); code != c.code {
			t.Errorf("%s: %d %.200s, want %d", c.what, code, body, c.code)
		}
	}
	// an expired link
	h := &Handler{key: make([]byte, 32)}
	tok := h.sign(link{Expires: time.Now().Add(-time.Second), Spans: []span{{0, 10}}}, "vera", a.Path)
	if _, err := h.verify(tok, "vera", a.Path, time.Now()); err == nil {
		t.Error("an expired link verified")
	}
	if l, err := h.verify(h.sign(link{Expires: time.Now().Add(time.Hour), Cut: true, Until: 77, Shift: -5, Spans: []span{{0, 10}, {20, 30}}},
		"vera", a.Path), "vera", a.Path, time.Now()); err != nil || !l.Cut || l.Until != 77 || l.Shift != -5 || len(l.Spans) != 2 || l.Spans[1] != (span{20, 30}) {
		t.Errorf("round trip: %+v, %v", l, err)
	}
	// ffmpeg plays the playlist through its links
	p := ffmpegCopyUser(t, base+"/play.m3u8?"+rangeQ("Camera1", from, to), "vera")
	if want := to.Sub(from).Seconds(); p < want-0.1 || p > want+gop.Seconds()+0.05 {
		t.Errorf("ffmpeg played %.3f s of %.3f s", p, want)
	}
	if d := reported(); len(d) != 0 {
		t.Errorf("playback reported as downloads: %+v", d)
	}
}

// ffmpegCopyUser is ffmpegCopy sending X-User, returning the duration.
func ffmpegCopyUser(t *testing.T, url, user string) float64 {
	t.Helper()
	out := filepath.Join(t.TempDir(), "played.mp4")
	msg, err := exec.Command("ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-headers", "X-User: "+user+"\r\n",
		"-i", url, "-c", "copy", "-y", out).CombinedOutput()
	if err != nil {
		t.Fatalf("ffmpeg -i %s: %v: %s", url, err, msg)
	}
	return mediatest.Probe(t, out).Duration
}

// Files, media, cuts and exports are reported when they end, with the
// range asked for and the bytes actually sent.
func testDownloadsReported(t *testing.T, fx *fixture) {
	base, reported := userServer(t, fx)
	s := fx.segs[1]
	get(t, base+"/files/"+s.Path, "X-User", "olga", "Range", "bytes=100-1099")
	get(t, base+"/files/"+s.Path, "X-User", "olga")
	a, b := contiguousPair(t, fx.segs)
	_, hdr, exp := get(t, base+"/export.mp4?"+rangeQ("Camera1", a.Start, b.End), "X-User", "olga")
	get(t, base+"/media/0/"+s.Path, "X-User", "olga")
	get(t, base+"/files/Camera1/nothing.mp4", "X-User", "olga")
	d := reported()
	if len(d) != 5 {
		t.Fatalf("%d downloads reported: %+v", len(d), d)
	}
	if d[0].Route != "files" || d[0].Object != s.Path || d[0].Range != "bytes=100-1099" || d[0].Status != 206 || d[0].Bytes != 1000 || d[0].Aborted {
		t.Errorf("ranged file: %+v", d[0])
	}
	if d[1].Status != 200 || d[1].Bytes != s.Bytes || d[1].Length != s.Bytes || d[1].Aborted {
		t.Errorf("whole file of %d bytes: %+v", s.Bytes, d[1])
	}
	if d[2].Route != "export" || !strings.HasPrefix(d[2].Object, "Camera1 ") || d[2].Bytes != int64(len(exp)) ||
		d[2].Header.Get("X-Archive-Start") != hdr.Get("X-Archive-Start") || d[2].Status != 200 {
		t.Errorf("export of %d bytes: %+v", len(exp), d[2])
	}
	if d[3].Route != "media" || d[3].Object != s.Path+" shift 0" || d[3].Bytes != s.Bytes {
		t.Errorf("media: %+v", d[3])
	}
	if d[4].Status != 404 || d[4].Bytes == 0 {
		t.Errorf("missing file: %+v", d[4])
	}
}
