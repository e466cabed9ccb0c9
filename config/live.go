package config

import (
	"net"
	"slices"
	"time"
)

// Live tunes the LL-HLS live view (docs/live.md).
type Live struct {
	Part     Duration `yaml:"part"`      // partial segment target (default 200ms)
	Segment  Duration `yaml:"segment"`   // shortest segment (default 1s)
	Segments int      `yaml:"segments"`  // complete segments listed (default 7)
	IdleStop Duration `yaml:"idle_stop"` // stop a muxer unwatched this long (default 60s)
	WebRTC   WebRTC   `yaml:"webrtc"`
	// Transcode plays cameras browsers cannot (H.265, M-JPEG, MPEG-4
	// Part 2) as H.264 at CAMERA~h264, while watched.
	Transcode Transcode `yaml:"transcode"`
}

// Transcode limits live transcoding (docs/live.md, "Transcoded views").
type Transcode struct {
	Max      int      `yaml:"max"`       // cameras at once (default 2; -1: off)
	MaxWidth int      `yaml:"max_width"` // output width cap (default 1280)
	Preset   string   `yaml:"preset"`    // x264 preset (default veryfast)
	CRF      int      `yaml:"crf"`       // x264 quality, 0..51 (default 26)
	GOP      Duration `yaml:"gop"`       // keyframe interval (default 1s)
}

// WebRTC plays every camera live a fraction of a second behind it, for
// players that reach the node's UDP port (docs/live.md, "WebRTC").
type WebRTC struct {
	Off         bool     `yaml:"off"`
	Listen      string   `yaml:"listen"`                // UDP and TCP host:port every session shares (default :8189; port 0 picks one)
	Hosts       []string `yaml:"hosts"`                 // IPs advertised besides the interfaces' (1:1 NAT)
	MaxSessions int      `yaml:"max_sessions"`          // default 64
	MaxPerUser  int      `yaml:"max_sessions_per_user"` // default 32
}

// DefaultWebRTCListen is the port (UDP and TCP) WebRTC players reach.
const DefaultWebRTCListen = ":8189"

// RTSP re-streams every camera from the node's own RTSP server (NVMS-6.6);
// no listen: off.
type RTSP struct {
	Listen   string `yaml:"listen"`
	UDPPort  int    `yaml:"udp_port"` // even RTP port, RTCP on +1; 0: TCP only
	User     string `yaml:"user"`
	Password string `yaml:"password"`
}

func (c *Config) validateLive(bad func(key, format string, args ...any) error) error {
	l := c.Live
	if l.Part != 0 && (l.Part.Std() < 50*time.Millisecond || l.Part.Std() > 2*time.Second) {
		return bad("live.part", "must be between 50ms and 2s (got %v)", l.Part.Std())
	}
	if l.Segment != 0 && (l.Segment.Std() < 500*time.Millisecond || l.Segment.Std() > 10*time.Second) {
		return bad("live.segment", "must be between 500ms and 10s (got %v)", l.Segment.Std())
	}
	if l.Segments < 0 || l.Segments > 100 {
		return bad("live.segments", "must be 0..100 (got %d)", l.Segments)
	}
	if l.IdleStop < 0 {
		return bad("live.idle_stop", "must not be negative")
	}
	if tc := l.Transcode; tc.Max < -1 || tc.Max > 64 {
		return bad("live.transcode.max", "must be -1 (off) .. 64 (got %d)", tc.Max)
	} else if tc.MaxWidth != 0 && (tc.MaxWidth < 160 || tc.MaxWidth > 3840) {
		return bad("live.transcode.max_width", "must be 160..3840 (got %d)", tc.MaxWidth)
	} else if tc.CRF < 0 || tc.CRF > 51 {
		return bad("live.transcode.crf", "must be 0..51 (got %d)", tc.CRF)
	} else if tc.GOP < 0 || tc.GOP.Std() > 10*time.Second {
		return bad("live.transcode.gop", "must be 0..10s (got %v)", tc.GOP.Std())
	} else if tc.Preset != "" && !slices.Contains([]string{"ultrafast", "superfast", "veryfast", "faster", "fast", "medium"}, tc.Preset) {
		return bad("live.transcode.preset", "must be one of ultrafast, superfast, veryfast, faster, fast, medium (got %q)", tc.Preset)
	}
	if w := l.WebRTC; !w.Off {
		if w.Listen != "" {
			if _, port, err := net.SplitHostPort(w.Listen); err != nil || port == "" {
				return bad("live.webrtc.listen", "must be host:port (UDP), e.g. :8189 (got %q)", w.Listen)
			}
		}
		for _, h := range w.Hosts {
			if net.ParseIP(h) == nil {
				return bad("live.webrtc.hosts", "must be IP addresses (got %q)", h)
			}
		}
		if w.MaxSessions < 0 || w.MaxSessions > 10000 {
			return bad("live.webrtc.max_sessions", "must be 0..10000 (got %d)", w.MaxSessions)
		}
		if w.MaxPerUser < 0 || w.MaxPerUser > 10000 {
			return bad("live.webrtc.max_sessions_per_user", "must be 0..10000 (got %d)", w.MaxPerUser)
		}
	}
	r := c.RTSP
	if r.Listen == "" {
		return nil
	}
	if _, port, err := net.SplitHostPort(r.Listen); err != nil || port == "" {
		return bad("rtsp.listen", "must be host:port, e.g. 0.0.0.0:8554 (got %q)", r.Listen)
	}
	if r.UDPPort < 0 || r.UDPPort > 65534 || r.UDPPort%2 != 0 {
		return bad("rtsp.udp_port", "must be an even port (RTCP uses the next), or 0 for TCP only (got %d)", r.UDPPort)
	}
	if (r.User == "") != (r.Password == "") {
		return bad("rtsp.user", "user and password go together")
	}
	return nil
}
