// Package whep serves every camera live over WebRTC, signalled by WHEP
// (RFC 9725: the player POSTs an SDP offer, the answer comes back with a
// session to DELETE). It is fed as a media.Consumer like the LL-HLS view,
// so a relayed camera plays from any ancestor. H.264 only: that is what
// browsers decode over WebRTC; players fall back to LL-HLS otherwise.
//
// Each RTP timestamp is the frame's wall clock (90 kHz, mod 2^32), so a
// player can tell how far behind the camera it shows a frame without any
// other channel (docs/live.md, "WebRTC").
package whep

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kuzet/kuzet/media"
)

// Errors an offer can meet; the HTTP side maps them to statuses.
var (
	ErrOff          = errors.New("WebRTC is off on this node")
	ErrNotStreaming = errors.New("camera not streaming")
	ErrCodec        = errors.New("camera sends H.265, which browsers do not play over WebRTC: use the HLS view")
	ErrFull         = errors.New("too many WebRTC sessions on this node")
	ErrUserFull     = errors.New("too many WebRTC sessions of this user: close some tiles")
	ErrNoSession    = errors.New("no such WebRTC session")
	ErrBadOffer     = errors.New("bad SDP offer")
)

// Options configure the server.
type Options struct {
	// Listen is the UDP address every session shares ("host:port"), and
	// the TCP one of ICE-TCP for players whose UDP is blocked; an empty
	// host binds every interface, port 0 a free port.
	Listen string
	// Hosts are advertised besides the interfaces' addresses (a node
	// behind 1:1 NAT).
	Hosts []string
	// MaxSessions bounds concurrent sessions (default 64); MaxPerUser
	// bounds one user's (default 32: two 4x4 grids), so that one login
	// cannot take every session.
	MaxSessions int
	MaxPerUser  int
	// Queue is how many units may wait for one session; past it the
	// session skips to the next keyframe (default 120).
	Queue int
	// ConnectTimeout closes a session whose peer never connects (default 15 s).
	ConnectTimeout time.Duration
	Logger         *slog.Logger
	Registerer     prometheus.Registerer
}

// Server holds the sessions and the cameras' feeds.
type Server struct {
	o   Options
	log *slog.Logger
	met *metrics
	api *webrtc.API
	mux ice.UDPMux
	tcp ice.TCPMux

	mu         sync.Mutex
	cams       map[string]*camera
	sessions   map[string]*session
	opening    map[string]int // offers being answered, by user
	openingAll int
	closed     bool
}

// camera is one camera's feed: the current session's parameters and the
// sessions watching it.
type camera struct {
	mu      sync.Mutex
	track   media.Track
	feeds   int // open sinks (camera sessions)
	viewers map[*session]struct{}
}

// New binds the UDP port and prepares the WebRTC stack.
func New(o Options) (*Server, error) {
	if o.MaxSessions <= 0 {
		o.MaxSessions = 64
	}
	if o.MaxPerUser <= 0 {
		o.MaxPerUser = 32
	}
	if o.Queue <= 0 {
		o.Queue = 120
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = 15 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	met, err := newMetrics(o.Registerer)
	if err != nil {
		return nil, err
	}
	mux, err := listen(o.Listen)
	if err != nil {
		return nil, err
	}
	tcp, err := listenTCP(o.Listen)
	if err != nil {
		_ = mux.Close()
		return nil, err
	}
	api, err := newAPI(mux, tcp, o.Hosts)
	if err != nil {
		_ = mux.Close()
		_ = tcp.Close()
		return nil, err
	}
	return &Server{o: o, log: o.Logger, met: met, api: api, mux: mux, tcp: tcp,
		cams: map[string]*camera{}, sessions: map[string]*session{}, opening: map[string]int{}}, nil
}

// listen binds the shared UDP port: on one address, or on every
// interface's (loopback included, so a player on the node itself works).
func listen(addr string) (ice.UDPMux, error) {
	host, ps, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("webrtc listen %q: want host:port, e.g. :8189", addr)
	}
	port, err := strconv.Atoi(ps)
	if err != nil || port < 0 || port > 65535 {
		return nil, fmt.Errorf("webrtc listen %q: bad port", addr)
	}
	if host == "" || net.ParseIP(host).IsUnspecified() {
		m, err := ice.NewMultiUDPMuxFromPort(port, ice.UDPMuxFromPortWithLoopback(),
			ice.UDPMuxFromPortWithNetworks(ice.NetworkTypeUDP4))
		if err != nil {
			return nil, fmt.Errorf("webrtc listen %q: %w", addr, err)
		}
		return m, nil
	}
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("webrtc listen: %w", err)
	}
	return webrtc.NewICEUDPMux(nil, pc), nil
}

// listenTCP binds the ICE-TCP port: passive candidates on the same port
// number as UDP, for networks that let TCP through and not UDP. A
// connection that sends no STUN binding within 10 s is dropped.
func listenTCP(addr string) (ice.TCPMux, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("webrtc listen %q (TCP): %w", addr, err)
	}
	return ice.NewTCPMuxDefault(ice.TCPMuxParams{Listener: ln, ReadBufferSize: 8, WriteBufferSize: 4 << 20,
		FirstStunBindTimeout: 10 * time.Second}), nil
}

// h264Profiles are the profile-level-ids browsers offer; the stream plays
// whichever is negotiated, since decoders take any profile.
var h264Profiles = []string{"42001f", "42e01f", "4d001f", "64001f", "640032", "f4001f"}

func newAPI(mux ice.UDPMux, tcp ice.TCPMux, hosts []string) (*webrtc.API, error) {
	m := &webrtc.MediaEngine{}
	// nack and pli are added by ConfigureNack below
	fb := []webrtc.RTCPFeedback{{Type: "ccm", Parameter: "fir"}}
	for i, p := range h264Profiles {
		err := m.RegisterCodec(webrtc.RTPCodecParameters{
			RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: media.ClockRate,
				SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=" + p, RTCPFeedback: fb},
			PayloadType: webrtc.PayloadType(102 + i),
		}, webrtc.RTPCodecTypeVideo)
		if err != nil {
			return nil, err
		}
	}
	ir := &interceptor.Registry{}
	if err := webrtc.ConfigureNack(m, ir); err != nil {
		return nil, err
	}
	if err := webrtc.ConfigureRTCPReports(ir); err != nil {
		return nil, err
	}
	se := webrtc.SettingEngine{}
	se.SetICEUDPMux(mux)
	se.SetICETCPMux(tcp)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeTCP4})
	se.SetIncludeLoopbackCandidate(true)
	se.SetICETimeouts(4*time.Second, 8*time.Second, time.Second)
	if len(hosts) > 0 {
		// besides the interfaces' own: players on the LAN keep theirs
		if err := se.SetICEAddressRewriteRules(webrtc.ICEAddressRewriteRule{External: hosts,
			AsCandidateType: webrtc.ICECandidateTypeHost, Mode: webrtc.ICEAddressRewriteAppend}); err != nil {
			return nil, fmt.Errorf("webrtc hosts: %w", err)
		}
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se)), nil
}

// Consumer is what the site feeds: one sink per camera session.
func (s *Server) Consumer() media.Consumer {
	return media.Consumer{Name: "webrtc", Queue: 64, Open: s.open}
}

func (s *Server) open(camera string, track media.Track, _ string) (media.Sink, error) {
	c := s.camera(camera)
	c.mu.Lock()
	c.feeds++
	c.track = track.Clone()
	for v := range c.viewers {
		v.resync.Store(true) // a new session starts with its own keyframe
	}
	c.mu.Unlock()
	return &sink{c: c, s: s}, nil
}

func (s *Server) camera(id string) *camera {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.cams[id]
	if c == nil {
		c = &camera{viewers: map[*session]struct{}{}}
		s.cams[id] = c
	}
	return c
}

// Viewers is how many sessions watch camera, so that a relay stays up for
// them.
func (s *Server) Viewers(camera string) int {
	s.mu.Lock()
	c := s.cams[camera]
	s.mu.Unlock()
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.viewers)
}

// Sessions is how many sessions are open.
func (s *Server) Sessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
}

// Close ends every session and releases the port.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	var all []*session
	for _, v := range s.sessions {
		all = append(all, v)
	}
	s.mu.Unlock()
	for _, v := range all {
		v.close("node stopping")
	}
	return errors.Join(s.mux.Close(), s.tcp.Close())
}

// sink feeds one camera session to the camera's viewers.
type sink struct {
	c *camera
	s *Server
}

func (k *sink) WriteUnit(u *media.Unit) error {
	c := k.c
	c.mu.Lock()
	defer c.mu.Unlock()
	changed, _ := c.track.UpdateParams(u)
	if len(c.viewers) == 0 {
		return nil // every camera's every unit comes here: nothing more while nobody watches
	}
	if u = u.WithoutEmpty(); u == nil {
		return nil
	}
	var params [][]byte
	if c.track.Ready() {
		params = c.track.ParamNALUs()
	}
	for v := range c.viewers {
		if changed {
			v.resync.Store(true)
		}
		v.offer(unitItem{u: u, params: params, codec: c.track.Codec})
	}
	return nil
}

func (k *sink) Close() error {
	k.c.mu.Lock()
	k.c.feeds--
	k.c.mu.Unlock()
	return nil
}
