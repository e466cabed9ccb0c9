package live

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// Bad requests get a status and a reason naming what was wrong.
func TestBadRequests(t *testing.T) {
	s, hs := newTestServer(t, Options{Cameras: []string{"Cam", "Idle"}})
	f := newFeeder(t, s, "Cam", 0, 3600)
	startMuxer(t, s, "Cam")
	f.frames(2*25 + 1)

	for _, c := range []struct {
		path string
		code int
		says string
	}{
		{"/live/Nope/index.m3u8", 404, `unknown camera "Nope"`},
		{"/live/", 404, "no such live URL"},
		{"/live/Cam", 404, "no such live URL"},
		{"/live/Cam/a/b/index.m3u8", 404, "no such live URL"},
		{"/live/Cam/stream.ts", 404, `no such file "stream.ts"`},
		{"/live/Cam/part-1.mp4", 404, "not a number"},
		{"/live/Cam/part99999999999999999999999.mp4", 404, "not a number"},
		{"/live/Cam/seg.mp4", 404, "not a number"},
		{"/live/Cam/init9.mp4", 404, "init section 9 is not in the playlist"},
		{"/live/Cam/index.m3u8?_HLS_msn=x", 400, `_HLS_msn: "x" is not a number`},
		{"/live/Cam/index.m3u8?_HLS_msn=-1", 400, "_HLS_msn"},
		{"/live/Cam/index.m3u8?_HLS_part=1", 400, "_HLS_part without _HLS_msn"},
		{"/live/Cam/index.m3u8?_HLS_msn=1&_HLS_msn=2", 400, "_HLS_msn given 2 times"},
		{"/live/Cam/index.m3u8?_HLS_msn=1&_HLS_skip=NO", 400, "_HLS_skip"},
		{"/live/Cam/index.m3u8?_HLS_push=1", 400, "unknown delivery directive _HLS_push"},
		{"/live/Cam/index.m3u8?_HLS_msn=%zz", 400, "bad query"},
		{"/live/Cam/index.m3u8?_HLS_msn=4", 400, "more than two segments past the last one (1)"},
		{"/live/Cam/index.m3u8?_HLS_msn=2&_HLS_part=40", 400, "parts past the last one"},
		{"/live/Cam/index.m3u8?token=abc&_HLS_msn=0&_HLS_part=2", 200, "#EXTM3U"},
		{"/live/Idle/part0.mp4", 404, "live view of Idle is not running: load /live/Idle/index.m3u8 first"},
		{"/live/Idle/index.m3u8", 503, "camera Idle is not streaming"},
	} {
		code, body := get(t, hs.URL+c.path)
		if code != c.code || !strings.Contains(body, c.says) {
			t.Errorf("GET %s: %d %q, want %d with %q", c.path, code, body, c.code, c.says)
		}
	}
	req, _ := http.NewRequest(http.MethodPost, hs.URL+"/live/Cam/index.m3u8", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST: %d", resp.StatusCode)
	}
}

// A muxer starts on the first request, stops when nobody asks for a
// while (units are dropped from then on), and a later request starts a
// new one whose URIs do not collide with the old ones.
func TestIdleStopAndRestart(t *testing.T) {
	reg := prometheus.NewRegistry()
	s, hs := newTestServer(t, Options{Cameras: []string{"Cam"}, IdleStop: time.Second, Registerer: reg})
	f := newFeeder(t, s, "Cam", 0, 3600)
	stop := make(chan struct{})
	fed := make(chan struct{})
	go func() { // a camera streaming in real time
		defer close(fed)
		tick := time.NewTicker(40 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				f.frames(1)
			}
		}
	}()
	defer func() { close(stop); <-fed }()

	muxers := func() float64 { return testutil.ToFloat64(s.met.muxers.WithLabelValues("Cam")) }
	parts := func() float64 { return testutil.ToFloat64(s.met.parts.WithLabelValues("Cam")) }
	if muxers() != 0 || parts() != 0 {
		t.Fatal("a muxer runs before any request")
	}
	jar, _ := cookiejar.New(nil)
	viewer := &http.Client{Jar: jar}
	resp, err := viewer.Get(hs.URL + "/live/Cam/index.m3u8")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	first := mustPlaylist(t, hs.URL+"/live/Cam/index.m3u8")
	if muxers() != 1 || parts() == 0 {
		t.Fatalf("muxer %v, parts %v after the first request", muxers(), parts())
	}
	if _, err := viewer.Get(hs.URL + "/live/Cam/index.m3u8"); err != nil {
		t.Fatal(err)
	}
	// the cookie player counts once, the two cookie-less requests twice
	deadline := time.Now().Add(10 * time.Second)
	for testutil.ToFloat64(s.met.viewers.WithLabelValues("Cam")) != 3 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if v := testutil.ToFloat64(s.met.viewers.WithLabelValues("Cam")); v != 3 {
		t.Fatalf("viewers %v, want 3", v)
	}

	deadline = time.Now().Add(15 * time.Second)
	for muxers() != 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if muxers() != 0 {
		t.Fatal("idle muxer still running")
	}
	stopped := parts()
	time.Sleep(500 * time.Millisecond)
	if parts() != stopped {
		t.Fatal("parts produced while stopped")
	}

	again := mustPlaylist(t, hs.URL+"/live/Cam/index.m3u8")
	lastMSN := first.Segments[len(first.Segments)-1].MSN
	if again.MediaSequence <= lastMSN || again.DiscSequence == 0 {
		t.Fatalf("restarted muxer: media sequence %d (before: up to %d), discontinuity sequence %d",
			again.MediaSequence, lastMSN, again.DiscSequence)
	}
}

// Stopping the server answers the requests it holds and refuses new ones.
func TestShutdownAnswersHeldRequests(t *testing.T) {
	s, err := New(Options{Cameras: []string{"Cam"}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	hs := httptest.NewServer(s)
	defer hs.Close()
	f := newFeeder(t, s, "Cam", 0, 3600)
	startMuxer(t, s, "Cam")
	f.frames(25 + 1)
	held := getAsync(t, hs.URL+"/live/Cam/index.m3u8?_HLS_msn=1&_HLS_part=3")
	part := getAsync(t, hs.URL+"/live/Cam/part5.mp4")
	if !pending(held) || !pending(part) {
		t.Fatal("requests for future parts answered")
	}
	cancel()
	<-done
	for _, ch := range []<-chan result{held, part} {
		if r := <-ch; r.code != http.StatusServiceUnavailable || !strings.Contains(r.body, "live view of Cam stopped") {
			t.Fatalf("held request: %d %s", r.code, r.body)
		}
	}
	if code, body := get(t, hs.URL+"/live/Cam/index.m3u8"); code != http.StatusServiceUnavailable || !strings.Contains(body, "shutting down") {
		t.Fatalf("after shutdown: %d %s", code, body)
	}
	f.frames(5) // a session still running after the live view stopped is harmless
}
