package testcam

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/base"
	"github.com/bluenviron/gortsplib/v4/pkg/description"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/bluenviron/gortsplib/v4/pkg/format/rtph264"
	"github.com/bluenviron/gortsplib/v4/pkg/liberrors"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/pion/rtp"

	"github.com/kuzet/kuzet/internal/rtspserve"
	"github.com/kuzet/kuzet/internal/testkit"
)

func startServer(t testing.TB, o Options) *Server {
	t.Helper()
	if o.Listen == "" {
		o.Listen = "127.0.0.1:0"
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	s, err := Start(o)
	if err != nil {
		t.Fatalf("start testcam: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// testWriter sends server logs to the test log, so they show on failure.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// received is one decoded access unit as a reader saw it.
type received struct {
	at  time.Duration // since PLAY
	ts  uint32
	idr bool
}

// pull reads url's H.264 media for d and returns its format and access units.
func pull(t *testing.T, url string, tr gortsplib.Transport, d time.Duration) (*format.H264, []received) {
	t.Helper()
	u, err := base.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	c := gortsplib.Client{Scheme: u.Scheme, Host: u.Host, Transport: &tr}
	if err := c.Start2(); err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer c.Close()

	desc, _, err := c.Describe(u)
	if err != nil {
		t.Fatalf("DESCRIBE %s: %v", url, err)
	}
	var forma *format.H264
	medi := desc.FindFormat(&forma)
	if medi == nil {
		t.Fatalf("no H264 media in %s", url)
	}
	dec, err := forma.CreateDecoder()
	if err != nil {
		t.Fatal(err)
	}

	var (
		mu       sync.Mutex
		aus      []received
		decErr   error
		playedAt time.Time
	)
	if _, err := c.Setup(desc.BaseURL, medi, 0, 0); err != nil {
		t.Fatalf("SETUP over %v: %v", tr, err)
	}
	c.OnPacketRTP(medi, forma, func(pkt *rtp.Packet) {
		au, err := dec.Decode(pkt)
		mu.Lock()
		defer mu.Unlock()
		switch {
		case errors.Is(err, rtph264.ErrMorePacketsNeeded), errors.Is(err, rtph264.ErrNonStartingPacketAndNoPrevious):
		case err != nil:
			decErr = err
		default:
			aus = append(aus, received{at: time.Since(playedAt), ts: pkt.Timestamp, idr: h264.IsRandomAccess(au)})
		}
	})
	mu.Lock()
	playedAt = time.Now()
	mu.Unlock()
	if _, err := c.Play(nil); err != nil {
		t.Fatalf("PLAY: %v", err)
	}
	time.Sleep(d)
	c.Close()

	mu.Lock()
	defer mu.Unlock()
	if decErr != nil {
		t.Errorf("decode RTP/H264: %v", decErr)
	}
	return forma, aus
}

func TestPullCamera(t *testing.T) {
	s := startServer(t, Options{})
	for _, tr := range []gortsplib.Transport{gortsplib.TransportTCP, gortsplib.TransportUDP} {
		t.Run(tr.String(), func(t *testing.T) {
			forma, aus := pull(t, s.URL("cam1"), tr, 1500*time.Millisecond)

			var sps h264.SPS
			if err := sps.Unmarshal(forma.SPS); err != nil {
				t.Fatalf("SPS from the SDP: %v", err)
			}
			if sps.Width() != 1280 || sps.Height() != 720 {
				t.Errorf("SPS says %dx%d, want 1280x720", sps.Width(), sps.Height())
			}
			if forma.PPS == nil {
				t.Error("no PPS in the SDP")
			}

			if len(aus) < 20 {
				t.Fatalf("%d access units in 1.5 s, want >= 20", len(aus))
			}
			firstIDR := -1
			for i, au := range aus {
				if au.idr {
					firstIDR = i
					break
				}
			}
			if firstIDR < 0 || aus[firstIDR].at > 2*time.Second {
				t.Errorf("no IDR within 2 s (first at index %d)", firstIDR)
			}
			checkTimestamps(t, aus, tr == gortsplib.TransportTCP)
		})
	}
}

// checkTimestamps wants consecutive frames 3600 ticks (1/25 s at 90 kHz)
// apart; over UDP a lost packet may drop a frame, so a multiple will do.
func checkTimestamps(t *testing.T, aus []received, exact bool) {
	t.Helper()
	for i := 1; i < len(aus); i++ {
		d := aus[i].ts - aus[i-1].ts
		if d == 3600 || (!exact && d%3600 == 0 && d > 0 && d < 1<<31) {
			continue
		}
		t.Errorf("frame %d: timestamp %d follows %d (step %d, want 3600)", i, aus[i].ts, aus[i-1].ts, int32(d))
	}
}

// TestLoopKeepsTime loops a one-second clip (the demo's first GOP) on three
// cameras: time must run on across loops, with an IDR at each restart.
func TestLoopKeepsTime(t *testing.T) {
	aud := []byte{0, 0, 0, 1, 0x09}
	clip := DemoClip
	end := 0
	for range 26 { // cut before the 26th delimiter: 25 frames
		n := bytes.Index(clip[end+1:], aud)
		if n < 0 {
			t.Fatal("demo clip has fewer than 26 frames")
		}
		end += 1 + n
	}
	s := startServer(t, Options{Clip: clip[:end], Cameras: 3})

	_, aus := pull(t, s.URL("cam3"), gortsplib.TransportTCP, 2500*time.Millisecond)
	if len(aus) < 40 {
		t.Fatalf("%d access units in 2.5 s, want >= 40", len(aus))
	}
	checkTimestamps(t, aus, true)
	idrs := 0
	for _, au := range aus {
		if au.idr {
			idrs++
		}
	}
	if idrs < 2 {
		t.Errorf("%d IDRs in %d frames of a 25-frame loop, want >= 2", idrs, len(aus))
	}
}

func TestUnknownPathIs404(t *testing.T) {
	s := startServer(t, Options{Cameras: 2})
	for _, path := range []string{"cam3", "nope", "pub1", ""} {
		u, err := base.ParseURL(s.URL(path))
		if err != nil {
			t.Fatal(err)
		}
		c := gortsplib.Client{Scheme: u.Scheme, Host: u.Host}
		if err := c.Start2(); err != nil {
			t.Fatal(err)
		}
		_, _, err = c.Describe(u)
		c.Close()
		var bad liberrors.ErrClientBadStatusCode
		if !errors.As(err, &bad) || bad.Code != base.StatusNotFound {
			t.Errorf("DESCRIBE %q: got %v, want 404", path, err)
		}
	}
}

func TestPublishToCameraPathRefused(t *testing.T) {
	s := startServer(t, Options{})
	desc := &description.Session{Medias: []*description.Media{{
		Type:    description.MediaTypeAudio,
		Formats: []format.Format{&format.G711{PayloadTyp: 0, MULaw: true, SampleRate: 8000, ChannelCount: 1}},
	}}}
	var c gortsplib.Client
	err := c.StartRecording(s.URL("cam1"), desc)
	if err == nil {
		c.Close()
		t.Fatal("RECORD to cam1 accepted")
	}
	var bad liberrors.ErrClientBadStatusCode
	if !errors.As(err, &bad) || bad.Code != base.StatusForbidden {
		t.Errorf("got %v, want 403", err)
	}
}

// TestPublishRelaysAnyCodec publishes G.711 with gortsplib and reads it back
// byte for byte; when the publisher leaves, the reader is disconnected.
func TestPublishRelaysAnyCodec(t *testing.T) {
	s := startServer(t, Options{})
	forma := &format.G711{PayloadTyp: 8, MULaw: false, SampleRate: 8000, ChannelCount: 1}
	desc := &description.Session{Medias: []*description.Media{{Type: description.MediaTypeAudio, Formats: []format.Format{forma}}}}
	tcp := gortsplib.TransportTCP
	pub := gortsplib.Client{Transport: &tcp}
	if err := pub.StartRecording(s.URL("radio/1"), desc); err != nil {
		t.Fatalf("publish: %v", err)
	}
	defer pub.Close()

	u, _ := base.ParseURL(s.URL("radio/1"))
	rd := gortsplib.Client{Scheme: u.Scheme, Host: u.Host, Transport: &tcp}
	if err := rd.Start2(); err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	rdesc, _, err := rd.Describe(u)
	if err != nil {
		t.Fatalf("DESCRIBE published path: %v", err)
	}
	var rforma *format.G711
	medi := rdesc.FindFormat(&rforma)
	if medi == nil {
		t.Fatalf("published G.711 not in the reader's SDP")
	}
	if err := rd.SetupAll(rdesc.BaseURL, rdesc.Medias); err != nil {
		t.Fatal(err)
	}
	got := make(chan []byte, 100)
	rd.OnPacketRTP(medi, rforma, func(pkt *rtp.Packet) {
		select {
		case got <- bytes.Clone(pkt.Payload):
		default:
		}
	})
	if _, err := rd.Play(nil); err != nil {
		t.Fatal(err)
	}

	// Publish until one packet has come through, then check the next ones.
	deadline := time.After(5 * time.Second)
	sent := map[string]bool{}
	for seq := uint16(0); ; seq++ {
		payload := []byte(fmt.Sprintf("packet %05d %s", seq, strings.Repeat("x", 100)))
		sent[string(payload)] = true
		err := pub.WritePacketRTP(desc.Medias[0], &rtp.Packet{
			Header:  rtp.Header{Version: 2, PayloadType: 8, SequenceNumber: seq, Timestamp: uint32(seq) * 160, SSRC: 1},
			Payload: payload,
		})
		if err != nil {
			t.Fatalf("write: %v", err)
		}
		select {
		case p := <-got:
			if !sent[string(p)] {
				t.Fatalf("reader got %q, which was never published", p)
			}
			// Publisher leaves: the reader must be told.
			pub.Close()
			waitErr := make(chan error, 1)
			go func() { waitErr <- rd.Wait() }()
			select {
			case <-waitErr:
			case <-time.After(5 * time.Second):
				t.Fatal("reader still connected 5 s after the publisher left")
			}
			return
		case <-deadline:
			t.Fatal("no packet relayed within 5 s")
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// TestPublishFFmpeg publishes the clip with ffmpeg, as a real encoder would,
// and reads it back.
func TestPublishFFmpeg(t *testing.T) {
	testkit.Long(t)
	ffmpeg, err := exec.LookPath("ffmpeg")
	if err != nil {
		t.Fatal("ffmpeg not on PATH: apt-get install -y ffmpeg")
	}
	s := startServer(t, Options{})

	var stderr bytes.Buffer
	cmd := exec.Command(ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error",
		"-re", "-stream_loop", "-1", "-f", "h264", "-framerate", "25", "-i", "plates720p.h264",
		"-c", "copy", "-f", "rtsp", "-rtsp_transport", "tcp", s.URL("pub1"))
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start ffmpeg: %v", err)
	}
	pid := cmd.Process.Pid
	t.Cleanup(func() {
		// Kill exactly the process this test started.
		if p, err := os.FindProcess(pid); err == nil {
			p.Kill()
		}
		cmd.Wait()
		if t.Failed() {
			t.Logf("ffmpeg stderr: %s", stderr.String())
		}
	})

	// Wait until ffmpeg has announced the path.
	u, _ := base.ParseURL(s.URL("pub1"))
	deadline := time.Now().Add(10 * time.Second)
	for {
		c := gortsplib.Client{Scheme: u.Scheme, Host: u.Host}
		err := c.Start2()
		if err == nil {
			_, _, err = c.Describe(u)
			c.Close()
		}
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("pub1 not published within 10 s: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}

	for _, tr := range []gortsplib.Transport{gortsplib.TransportTCP, gortsplib.TransportUDP} {
		t.Run(tr.String(), func(t *testing.T) {
			_, aus := pull(t, s.URL("pub1"), tr, 2500*time.Millisecond)
			if len(aus) < 20 {
				t.Fatalf("%d access units in 2.5 s, want >= 20", len(aus))
			}
			idr := false
			for _, au := range aus {
				idr = idr || au.idr
			}
			if !idr {
				t.Error("no IDR relayed in 2.5 s")
			}
		})
	}
}

func TestStartErrors(t *testing.T) {
	if _, err := Start(Options{Clip: []byte("not video")}); err == nil || !strings.Contains(err.Error(), "parse clip") {
		t.Errorf("bad clip: got %v", err)
	}
	if _, err := Start(Options{Listen: "no-port"}); err == nil {
		t.Error("bad listen address accepted")
	}
	if _, err := Start(Options{UDPPort: 7001}); err == nil || !strings.Contains(err.Error(), "even") {
		t.Errorf("odd UDP port: got %v", err)
	}
	s := startServer(t, Options{})
	if _, err := Start(Options{Listen: s.Addr()}); err == nil {
		t.Error("second server on a bound port started")
	}

	// An explicit UDP pair: find a free one, release it, ask for it.
	pair, err := rtspserve.ListenUDP("127.0.0.1", 0)
	if err != nil {
		t.Fatal(err)
	}
	port := pair[0].LocalAddr().(*net.UDPAddr).Port
	pair[0].Close()
	pair[1].Close()
	s2 := startServer(t, Options{UDPPort: port})
	if got := s2.rtsp.UDPRTPAddress; got != fmt.Sprintf("127.0.0.1:%d", port) {
		t.Errorf("UDP RTP address %s, want port %d", got, port)
	}
	if _, err := Start(Options{UDPPort: port}); err == nil {
		t.Error("second server on a bound UDP pair started")
	}
}

// TestCloseStopsEverything checks that Close leaves no goroutine behind,
// even with a reader attached.
func TestCloseStopsEverything(t *testing.T) {
	before := runtime.NumGoroutine()

	s, err := Start(Options{Cameras: 4})
	if err != nil {
		t.Fatal(err)
	}
	u, _ := base.ParseURL(s.URL("cam2"))
	udp := gortsplib.TransportUDP
	c := gortsplib.Client{Scheme: u.Scheme, Host: u.Host, Transport: &udp}
	if err := c.Start2(); err != nil {
		t.Fatal(err)
	}
	desc, _, err := c.Describe(u)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SetupAll(desc.BaseURL, desc.Medias); err != nil {
		t.Fatal(err)
	}
	got := make(chan struct{}, 1)
	c.OnPacketRTPAny(func(*description.Media, format.Format, *rtp.Packet) {
		select {
		case got <- struct{}{}:
		default:
		}
	})
	if _, err := c.Play(nil); err != nil {
		t.Fatal(err)
	}
	select {
	case <-got:
	case <-time.After(3 * time.Second):
		t.Fatal("no packet within 3 s")
	}

	s.Close() // with the client still connected
	s.Close() // twice is fine
	c.Close()

	deadline := time.Now().Add(3 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines before, %d after Close:\n%s",
				before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// BenchmarkFrame100Cameras measures the server's cost of one frame on 100
// camera streams (no readers: each reader only adds a queue push per packet).
func BenchmarkFrame100Cameras(b *testing.B) {
	s, err := start(Options{Listen: "127.0.0.1:0", Cameras: 100, DisableUDP: true}, false)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ntp := time.Now()
	b.ReportAllocs()
	for k := 0; b.Loop(); k++ {
		s.writeFrame(int64(k), ntp)
	}
}

func TestIsCamera(t *testing.T) {
	s := &Server{cameras: 12}
	for path, want := range map[string]bool{
		"cam1": true, "cam12": true, "cam13": false, "cam0": false, "cam01": false,
		"cam": false, "cam1x": false, "pub1": false, "cam-1": false, "": false,
	} {
		if got := s.isCamera(path); got != want {
			t.Errorf("isCamera(%q) = %v, want %v", path, got, want)
		}
	}
}

// TestSecondPublisherReplacesFirst: a restarted encoder must not have to wait
// for its old session to time out.
func TestSecondPublisherReplacesFirst(t *testing.T) {
	s := startServer(t, Options{})
	desc := func() *description.Session {
		return &description.Session{Medias: []*description.Media{{
			Type:    description.MediaTypeAudio,
			Formats: []format.Format{&format.G711{PayloadTyp: 0, MULaw: true, SampleRate: 8000, ChannelCount: 1}},
		}}}
	}
	var first, second gortsplib.Client
	if err := first.StartRecording(s.URL("pub1"), desc()); err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	if err := second.StartRecording(s.URL("pub1"), desc()); err != nil {
		t.Fatalf("second publisher: %v", err)
	}
	defer second.Close()

	done := make(chan error, 1)
	go func() { done <- first.Wait() }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("first publisher not disconnected")
	}
	if st := s.stream("pub1"); st == nil {
		t.Fatal("pub1 gone after the first publisher was replaced")
	}
}
