package restream

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/base"
	"github.com/bluenviron/gortsplib/v4/pkg/description"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/pion/rtp"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/kuzet/kuzet/config"
	"github.com/kuzet/kuzet/internal/mediatest"
	"github.com/kuzet/kuzet/internal/testkit"
	"github.com/kuzet/kuzet/media"
	"github.com/kuzet/kuzet/site"
	"github.com/kuzet/kuzet/testcam"
)

func newServer(t *testing.T, o Options) *Server {
	t.Helper()
	o.Listen = "127.0.0.1:0"
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return s
}

// startSite pulls the synthetic camera into a site feeding s.
func startSite(t *testing.T, s *Server) {
	t.Helper()
	src, err := testcam.Start(testcam.Options{Listen: "127.0.0.1:0", DisableUDP: true})
	if err != nil {
		t.Fatal(err)
	}
	st := site.New(site.Options{
		Cameras: []config.Camera{{ID: "Camera1", URL: src.URL("cam1"), Transport: "tcp",
			OfflineAfter: config.Duration(3 * time.Second)}},
		Consumers:  []media.Consumer{s.Consumer()},
		BackoffMin: 100 * time.Millisecond, BackoffMax: time.Second,
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { st.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done; src.Close() })
	deadline := time.Now().Add(20 * time.Second)
	for {
		if st, code := s.lookup("Camera1"); st != nil && code == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("camera session never opened")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func needFFmpeg(t *testing.T) {
	t.Helper()
	for _, p := range []string{"ffmpeg", "ffprobe"} {
		if _, err := exec.LookPath(p); err != nil {
			t.Fatal(p + " not installed: apt-get install -y ffmpeg")
		}
	}
}

// ffmpeg and ffprobe read the re-stream over TCP and UDP: SPS/PPS in the
// SDP, 1280x720 H.264 that decodes.
func TestFFmpegReadsRestream(t *testing.T) {
	testkit.Long(t)
	needFFmpeg(t)
	s := newServer(t, Options{Cameras: []string{"Camera1"}})
	startSite(t, s)
	url := "rtsp://" + s.Addr() + "/Camera1"
	for _, transport := range []string{"tcp", "udp"} {
		out, err := exec.Command("ffprobe", "-v", "error", "-rtsp_transport", transport, "-select_streams", "v:0",
			"-show_entries", "stream=codec_name,width,height", "-of", "json", url).Output()
		if err != nil {
			t.Fatalf("ffprobe over %s: %v: %s", transport, err, out)
		}
		var r struct {
			Streams []struct {
				Codec  string `json:"codec_name"`
				Width  int    `json:"width"`
				Height int    `json:"height"`
			} `json:"streams"`
		}
		if err := json.Unmarshal(out, &r); err != nil || len(r.Streams) != 1 ||
			r.Streams[0].Codec != "h264" || r.Streams[0].Width != 1280 || r.Streams[0].Height != 720 {
			t.Fatalf("ffprobe over %s: %s", transport, out)
		}
		file := filepath.Join(t.TempDir(), transport+".mp4")
		if out, err := exec.Command("ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-rtsp_transport", transport,
			"-i", url, "-t", "3", "-c", "copy", file).CombinedOutput(); err != nil {
			t.Fatalf("ffmpeg over %s: %v: %s", transport, err, out)
		}
		if info := mediatest.Probe(t, file); info.Codec != "h264" || info.Width != 1280 || info.Duration < 2.5 {
			t.Fatalf("copy over %s: %+v", transport, info)
		}
		if e := mediatest.DecodeErrors(t, file); e != "" {
			t.Fatalf("copy over %s: %s", transport, e)
		}
	}
}

// describe asks for url and returns the description or the error.
func describe(t *testing.T, url string) (*description.Session, error) {
	t.Helper()
	u, err := base.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	tcp := gortsplib.TransportTCP
	c := &gortsplib.Client{Scheme: u.Scheme, Host: u.Host, Transport: &tcp}
	if err := c.Start2(); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	d, _, err := c.Describe(u)
	return d, err
}

// Unknown paths are 404, configured cameras without a session 503, and
// readers need the credentials when there are some.
func TestPathsAndCredentials(t *testing.T) {
	s := newServer(t, Options{Cameras: []string{"Camera1", "Idle"}, User: "viewer", Password: "s3cret"})
	startSite(t, s)
	addr := s.Addr()
	for _, c := range []struct{ url, err string }{
		{"rtsp://viewer:s3cret@" + addr + "/Nope", "404"},
		{"rtsp://viewer:s3cret@" + addr + "/Idle", "503"},
		{"rtsp://" + addr + "/Camera1", "401"},
		{"rtsp://viewer:wrong@" + addr + "/Camera1", "401"},
		{"rtsp://viewer:s3cret@" + addr + "/Camera1", ""},
	} {
		d, err := describe(t, c.url)
		switch {
		case c.err == "" && err != nil:
			t.Errorf("%s: %v", c.url, err)
		case c.err == "" && len(d.Medias) != 1:
			t.Errorf("%s: %d medias", c.url, len(d.Medias))
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%s: error %v, want %s", c.url, err, c.err)
		}
	}
	if _, err := New(Options{Listen: "127.0.0.1:0", Password: "x"}); err == nil || !strings.Contains(err.Error(), "without rtsp.user") {
		t.Errorf("password without user: %v", err)
	}
	if _, err := New(Options{Listen: "127.0.0.1:0", UDPPort: 8001}); err == nil || !strings.Contains(err.Error(), "must be even") {
		t.Errorf("odd UDP port: %v", err)
	}
}

// reader plays url over TCP and records RTP timestamps of access units.
type reader struct {
	mu    sync.Mutex
	ts    []uint32
	forma *format.H264
}

func play(t *testing.T, url string) *reader {
	t.Helper()
	u, _ := base.ParseURL(url)
	tcp := gortsplib.TransportTCP
	c := &gortsplib.Client{Scheme: u.Scheme, Host: u.Host, Transport: &tcp}
	if err := c.Start2(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	d, _, err := c.Describe(u)
	if err != nil {
		t.Fatal(err)
	}
	r := &reader{}
	medi := d.FindFormat(&r.forma)
	if medi == nil {
		t.Fatal("no H.264 format")
	}
	if _, err := c.Setup(d.BaseURL, medi, 0, 0); err != nil {
		t.Fatal(err)
	}
	c.OnPacketRTP(medi, r.forma, func(p *rtp.Packet) {
		if p.Marker {
			r.mu.Lock()
			r.ts = append(r.ts, p.Timestamp)
			r.mu.Unlock()
		}
	})
	if _, err := c.Play(nil); err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *reader) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.ts)
}

// A camera without parameter sets in its SDP gets them into the
// re-stream's SDP from its stream; a reconnect keeps readers playing on a
// continuous clock.
func TestParamsInBandAndReconnect(t *testing.T) {
	s := newServer(t, Options{DisableUDP: true})
	clip, err := testcam.ParseAnnexB(testcam.DemoClip)
	if err != nil {
		t.Fatal(err)
	}
	feed := func(sink media.Sink, pts0 int64, n int) {
		for k := range n {
			f := clip.Frames[k%len(clip.Frames)]
			if err := sink.WriteUnit(&media.Unit{NALUs: f.NALUs, PTS: pts0 + int64(k)*3600, Time: time.Now()}); err != nil {
				t.Fatal(err)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	sink, err := s.Consumer().Open("Cam", media.Track{Codec: media.H264}, "start")
	if err != nil {
		t.Fatal(err)
	}
	url := "rtsp://" + s.Addr() + "/Cam"
	d, err := describe(t, url)
	if err != nil {
		t.Fatal(err)
	}
	if sps, _ := d.Medias[0].Formats[0].(*format.H264).SafeParams(); sps != nil {
		t.Fatal("SPS before the camera sent one")
	}
	feed(sink, 1000, 1)
	r := play(t, url)
	if sps, pps := r.forma.SafeParams(); string(sps) != string(clip.SPS) || string(pps) != string(clip.PPS) {
		t.Fatalf("SDP parameters %x %x", sps, pps)
	}
	if n := testutil.ToFloat64(s.met.readers.WithLabelValues("Cam")); n != 1 {
		t.Fatalf("%v readers, want 1", n)
	}
	feed(sink, 1000+3600, 49)
	if err := sink.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := describe(t, url); err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("describe between sessions: %v", err)
	}
	sink, err = s.Consumer().Open("Cam", media.Track{Codec: media.H264, SPS: clip.SPS, PPS: clip.PPS}, "reconnect")
	if err != nil {
		t.Fatal(err)
	}
	feed(sink, 77777777, 50)
	sink.Close()
	deadline := time.Now().Add(10 * time.Second)
	for r.count() < 99 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.ts) != 99 {
		t.Fatalf("reader got %d frames, want 99", len(r.ts))
	}
	for i := 1; i < len(r.ts); i++ {
		if d := r.ts[i] - r.ts[i-1]; d != 3600 {
			t.Fatalf("frame %d: RTP timestamp step %d, want 3600 %s", i, d, fmt.Sprint(r.ts[max(0, i-3):i+1]))
		}
	}
}
