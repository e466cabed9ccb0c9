// Package wheptest is a WebRTC player on pion for tests: it offers to
// receive video over WHEP, as a browser does, and keeps what arrives.
package wheptest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
)

// Player is one WHEP session's receiving end.
type Player struct {
	PC       *webrtc.PeerConnection
	Location string // the session, from the answer

	mu     sync.Mutex
	frames []Frame
	sps    []byte // the last sequence parameter set received
}

// Frame is one received access unit.
type Frame struct {
	TS     uint32 // RTP timestamp
	Types  []byte // NAL unit types, in order
	RecvAt time.Time
}

// Dial posts an offer to url with hdr. With connect false the answer is
// not taken (a player gone mid-setup). A refusal returns a nil Player
// with the status and body.
func Dial(ctx context.Context, client *http.Client, url string, hdr http.Header, connect bool) (*Player, int, string, error) {
	return DialOver(ctx, client, url, hdr, connect, webrtc.NetworkTypeUDP4)
}

// DialOver is Dial over the given networks only (TCP4: a player whose
// UDP is blocked, reaching the node by ICE-TCP).
func DialOver(ctx context.Context, client *http.Client, url string, hdr http.Header, connect bool, nets ...webrtc.NetworkType) (*Player, int, string, error) {
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		return nil, 0, "", err
	}
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes(nets)
	api := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithSettingEngine(se))
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, 0, "", err
	}
	p := &Player{PC: pc}
	fail := func(code int, body string, err error) (*Player, int, string, error) {
		_ = pc.Close()
		return nil, code, body, err
	}
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo,
		webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		return fail(0, "", err)
	}
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) { go p.read(tr) })
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		return fail(0, "", err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		return fail(0, "", err)
	}
	<-gathered
	req, err := http.NewRequestWithContext(ctx, "POST", url, strings.NewReader(pc.LocalDescription().SDP))
	if err != nil {
		return fail(0, "", err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/sdp")
	res, err := client.Do(req)
	if err != nil {
		return fail(0, "", err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		return fail(res.StatusCode, string(body), nil)
	}
	p.Location = res.Header.Get("Location")
	if connect {
		if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: string(body)}); err != nil {
			return fail(res.StatusCode, string(body), fmt.Errorf("answer: %w", err))
		}
	}
	return p, res.StatusCode, string(body), nil
}

// read depacketises the track into access units (one per marker bit).
func (p *Player) read(tr *webrtc.TrackRemote) {
	var (
		dep codecs.H264Packet
		cur []byte
	)
	for {
		pkt, _, err := tr.ReadRTP()
		if err != nil {
			return
		}
		b, err := dep.Unmarshal(pkt.Payload)
		if err != nil {
			continue
		}
		cur = append(cur, b...)
		if !pkt.Marker {
			continue
		}
		var types []byte
		var sps []byte
		for _, n := range SplitAnnexB(cur) {
			types = append(types, n[0]&0x1f)
			if n[0]&0x1f == 7 {
				sps = append([]byte(nil), n...)
			}
		}
		p.mu.Lock()
		if sps != nil {
			p.sps = sps
		}
		p.frames = append(p.frames, Frame{TS: pkt.Timestamp, Types: types, RecvAt: time.Now()})
		p.mu.Unlock()
		cur = nil
	}
}

// Frames is what arrived so far.
func (p *Player) Frames() []Frame {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Frame(nil), p.frames...)
}

// Size is the picture size the last SPS received declares (0, 0 before).
func (p *Player) Size() (w, h int) {
	p.mu.Lock()
	sps := p.sps
	p.mu.Unlock()
	var s h264.SPS
	if sps == nil || s.Unmarshal(sps) != nil {
		return 0, 0
	}
	return s.Width(), s.Height()
}

// Connected reports whether the peer connection is up.
func (p *Player) Connected() bool {
	return p.PC.ConnectionState() == webrtc.PeerConnectionStateConnected
}

// Close drops the connection (with DTLS close_notify).
func (p *Player) Close() { _ = p.PC.Close() }

// SplitAnnexB splits a byte stream at its start codes.
func SplitAnnexB(b []byte) [][]byte {
	var out [][]byte
	start := -1
	for i := 0; i+2 < len(b); i++ {
		if b[i] == 0 && b[i+1] == 0 && b[i+2] == 1 {
			if start >= 0 {
				end := i
				if end > start && b[end-1] == 0 {
					end-- // a four-byte start code's leading zero
				}
				if end > start {
					out = append(out, b[start:end])
				}
			}
			start = i + 3
			i += 2
		}
	}
	if start >= 0 && start < len(b) {
		out = append(out, b[start:])
	}
	return out
}
