package live

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/kuzet/kuzet/live/livetest"
	"github.com/kuzet/kuzet/media"
	"github.com/kuzet/kuzet/testcam"
)

// demoClip is the synthetic camera's clip: GOP 25, no B-frames.
func demoClip(t testing.TB) *testcam.Clip {
	t.Helper()
	c, err := testcam.Demo()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// feeder writes the clip's frames into a sink the way a session does.
type feeder struct {
	t    testing.TB
	clip *testcam.Clip
	sink media.Sink
	k    int
	pts  int64
	step int64
	// mutate, when set, may replace NAL units (returning copies)
	mutate func([]byte) []byte
}

func newFeeder(t testing.TB, s *Server, camera string, pts0, step int64) *feeder {
	t.Helper()
	clip := demoClip(t)
	sink, err := s.Consumer().Open(camera, media.Track{Codec: media.H264, SPS: clip.SPS, PPS: clip.PPS}, "test")
	if err != nil {
		t.Fatal(err)
	}
	return &feeder{t: t, clip: clip, sink: sink, pts: pts0, step: step}
}

// frames writes n frames.
func (f *feeder) frames(n int) {
	f.t.Helper()
	for range n {
		fr := f.clip.Frames[f.k%len(f.clip.Frames)]
		nalus := append([][]byte(nil), fr.NALUs...)
		if f.mutate != nil {
			for i := range nalus {
				nalus[i] = f.mutate(nalus[i])
			}
		}
		if err := f.sink.WriteUnit(&media.Unit{NALUs: nalus, PTS: f.pts, Time: time.Now()}); err != nil {
			f.t.Fatal(err)
		}
		f.k++
		f.pts += f.step
	}
}

func newTestServer(t testing.TB, o Options) (*Server, *httptest.Server) {
	t.Helper()
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	hs := httptest.NewServer(s)
	t.Cleanup(func() {
		cancel()
		<-done
		hs.Close()
	})
	return s, hs
}

// startMuxer starts camera's muxer as a first request would.
func startMuxer(t testing.TB, s *Server, camera string) *muxer {
	t.Helper()
	c := s.camera(camera, false)
	if c == nil {
		t.Fatalf("camera %s unknown", camera)
	}
	m, release := s.acquire(c, true)
	release()
	return m
}

func get(t testing.TB, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func mustPlaylist(t testing.TB, url string) *livetest.Playlist {
	t.Helper()
	code, body := get(t, url)
	if code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, code, body)
	}
	pl, err := livetest.ParsePlaylist([]byte(body))
	if err != nil {
		t.Fatalf("%v\n%s", err, body)
	}
	return pl
}

// result of an HTTP request made in the background.
type result struct {
	code int
	body string
}

func getAsync(t testing.TB, url string) <-chan result {
	ch := make(chan result, 1)
	go func() {
		resp, err := http.Get(url)
		if err != nil {
			ch <- result{code: -1, body: err.Error()}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		ch <- result{code: resp.StatusCode, body: string(b)}
	}()
	return ch
}

// pending reports whether ch has no answer yet after a short grace.
func pending(ch <-chan result) bool {
	select {
	case <-ch:
		return false
	case <-time.After(300 * time.Millisecond):
		return true
	}
}

func livetestParse(body string) (*livetest.Playlist, error) {
	return livetest.ParsePlaylist([]byte(body))
}
