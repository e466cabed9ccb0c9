package whep

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"

	"github.com/kuzet/kuzet/media"
)

// mtu keeps RTP packets clear of fragmentation on tunnels and VPNs.
const mtu = 1200

// unitItem is one access unit on its way to a session.
type unitItem struct {
	u      *media.Unit
	params [][]byte // SPS, PPS of the session, to put before a keyframe that lacks them
	codec  media.Codec
}

// session is one player: a peer connection fed from its own queue, so a
// slow network never holds the camera's other consumers.
type session struct {
	id      string
	camera  string
	who     string
	created time.Time

	s     *Server
	c     *camera
	pc    *webrtc.PeerConnection
	track *webrtc.TrackLocalStaticRTP
	ch    chan unitItem

	resync    atomic.Bool // skip to the next keyframe (a drop, a new camera session)
	connected atomic.Bool
	closeOnce sync.Once
	done      chan struct{}
}

// Info describes an open session.
type Info struct {
	ID     string
	Camera string
	Answer string // SDP
}

// Offer answers a player's SDP offer for camera on behalf of who (the
// user, for the session's owner and the log).
func (s *Server) Offer(ctx context.Context, camera, who, offer string) (Info, error) {
	c, err := s.hold(camera, who)
	if err != nil {
		return Info{}, err
	}
	held := true
	defer func() {
		if held {
			s.mu.Lock()
			s.release(who)
			s.mu.Unlock()
		}
	}()
	c.mu.Lock()
	feeds, codec := c.feeds, c.track.Codec
	c.mu.Unlock()
	if feeds == 0 {
		return Info{}, ErrNotStreaming
	}
	if codec != media.H264 {
		return Info{}, ErrCodec
	}

	pc, err := s.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return Info{}, fmt.Errorf("webrtc: %w", err)
	}
	v := &session{id: newID(), camera: camera, who: who, created: time.Now(), s: s, c: c, pc: pc,
		ch: make(chan unitItem, s.o.Queue), done: make(chan struct{})}
	v.resync.Store(true)
	if err := v.negotiate(ctx, offer); err != nil {
		_ = pc.Close()
		return Info{}, err
	}
	if err := s.register(v); err != nil {
		_ = pc.Close()
		return Info{}, err
	}
	held = false
	c.mu.Lock()
	c.viewers[v] = struct{}{}
	c.mu.Unlock()
	select {
	case <-v.done:
		// the peer failed before the session was registered: its close
		// found nothing to remove
		v.unregister()
		return Info{}, fmt.Errorf("webrtc: the player went away while being answered")
	default:
	}
	go v.send()
	go v.watchConnect()
	s.log.Info("webrtc session opened", "session", v.id, "camera", camera, "user", who)
	return Info{ID: v.id, Camera: camera, Answer: pc.LocalDescription().SDP}, nil
}

// hold takes a slot of the node's and of who's for an offer for camera.
// The slot counts against both limits from here until the session is
// registered, when it passes to the session, or the offer fails (release):
// offers sent at once cannot all pass the limits, and a session that is
// registered while its offer is still being answered is not counted twice
// (which refused a user's third session with two open).
func (s *Server) hold(camera, who string) (*camera, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	mine := s.opening[who]
	for _, v := range s.sessions {
		if v.who == who {
			mine++
		}
	}
	c := s.cams[camera]
	switch {
	case s.closed:
		return nil, ErrOff
	case len(s.sessions)+s.openingAll >= s.o.MaxSessions:
		return nil, ErrFull
	case mine >= s.o.MaxPerUser:
		return nil, ErrUserFull
	case c == nil:
		return nil, ErrNotStreaming
	}
	s.openingAll++
	s.opening[who]++
	return c, nil
}

// release gives back a slot of who's (s.mu held).
func (s *Server) release(who string) {
	s.openingAll--
	if s.opening[who]--; s.opening[who] == 0 {
		delete(s.opening, who)
	}
}

// register adds v to the open sessions, in place of the slot its offer
// held.
func (s *Server) register(v *session) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrOff
	}
	s.sessions[v.id] = v
	s.release(v.who)
	s.met.sessions.Set(float64(len(s.sessions)))
	return nil
}

// negotiate sets the offer, adds the video track and waits for the
// answer's candidates (host candidates only: gathering is immediate).
func (v *session) negotiate(ctx context.Context, offer string) error {
	pc := v.pc
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return fmt.Errorf("%w: %v", ErrBadOffer, err)
	}
	track, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: media.ClockRate},
		"video", "kuzet")
	if err != nil {
		return err
	}
	v.track = track
	sender, err := pc.AddTrack(track)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBadOffer, err)
	}
	go drainRTCP(sender) // NACKs are answered by the interceptor; the rest is read and dropped
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		switch st {
		case webrtc.PeerConnectionStateConnected:
			v.connected.Store(true)
		case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed, webrtc.PeerConnectionStateDisconnected:
			go v.close("peer " + st.String())
		}
	})
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBadOffer, err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(answer); err != nil {
		return fmt.Errorf("%w: %v", ErrBadOffer, err)
	}
	select {
	case <-gathered:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(5 * time.Second):
		return fmt.Errorf("webrtc: gathering candidates took over 5 s")
	}
}

func drainRTCP(sender *webrtc.RTPSender) {
	buf := make([]byte, 1500)
	for {
		if _, _, err := sender.Read(buf); err != nil {
			return
		}
	}
}

// watchConnect ends a session whose player never connected.
func (v *session) watchConnect() {
	t := time.NewTimer(v.s.o.ConnectTimeout)
	defer t.Stop()
	select {
	case <-v.done:
	case <-t.C:
		if !v.connected.Load() {
			v.close("player never connected")
		}
	}
}

// offer queues a unit; a full queue drops it, and the session resumes at
// the next keyframe rather than show a broken picture.
func (v *session) offer(it unitItem) {
	select {
	case v.ch <- it:
	default:
		v.resync.Store(true)
		v.s.met.dropped.Inc()
	}
}

// send packetises units into RTP. Units wait until the player connected
// and restart at a keyframe, which carries the parameter sets.
func (v *session) send() {
	var (
		clk  wallClock
		pay  codecs.H264Payloader
		seq  = uint16(randUint32())
		wait = true
	)
	for {
		var it unitItem
		select {
		case <-v.done:
			return
		case it = <-v.ch:
		}
		if !v.connected.Load() {
			wait = true
			continue
		}
		if v.resync.Swap(false) {
			wait = true
		}
		key := it.u.RandomAccess(media.H264)
		if wait && !key {
			continue
		}
		wait = false
		nalus := it.u.NALUs
		if key && !hasSPS(nalus) && len(it.params) > 0 {
			nalus = append(append([][]byte(nil), it.params...), nalus...)
		}
		ts := clk.stamp(it.u)
		payloads := pay.Payload(mtu, annexB(nalus))
		for i, p := range payloads {
			pkt := &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: ts, Marker: i == len(payloads)-1}, Payload: p}
			seq++
			if err := v.track.WriteRTP(pkt); err != nil {
				go v.close("write: " + err.Error())
				return
			}
		}
		v.s.met.frames.Inc()
	}
}

func hasSPS(nalus [][]byte) bool {
	for _, n := range nalus {
		if len(n) > 0 && n[0]&0x1f == 7 {
			return true
		}
	}
	return false
}

// annexB joins NAL units with start codes, the form the payloader splits.
func annexB(nalus [][]byte) []byte {
	n := 0
	for _, u := range nalus {
		n += 4 + len(u)
	}
	out := make([]byte, 0, n)
	for _, u := range nalus {
		out = append(out, 0, 0, 0, 1)
		out = append(out, u...)
	}
	return out
}

// close ends the session once, whoever notices first.
func (v *session) close(why string) {
	v.closeOnce.Do(func() {
		close(v.done)
		v.unregister()
		_ = v.pc.Close()
		v.s.log.Info("webrtc session closed", "session", v.id, "camera", v.camera, "user", v.who,
			"why", why, "lasted", time.Since(v.created).Round(time.Second))
	})
}

// unregister removes the session from its camera and the server.
func (v *session) unregister() {
	v.c.mu.Lock()
	delete(v.c.viewers, v)
	v.c.mu.Unlock()
	s := v.s
	s.mu.Lock()
	delete(s.sessions, v.id)
	s.met.sessions.Set(float64(len(s.sessions)))
	s.mu.Unlock()
}

// End closes session id for who; only its owner may.
func (s *Server) End(id, who string) error {
	s.mu.Lock()
	v := s.sessions[id]
	s.mu.Unlock()
	if v == nil || v.who != who {
		return ErrNoSession
	}
	v.close("player left")
	return nil
}

func newID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func randUint32() uint32 {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}
