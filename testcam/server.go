// Package testcam is a synthetic IP camera for tests, the demo and benchmarks:
// an RTSP server that loops an H.264 clip in real time on paths cam1..camN and,
// like a tiny MediaMTX, relays whatever a client publishes to any other path.
//
// It may import internal packages only: it stands for a camera, outside the
// node.
package testcam

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/description"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/pion/rtp"

	"github.com/kuzet/kuzet/internal/rtspserve"
)

const (
	h264ClockRate   = 90000
	h264PayloadType = 96
	// maxLag is how far the loop may fall behind real time before it gives up
	// catching up (which would burst frames) and shifts its schedule instead.
	maxLag = time.Second
)

// Options configures a Server. The zero value serves the demo clip on cam1
// at 25 fps on a free loopback port, over TCP and UDP.
type Options struct {
	// Listen is the RTSP (TCP) address, e.g. "127.0.0.1:8554". Port 0 picks
	// a free port (see Server.Addr); empty means "127.0.0.1:0".
	Listen string
	// Clip is Annex-B H.264 with an access unit delimiter before every frame
	// (see ParseAnnexB); nil means DemoClip.
	Clip []byte
	// FPS is the rate the clip is played at; default 25.
	FPS int
	// Cameras is how many paths (cam1..camN) loop the clip; default 1. Any
	// other path can be published to.
	Cameras int
	// SubStreams serves each camera's sub-stream too, at camN-sub: the
	// same frames at 640x360 (DemoSubClip), as IP cameras offer for small
	// tiles of a live grid.
	SubStreams bool
	// DisableUDP turns the UDP transport off; TCP is always available.
	DisableUDP bool
	// UDPPort is the even UDP port for RTP on the Listen host; RTCP uses
	// UDPPort+1 (gortsplib needs such a pair). 0 picks a free pair.
	UDPPort int
	// Logger receives structured logs; nil discards them.
	Logger *slog.Logger
}

// Server is a running synthetic camera. Create it with Start; stop it with
// Close.
type Server struct {
	log     *slog.Logger
	rtsp    *gortsplib.Server
	addr    string
	fps     int
	cameras int
	order   []*camera // in path order; complete before the loop starts
	packets [][]*rtp.Packet
	subPkts [][]*rtp.Packet // the sub-stream's, when served
	tsBase  uint32          // owned by the loop goroutine, like seq
	seq     uint16
	subSeq  uint16
	// stalled is the real time the loop has given up on: while it stood
	// still, no frames went out, and clients saw the camera pause.
	stalled atomic.Int64

	mu        sync.Mutex
	cams      map[string]*camera // by path; filled while the server already listens
	published map[string]*publication

	cancel    context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once
}

// camera is one looping path.
type camera struct {
	sub    bool // a sub-stream path, camN-sub
	path   string
	stream *gortsplib.ServerStream
	media  *description.Media
}

// publication is a path a client is recording to.
type publication struct {
	session *gortsplib.ServerSession
	stream  *gortsplib.ServerStream
}

// Start parses the clip, listens and starts looping it on every camera path.
func Start(o Options) (*Server, error) {
	return start(o, true)
}

// start is Start with the frame loop optional, so that a benchmark can drive
// writeFrame itself.
func start(o Options, runLoop bool) (*Server, error) {
	if o.Listen == "" {
		o.Listen = "127.0.0.1:0"
	}
	if o.Clip == nil {
		o.Clip = DemoClip
	}
	if o.FPS == 0 {
		o.FPS = 25
	}
	if o.Cameras == 0 {
		o.Cameras = 1
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.FPS < 0 || o.FPS > h264ClockRate {
		return nil, fmt.Errorf("testcam: FPS %d out of range", o.FPS)
	}
	if o.Cameras < 0 {
		return nil, fmt.Errorf("testcam: negative camera count %d", o.Cameras)
	}

	clip, err := ParseAnnexB(o.Clip)
	if err != nil {
		return nil, fmt.Errorf("testcam: parse clip: %w", err)
	}

	s := &Server{
		log:       o.Logger,
		fps:       o.FPS,
		cameras:   o.Cameras,
		cams:      make(map[string]*camera, 2*o.Cameras),
		published: make(map[string]*publication),
		tsBase:    rand.Uint32(), // random initial values, as RFC 3550 asks
		seq:       uint16(rand.Uint32()),
	}
	if s.packets, err = packetize(clip); err != nil {
		return nil, err
	}
	var sub *Clip
	if o.SubStreams {
		if sub, err = ParseAnnexB(DemoSubClip); err != nil {
			return nil, fmt.Errorf("testcam: parse sub clip: %w", err)
		}
		if s.subPkts, err = packetize(sub); err != nil {
			return nil, err
		}
	}
	if err := s.listen(o); err != nil {
		return nil, err
	}

	type path struct {
		name string
		clip *Clip
	}
	var paths []path
	for i := 1; i <= o.Cameras; i++ {
		paths = append(paths, path{"cam" + strconv.Itoa(i), clip})
		if sub != nil {
			paths = append(paths, path{"cam" + strconv.Itoa(i) + "-sub", sub})
		}
	}
	for _, p := range paths {
		// Each path gets its own description so no two streams share state.
		forma := &format.H264{
			PayloadTyp:        h264PayloadType,
			SPS:               p.clip.SPS,
			PPS:               p.clip.PPS,
			PacketizationMode: 1,
		}
		c := &camera{
			path:  p.name,
			sub:   p.clip != clip,
			media: &description.Media{Type: description.MediaTypeVideo, Formats: []format.Format{forma}},
		}
		c.stream = &gortsplib.ServerStream{
			Server: s.rtsp,
			Desc:   &description.Session{Title: "kuzet testcam " + c.path, Medias: []*description.Media{c.media}},
		}
		if err := c.stream.Initialize(); err != nil {
			s.closeStreams()
			s.rtsp.Close()
			return nil, fmt.Errorf("testcam: create stream %s: %w", c.path, err)
		}
		// Clients may already be connecting: the handler reads cams under mu.
		s.mu.Lock()
		s.cams[c.path] = c
		s.mu.Unlock()
		s.order = append(s.order, c)
	}

	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	if runLoop {
		s.wg.Add(1)
		go s.loop(ctx)
	}

	s.log.Info("testcam started", "addr", s.addr, "cameras", o.Cameras, "fps", o.FPS,
		"frames", len(clip.Frames), "width", clip.Width, "height", clip.Height)
	return s, nil
}

// listen starts the RTSP server on sockets of its own, so that port 0
// works and Addr can tell the real port.
func (s *Server) listen(o Options) error {
	// a frame of a high-bitrate clip is hundreds of packets: a queue as deep
	// as a camera's, so none is dropped at the start of a frame burst
	s.rtsp = &gortsplib.Server{Handler: &handler{s: s}, WriteQueueSize: 4096}
	addr, err := rtspserve.Start(s.rtsp, o.Listen, !o.DisableUDP, o.UDPPort)
	if err != nil {
		return fmt.Errorf("testcam: %w", err)
	}
	s.addr = addr
	if !o.DisableUDP {
		s.log.Debug("UDP transport enabled", "rtp", s.rtsp.UDPRTPAddress, "rtcp", s.rtsp.UDPRTCPAddress)
	}
	return nil
}

// packetize turns every frame into RTP packets once, up front; the loop only
// stamps sequence numbers and timestamps on them, which keeps the per-frame
// cost tiny even with many cameras.
func packetize(clip *Clip) ([][]*rtp.Packet, error) {
	forma := &format.H264{PayloadTyp: h264PayloadType, PacketizationMode: 1}
	enc, err := forma.CreateEncoder()
	if err != nil {
		return nil, fmt.Errorf("testcam: create RTP encoder: %w", err)
	}
	out := make([][]*rtp.Packet, len(clip.Frames))
	for i, f := range clip.Frames {
		if out[i], err = enc.Encode(f.NALUs); err != nil {
			return nil, fmt.Errorf("testcam: packetize frame %d: %w", i, err)
		}
	}
	return out, nil
}

// loop writes one frame to every camera stream each 1/FPS s. Timestamps
// follow the frame count and never reset, so the loop is seamless: the clip
// starts with an IDR and the RTP clock just keeps going.
func (s *Server) loop(ctx context.Context) {
	defer s.wg.Done()

	start := time.Now()
	timer := time.NewTimer(0)
	defer timer.Stop()

	for k := int64(0); ; k++ {
		offset := time.Duration(k) * time.Second / time.Duration(s.fps)
		if wait := time.Until(start.Add(offset)); wait > 0 {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				return
			case <-timer.C:
			}
		} else if -wait > maxLag {
			start = start.Add(-wait)
			s.stalled.Add(int64(-wait))
			s.log.Warn("frame loop fell behind real time; shifting its schedule", "lag", -wait)
		}
		if ctx.Err() != nil {
			return
		}
		s.writeFrame(k, start.Add(offset))
	}
}

// writeFrame sends frame number k (counted from the start, across loops) to
// every camera. Only the loop goroutine may call it.
func (s *Server) writeFrame(k int64, ntp time.Time) {
	ts := s.tsBase + uint32(k*h264ClockRate/int64(s.fps))
	pkts := s.packets[k%int64(len(s.packets))]
	for _, p := range pkts {
		p.Timestamp = ts
		p.SequenceNumber = s.seq
		s.seq++
	}
	var subs []*rtp.Packet
	if len(s.subPkts) > 0 {
		subs = s.subPkts[k%int64(len(s.subPkts))]
		for _, p := range subs {
			p.Timestamp = ts
			p.SequenceNumber = s.subSeq
			s.subSeq++
		}
	}
	// The same packets go to every stream: gortsplib marshals them
	// synchronously (setting its own SSRC), so sharing them is safe here.
	for _, c := range s.order {
		pkts := pkts
		if c.sub {
			pkts = subs
		}
		for _, p := range pkts {
			if err := c.stream.WritePacketRTPWithNTP(c.media, p, ntp); err != nil {
				s.log.Debug("write frame", "path", c.path, "error", err)
				break
			}
		}
	}
}

// Stalled returns how long, in total, the frame loop has fallen behind real
// time by more than it could catch up: time in which the camera sent nothing
// (its process was starved of CPU). Tests measuring loss against the wall
// clock subtract it.
func (s *Server) Stalled() time.Duration { return time.Duration(s.stalled.Load()) }

// Addr returns the host:port the RTSP server is bound to.
func (s *Server) Addr() string { return s.addr }

// URL returns rtsp://host:port/path for a path such as "cam1".
func (s *Server) URL(path string) string {
	return "rtsp://" + s.addr + "/" + strings.TrimPrefix(path, "/")
}

// Close stops the loop, disconnects every client and releases the ports;
// it returns when all goroutines are gone. It is safe to call twice.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		s.cancel()
		s.wg.Wait()
		s.rtsp.Close() // also ends publishers, whose streams close in OnSessionClose
		s.closeStreams()
		s.log.Info("testcam stopped", "addr", s.addr)
	})
}

func (s *Server) closeStreams() {
	for _, c := range s.order {
		c.stream.Close()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for path, p := range s.published {
		p.stream.Close()
		delete(s.published, path)
	}
}

// stream returns the stream served on path, or nil.
func (s *Server) stream(path string) *gortsplib.ServerStream {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.cams[path]; c != nil {
		return c.stream
	}
	if p := s.published[path]; p != nil {
		return p.stream
	}
	return nil
}

// isCamera reports whether path is one of cam1..camN, which only the loop
// feeds. It does not need cams, so it is right even while Start runs.
func (s *Server) isCamera(path string) bool {
	if len(s.subPkts) > 0 {
		path = strings.TrimSuffix(path, "-sub")
	}
	n, ok := strings.CutPrefix(path, "cam")
	if !ok {
		return false
	}
	i, err := strconv.Atoi(n)
	return err == nil && i >= 1 && i <= s.cameras && strconv.Itoa(i) == n
}

// cleanPath turns gortsplib's "/cam1" or "/cam1/" into "cam1".
func cleanPath(p string) string {
	return strings.Trim(p, "/")
}
