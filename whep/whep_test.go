package whep

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/kuzet/kuzet/media"
	"github.com/kuzet/kuzet/testcam"
	"github.com/kuzet/kuzet/whep/wheptest"
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

// camera feeds the clip into a sink at 25 fps, stamping each unit with
// the wall clock, from frame start on (a mid-GOP start when start > 0).
func feedCamera(t *testing.T, s *Server, id string, start int) (stop func()) {
	t.Helper()
	clip := demoClip(t)
	sink, err := s.Consumer().Open(id, media.Track{Codec: media.H264, SPS: clip.SPS, PPS: clip.PPS}, "test")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer sink.Close()
		tick := time.NewTicker(40 * time.Millisecond)
		defer tick.Stop()
		pts := int64(123456)
		for k := start; ; k++ {
			fr := clip.Frames[k%len(clip.Frames)]
			if err := sink.WriteUnit(&media.Unit{NALUs: fr.NALUs, PTS: pts, Time: time.Now()}); err != nil {
				return
			}
			pts += media.ClockRate / 25
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return func() { cancel(); <-done }
}

func newServer(t *testing.T, o Options) (*Server, *httptest.Server) {
	t.Helper()
	if o.Listen == "" {
		o.Listen = "127.0.0.1:0"
	}
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /whep/{camera}", func(w http.ResponseWriter, r *http.Request) {
		s.ServeOffer(w, r, r.PathValue("camera"), r.Header.Get("X-User"), "/whep/sessions/")
	})
	mux.HandleFunc("DELETE /whep/sessions/{id}", func(w http.ResponseWriter, r *http.Request) {
		s.ServeEnd(w, r.PathValue("id"), r.Header.Get("X-User"))
	})
	hs := httptest.NewServer(mux)
	t.Cleanup(func() { hs.Close(); _ = s.Close() })
	return s, hs
}

// dialAnd offers for camera as user; with connect false, the player
// never takes the answer (a browser tab closed mid-setup).
func dialAnd(t *testing.T, base, camera, user string, connect bool) (*wheptest.Player, *http.Response, string) {
	t.Helper()
	p, code, body, err := wheptest.Dial(context.Background(), http.DefaultClient, base+"/whep/"+camera,
		http.Header{"X-User": {user}}, connect)
	if err != nil {
		t.Fatal(err)
	}
	if p != nil {
		t.Cleanup(p.Close)
	}
	return p, &http.Response{StatusCode: code}, body
}

func dial(t *testing.T, base, camera, user string) (*wheptest.Player, *http.Response, string) {
	t.Helper()
	return dialAnd(t, base, camera, user, true)
}

func waitFor(t *testing.T, what string, d time.Duration, ok func() bool) {
	t.Helper()
	end := time.Now().Add(d)
	for !ok() {
		if time.Now().After(end) {
			t.Fatalf("after %v: %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestPlayerGetsFramesStampedWithTheirWallClock: a player that joins in
// the middle of a GOP first gets the next keyframe with its parameter
// sets, then every frame, each RTP timestamp being the frame's wall clock.
func TestPlayerGetsFramesStampedWithTheirWallClock(t *testing.T) {
	s, hs := newServer(t, Options{})
	stop := feedCamera(t, s, "Camera1", 5)
	defer stop()
	time.Sleep(100 * time.Millisecond)
	p, res, body := dial(t, hs.URL, "Camera1", "ann")
	if p == nil {
		t.Fatalf("offer: %d %s", res.StatusCode, body)
	}
	if !strings.HasPrefix(p.Location, "/whep/sessions/") {
		t.Fatalf("Location %q", p.Location)
	}
	waitFor(t, "50 frames", 10*time.Second, func() bool { return len(p.Frames()) >= 50 })
	fr := p.Frames()
	if got := fr[0].Types; len(got) < 3 || got[0] != 7 || got[1] != 8 || got[2] != 5 {
		t.Fatalf("first frame's NAL unit types %v, want SPS, PPS, IDR first", got)
	}
	var worst time.Duration
	for i, f := range fr {
		if i > 0 && int32(f.TS-fr[i-1].TS) != media.ClockRate/25 {
			t.Fatalf("frame %d: RTP step %d, want %d (the camera's pacing)", i, int32(f.TS-fr[i-1].TS), media.ClockRate/25)
		}
		// the stamps follow the camera's pacing from the first frame's
		// arrival, so a frame the feeder sent a little early arrives a
		// little before its stamp
		d := f.RecvAt.Sub(WallTime(f.TS, f.RecvAt))
		if d < -100*time.Millisecond || d > 300*time.Millisecond {
			t.Fatalf("frame %d arrived %v after its wall clock, want -100..300 ms on loopback", i, d)
		}
		worst = max(worst, d.Abs())
	}
	t.Logf("%d frames, arrival at most %v from the frame clock", len(fr), worst)
	if s.Viewers("Camera1") != 1 || s.Sessions() != 1 {
		t.Fatalf("viewers %d sessions %d, want 1 1", s.Viewers("Camera1"), s.Sessions())
	}

	// only the owner ends it
	del := func(user string) int {
		req, _ := http.NewRequest("DELETE", hs.URL+p.Location, nil)
		req.Header.Set("X-User", user)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if c := del("bob"); c != http.StatusNotFound {
		t.Fatalf("DELETE by another user: %d, want 404", c)
	}
	if c := del("ann"); c != http.StatusNoContent {
		t.Fatalf("DELETE by its owner: %d, want 204", c)
	}
	if s.Sessions() != 0 || s.Viewers("Camera1") != 0 {
		t.Fatalf("after DELETE: sessions %d", s.Sessions())
	}
}

// TestOfferRefusals: each refusal names what was wrong, with the status a
// player can act on (503: retry or fall back; 406: play HLS instead).
func TestOfferRefusals(t *testing.T) {
	s, hs := newServer(t, Options{MaxSessions: 1})
	stop := feedCamera(t, s, "Camera1", 0)
	defer stop()
	sink, err := s.Consumer().Open("Camera2", media.Track{Codec: media.H265}, "test")
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()

	for _, c := range []struct {
		camera, ctype, body string
		code                int
		says                string
	}{
		{"Nowhere", "application/sdp", "v=0", 503, "not streaming"},
		{"Camera2", "application/sdp", "v=0", 406, "H.265"},
		{"Camera1", "text/plain", "v=0", 415, "application/sdp"},
		{"Camera1", "application/sdp", "not an SDP", 400, "bad SDP offer"},
		{"Camera1", "application/sdp", strings.Repeat("a", 70<<10), 413, "64 KiB"},
	} {
		res, err := http.Post(hs.URL+"/whep/"+c.camera, c.ctype, strings.NewReader(c.body))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != c.code || !strings.Contains(string(b), c.says) {
			t.Errorf("%s %s: %d %q, want %d naming %q", c.camera, c.ctype, res.StatusCode, b, c.code, c.says)
		}
	}
	if s.Sessions() != 0 {
		t.Fatalf("refused offers left %d sessions", s.Sessions())
	}
	if p, res, body := dial(t, hs.URL, "Camera1", "ann"); p == nil {
		t.Fatalf("first session: %d %s", res.StatusCode, body)
	}
	if p, res, body := dial(t, hs.URL, "Camera1", "ann"); p != nil || res.StatusCode != 503 || !strings.Contains(body, "too many") {
		t.Fatalf("second session over max_sessions 1: %d %s", res.StatusCode, body)
	}
}

// TestOneUserCannotTakeEverySession: past max_sessions_per_user one login
// is refused (503, naming why), and another user still plays.
func TestOneUserCannotTakeEverySession(t *testing.T) {
	s, hs := newServer(t, Options{MaxSessions: 10, MaxPerUser: 3})
	stop := feedCamera(t, s, "Camera1", 0)
	defer stop()
	for i := range 3 {
		if p, res, body := dial(t, hs.URL, "Camera1", "mallory"); p == nil {
			t.Fatalf("session %d: %d %s", i, res.StatusCode, body)
		}
	}
	if p, res, body := dial(t, hs.URL, "Camera1", "mallory"); p != nil || res.StatusCode != 503 || !strings.Contains(body, "this user") {
		t.Fatalf("a fourth session of one user: %d %s", res.StatusCode, body)
	}
	if p, res, body := dial(t, hs.URL, "Camera1", "ann"); p == nil {
		t.Fatalf("another user: %d %s", res.StatusCode, body)
	}
	// offers sent at once cannot all pass the check before any registers
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[int]int{}
	for range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, code, _, err := wheptest.Dial(context.Background(), http.DefaultClient, hs.URL+"/whep/Camera1",
				http.Header{"X-User": {"eve"}}, true)
			if err != nil {
				t.Error(err)
				return
			}
			if p != nil {
				t.Cleanup(p.Close)
			}
			mu.Lock()
			codes[code]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if codes[201] != 3 || codes[503] != 9 {
		t.Fatalf("12 offers of one user at once: %v, want 3 answered and 9 refused", codes)
	}
}

// TestASessionCountsOnce: a session registered while another offer of
// its user is still being answered holds one slot, not its offer's and its
// own (a user with two sessions was refused a third when the other twelve
// offers of a burst were checked in that moment).
func TestASessionCountsOnce(t *testing.T) {
	s, _ := newServer(t, Options{MaxSessions: 10, MaxPerUser: 3})
	stop := feedCamera(t, s, "Camera1", 0)
	defer stop()
	for i := range 2 {
		if _, err := s.hold("Camera1", "eve"); err != nil {
			t.Fatalf("offer %d: %v", i, err)
		}
	}
	v := &session{id: "first", who: "eve"} // no peer: taken out before the server closes
	if err := s.register(v); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.mu.Lock()
		delete(s.sessions, v.id)
		s.mu.Unlock()
	})
	if _, err := s.hold("Camera1", "eve"); err != nil {
		t.Fatalf("a third offer with one session and one offer open: %v", err)
	}
	if _, err := s.hold("Camera1", "eve"); !errors.Is(err, ErrUserFull) {
		t.Fatalf("a fourth offer: %v, want %v", err, ErrUserFull)
	}
	s.mu.Lock()
	s.release("eve")
	s.release("eve")
	open, mine := s.openingAll, s.opening["eve"]
	s.mu.Unlock()
	if open != 0 || mine != 0 {
		t.Fatalf("after the offers were given back: %d offers open, %d of them eve's", open, mine)
	}
}

// TestSessionsComeAndGo crosses the session limit many times over:
// players that leave with DELETE, that close their connection, and that
// never take their answer are all reaped, and the port keeps serving.
func TestSessionsComeAndGo(t *testing.T) {
	s, hs := newServer(t, Options{MaxSessions: 4, ConnectTimeout: time.Second})
	stop := feedCamera(t, s, "Camera1", 0)
	defer stop()
	const rounds = 60
	for i := range rounds {
		mode := i % 3
		p, res, body := dialAnd(t, hs.URL, "Camera1", "ann", mode != 2)
		if p == nil {
			t.Fatalf("round %d: %d %s", i, res.StatusCode, body)
		}
		switch mode {
		case 0:
			if i%12 == 0 { // a keyframe takes up to a GOP (1 s): look now and then
				waitFor(t, fmt.Sprintf("round %d: a keyframe", i), 5*time.Second, func() bool { return len(p.Frames()) > 0 })
			}
			req, _ := http.NewRequest("DELETE", hs.URL+p.Location, nil)
			req.Header.Set("X-User", "ann")
			res, err := http.DefaultClient.Do(req)
			if err != nil || res.StatusCode != 204 {
				t.Fatalf("round %d: DELETE %v %v", i, err, res)
			}
			res.Body.Close()
			p.Close()
		case 1:
			waitFor(t, fmt.Sprintf("round %d: connected", i), 5*time.Second, func() bool {
				return p.Connected()
			})
			p.Close()
		}
		// a player gone without DELETE holds its slot until it is found gone
		waitFor(t, fmt.Sprintf("round %d: a free slot", i), 15*time.Second, func() bool { return s.Sessions() < 4 })
	}
	waitFor(t, "every session reaped", 15*time.Second, func() bool { return s.Sessions() == 0 })
	if n := s.Viewers("Camera1"); n != 0 {
		t.Fatalf("%d viewers left", n)
	}
	p, res, body := dial(t, hs.URL, "Camera1", "ann")
	if p == nil {
		t.Fatalf("after %d rounds: %d %s", rounds, res.StatusCode, body)
	}
	waitFor(t, "frames after every round", 5*time.Second, func() bool { return len(p.Frames()) > 10 })
}

// TestNewCameraSessionRestartsAtAKeyframe: when the camera reconnects
// (a new session, mid-GOP), the player gets nothing until its keyframe.
func TestNewCameraSessionRestartsAtAKeyframe(t *testing.T) {
	s, hs := newServer(t, Options{})
	stop := feedCamera(t, s, "Camera1", 0)
	p, res, body := dial(t, hs.URL, "Camera1", "ann")
	if p == nil {
		t.Fatalf("offer: %d %s", res.StatusCode, body)
	}
	waitFor(t, "frames", 5*time.Second, func() bool { return len(p.Frames()) >= 5 })
	stop()
	n := len(p.Frames())
	stop = feedCamera(t, s, "Camera1", 7)
	defer stop()
	waitFor(t, "frames after the reconnect", 5*time.Second, func() bool { return len(p.Frames()) >= n+5 })
	fr := p.Frames()[n]
	if len(fr.Types) < 3 || fr.Types[0] != 7 || fr.Types[2] != 5 {
		t.Fatalf("first frame after the reconnect: NAL types %v, want SPS, PPS, IDR", fr.Types)
	}
}

// TestHostsAreAdvertised: behind 1:1 NAT the public address is offered
// beside the interface's.
func TestHostsAreAdvertised(t *testing.T) {
	s, hs := newServer(t, Options{Hosts: []string{"203.0.113.7"}})
	stop := feedCamera(t, s, "Camera1", 0)
	defer stop()
	p, res, body := dial(t, hs.URL, "Camera1", "ann")
	if p == nil {
		t.Fatalf("offer: %d %s", res.StatusCode, body)
	}
	if !strings.Contains(body, " 203.0.113.7 ") || !strings.Contains(body, " 127.0.0.1 ") {
		t.Fatalf("answer lacks the advertised or the local address:\n%s", body)
	}
	waitFor(t, "frames over the local address", 5*time.Second, func() bool { return len(p.Frames()) > 0 })
}

// TestPlayerWithoutUDP: a player that can use TCP only (UDP blocked on
// its network) plays through the node's ICE-TCP port.
func TestPlayerWithoutUDP(t *testing.T) {
	s, hs := newServer(t, Options{})
	stop := feedCamera(t, s, "Camera1", 0)
	defer stop()
	p, code, body, err := wheptest.DialOver(context.Background(), http.DefaultClient, hs.URL+"/whep/Camera1",
		http.Header{"X-User": {"ann"}}, true, webrtc.NetworkTypeTCP4)
	if err != nil || p == nil {
		t.Fatalf("offer: %v %d %s", err, code, body)
	}
	defer p.Close()
	if !strings.Contains(body, " tcp ") || !strings.Contains(body, "tcptype passive") {
		t.Fatalf("the answer offers no passive TCP candidate:\n%s", body)
	}
	waitFor(t, "frames over TCP", 10*time.Second, func() bool { return len(p.Frames()) >= 25 })
}

// TestWallTimeRoundTrips across the 2^32 wrap.
func TestWallTimeRoundTrips(t *testing.T) {
	for _, ts := range []time.Time{time.Now(), time.Unix(1<<32/90000*1000, 0), time.Date(2026, 12, 4, 19, 0, 0, 0, time.UTC)} {
		for _, off := range []time.Duration{0, -3 * time.Second, 5 * time.Hour, -6 * time.Hour} {
			got := WallTime(RTPTime(ts), ts.Add(off))
			if d := got.Sub(ts); d < -time.Millisecond || d > time.Millisecond {
				t.Errorf("%v seen from %v: %v off", ts, off, d)
			}
		}
	}
}
