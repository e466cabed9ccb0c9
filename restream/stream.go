package restream

import (
	"fmt"
	"math/rand/v2"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/description"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/pion/rtp"

	"github.com/kuzet/kuzet/media"
)

// A PTS step outside (0, maxFrameGap] is a jump, not a frame interval.
const (
	maxFrameGap     = 5 * media.ClockRate
	defaultFrameDur = media.ClockRate / 25
)

// stream is one camera's RTSP stream; it outlives camera sessions, so
// readers stay connected across a camera reconnect.
type stream struct {
	id       string
	codec    media.Codec
	ss       *gortsplib.ServerStream
	medi     *description.Media
	h264     *format.H264
	h265     *format.H265
	encode   func([][]byte) ([]*rtp.Packet, error)
	sessions int // open camera sessions, under Server.mu

	// RTP timeline, continuous across sessions; only the active sink
	// touches it
	offset int64 // RTP timestamp = PTS + offset
	maxTS  int64
	dur    int64
}

func newStream(srv *gortsplib.Server, camera string, tr media.Track) (*stream, error) {
	st := &stream{id: camera, codec: tr.Codec, maxTS: int64(rand.Uint32()), dur: defaultFrameDur}
	var f format.Format
	switch tr.Codec {
	case media.H264:
		st.h264 = &format.H264{PayloadTyp: 96, PacketizationMode: 1, SPS: tr.SPS, PPS: tr.PPS}
		enc, err := st.h264.CreateEncoder()
		if err != nil {
			return nil, fmt.Errorf("H.264 packetizer: %w", err)
		}
		f, st.encode = st.h264, enc.Encode
	case media.H265:
		st.h265 = &format.H265{PayloadTyp: 96, VPS: tr.VPS, SPS: tr.SPS, PPS: tr.PPS}
		enc, err := st.h265.CreateEncoder()
		if err != nil {
			return nil, fmt.Errorf("H.265 packetizer: %w", err)
		}
		f, st.encode = st.h265, enc.Encode
	default:
		return nil, fmt.Errorf("codec %q not supported", tr.Codec)
	}
	st.medi = &description.Media{Type: description.MediaTypeVideo, Formats: []format.Format{f}}
	st.ss = &gortsplib.ServerStream{
		Server: srv,
		Desc:   &description.Session{Title: "kuzet " + camera, Medias: []*description.Media{st.medi}},
	}
	if err := st.ss.Initialize(); err != nil {
		return nil, fmt.Errorf("create RTSP stream: %w", err)
	}
	return st, nil
}

// setParams puts the current parameter sets into the SDP of new readers.
func (st *stream) setParams(tr *media.Track) {
	if st.h265 != nil {
		st.h265.SafeSetParams(tr.VPS, tr.SPS, tr.PPS)
		return
	}
	st.h264.SafeSetParams(tr.SPS, tr.PPS)
}

func (st *stream) close() { st.ss.Close() }

// sink sends one camera session to the camera's stream.
type sink struct {
	s      *Server
	st     *stream
	track  media.Track
	rebase bool // the next unit starts this session on the stream timeline
}

func (k *sink) WriteUnit(u *media.Unit) error {
	st := k.st
	if u = u.WithoutEmpty(); u == nil {
		return nil
	}
	changed, inband := k.track.UpdateParams(u)
	if changed {
		st.setParams(&k.track)
	}
	nalus := u.NALUs
	if u.RandomAccess(st.codec) && !inband && k.track.Ready() {
		// a reader that joins at this keyframe, or whose SDP predates a
		// parameter change, can decode it
		nalus = append(k.track.ParamNALUs(), nalus...)
	}
	if k.rebase {
		st.offset = st.maxTS + st.dur - u.PTS
		k.rebase = false
	}
	ts := u.PTS + st.offset
	if d := ts - st.maxTS; d > 0 && d <= maxFrameGap {
		st.dur = d
	} else if d > maxFrameGap || d < -maxFrameGap {
		// a timestamp jump in the camera's stream: keep the readers' clock
		st.offset += st.maxTS + st.dur - ts
		ts = st.maxTS + st.dur
	}
	st.maxTS = max(st.maxTS, ts)
	pkts, err := st.encode(nalus)
	if err != nil {
		k.s.met.errors.WithLabelValues(st.id).Inc()
		return nil // a unit the packetizer refuses is dropped, not a session failure
	}
	for _, p := range pkts {
		p.Timestamp = uint32(ts)
		if err := st.ss.WritePacketRTPWithNTP(st.medi, p, u.Time); err != nil {
			if k.s.down.Load() {
				return nil
			}
			return fmt.Errorf("re-stream %s: %w", st.id, err)
		}
	}
	return nil
}

func (k *sink) Close() error {
	k.s.mu.Lock()
	defer k.s.mu.Unlock()
	k.st.sessions--
	return nil
}
