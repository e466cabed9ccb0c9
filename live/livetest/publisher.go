package livetest

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/description"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/pion/rtp"

	"github.com/kuzet/kuzet/testcam"
)

// stampUUID marks the SEI (user data unregistered) that carries a frame's
// send time; it has no zero byte, so no emulation prevention is needed.
var stampUUID = []byte("kuzet-live-stamp")

// Stamp identifies a published frame: its number and when it was sent.
type Stamp struct {
	Frame int64
	Sent  time.Time
}

// StampSEI returns an H.264 SEI NAL unit carrying s as "frame:unixnano".
func StampSEI(s Stamp) []byte {
	text := strconv.FormatInt(s.Frame, 10) + ":" + strconv.FormatInt(s.Sent.UnixNano(), 10)
	n := []byte{6, 5, byte(len(stampUUID) + len(text))}
	n = append(n, stampUUID...)
	n = append(n, text...)
	return append(n, 0x80) // rbsp trailing bits
}

// ParseStamp returns the stamp carried by a NAL unit made by StampSEI.
func ParseStamp(n []byte) (Stamp, bool) {
	if len(n) < 4 || n[0]&0x1f != 6 || n[1] != 5 {
		return Stamp{}, false
	}
	size := int(n[2])
	if size <= len(stampUUID) || 3+size > len(n) || !bytes.Equal(n[3:3+len(stampUUID)], stampUUID) {
		return Stamp{}, false
	}
	frame, sent, ok := strings.Cut(string(n[3+len(stampUUID):3+size]), ":")
	k, err1 := strconv.ParseInt(frame, 10, 64)
	ns, err2 := strconv.ParseInt(sent, 10, 64)
	if !ok || err1 != nil || err2 != nil {
		return Stamp{}, false
	}
	return Stamp{Frame: k, Sent: time.Unix(0, ns)}, true
}

// Publisher pushes the demo clip to an RTSP server path in real time, like
// a camera, with the send time of every frame in an SEI.
type Publisher struct {
	client *gortsplib.Client
	cancel context.CancelFunc
	done   chan struct{}
	mu     sync.Mutex
	err    error
}

// Publish starts publishing to url (e.g. a testcam path that accepts
// publishers) at fps frames per second; the RTP clock follows fps, whatever
// rate the clip was encoded for. Close stops it.
func Publish(url string, fps int) (*Publisher, error) {
	clip, err := testcam.ParseAnnexB(testcam.DemoClip)
	if err != nil {
		return nil, fmt.Errorf("parse demo clip: %w", err)
	}
	forma := &format.H264{PayloadTyp: 96, SPS: clip.SPS, PPS: clip.PPS, PacketizationMode: 1}
	medi := &description.Media{Type: description.MediaTypeVideo, Formats: []format.Format{forma}}
	enc, err := forma.CreateEncoder()
	if err != nil {
		return nil, fmt.Errorf("RTP encoder: %w", err)
	}
	tcp := gortsplib.TransportTCP
	// a deep queue rides out a busy machine instead of dropping packets,
	// which would corrupt frames
	c := &gortsplib.Client{Transport: &tcp, WriteQueueSize: 8192}
	if err := c.StartRecording(url, &description.Session{Medias: []*description.Media{medi}}); err != nil {
		return nil, fmt.Errorf("publish to %s: %w", url, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &Publisher{client: c, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		p.loop(ctx, clip, medi, enc.Encode, fps)
	}()
	return p, nil
}

func (p *Publisher) loop(ctx context.Context, clip *testcam.Clip, medi *description.Media,
	encode func([][]byte) ([]*rtp.Packet, error), fps int) {
	start := time.Now()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for k := 0; ; k++ {
		due := start.Add(time.Duration(k) * time.Second / time.Duration(fps))
		if wait := time.Until(due); wait > 0 {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				return
			case <-timer.C:
			}
		} else if -wait > time.Second {
			// stalled: go on from now rather than bursting a second of frames
			start = start.Add(-wait)
		}
		if ctx.Err() != nil {
			return
		}
		f := clip.Frames[k%len(clip.Frames)]
		now := time.Now()
		nalus := withStamp(f.NALUs, Stamp{Frame: int64(k), Sent: now})
		pkts, err := encode(nalus)
		if err != nil {
			p.fail(fmt.Errorf("packetize frame %d: %w", k, err))
			return
		}
		ts := uint32(int64(k) * 90000 / int64(fps))
		for _, pkt := range pkts {
			pkt.Timestamp = ts
			if err := p.client.WritePacketRTPWithNTP(medi, pkt, now); err != nil {
				p.fail(fmt.Errorf("send frame %d: %w", k, err))
				return
			}
		}
	}
}

// withStamp puts the stamp before the first slice of the frame.
func withStamp(nalus [][]byte, s Stamp) [][]byte {
	out := make([][]byte, 0, len(nalus)+1)
	stamped := false
	for _, n := range nalus {
		typ := h264.NALUType(n[0] & 0x1f)
		if !stamped && typ >= h264.NALUTypeNonIDR && typ <= h264.NALUTypeIDR {
			out = append(out, StampSEI(s))
			stamped = true
		}
		out = append(out, n)
	}
	return out
}

func (p *Publisher) fail(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.err = err
}

// Close stops publishing and reports why it stopped early, if it did.
func (p *Publisher) Close() error {
	p.cancel()
	<-p.done
	p.client.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}
