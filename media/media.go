// Package media holds the types that flow from a session (a camera's or a
// relayed one) to its consumers (recorder, live muxers, analytics): tracks,
// access units, and the Consumer and Sink that take them. It imports no
// other package of the node, so that a consumer depends on these types
// only, never on the ingest that feeds it.
package media

import (
	"bytes"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h265"
)

// Codec names a video codec.
type Codec string

// Codecs a session can deliver.
const (
	H264 Codec = "h264"
	H265 Codec = "h265"
)

// ClockRate of every video RTP stream (RFC 6184, RFC 7798).
const ClockRate = 90000

// Track describes the video a session delivers. Parameter sets come from
// the SDP and may be empty; in-band ones win.
type Track struct {
	Codec Codec
	VPS   []byte // H.265 only
	SPS   []byte
	PPS   []byte
}

// Unit is one access unit. NALUs are owned by the unit: consumers may keep
// them, never modify them.
type Unit struct {
	NALUs [][]byte
	PTS   int64     // in ClockRate ticks, from the session's RTP timeline
	Time  time.Time // wall clock when it arrived
	Size  int       // payload bytes
}

// RandomAccess reports whether u starts a GOP (IDR / IRAP).
func (u *Unit) RandomAccess(c Codec) bool {
	if c == H265 {
		return h265.IsRandomAccess(u.NALUs)
	}
	return h264.IsRandomAccess(u.NALUs)
}

// UpdateParams copies in-band parameter sets of u into t and reports
// whether any of them changed and whether u carried an SPS of its own.
func (t *Track) UpdateParams(u *Unit) (changed, inbandSPS bool) {
	set := func(dst *[]byte, n []byte) {
		if !bytes.Equal(*dst, n) {
			*dst = append([]byte(nil), n...)
			changed = true
		}
	}
	for _, n := range u.NALUs {
		if len(n) == 0 {
			continue
		}
		if t.Codec == H265 {
			if len(n) < 2 {
				continue
			}
			switch h265.NALUType((n[0] >> 1) & 0b111111) {
			case h265.NALUType_VPS_NUT:
				set(&t.VPS, n)
			case h265.NALUType_SPS_NUT:
				set(&t.SPS, n)
				inbandSPS = true
			case h265.NALUType_PPS_NUT:
				set(&t.PPS, n)
			}
			continue
		}
		switch h264.NALUType(n[0] & 0x1f) {
		case h264.NALUTypeSPS:
			set(&t.SPS, n)
			inbandSPS = true
		case h264.NALUTypePPS:
			set(&t.PPS, n)
		}
	}
	return changed, inbandSPS
}

// ParamNALUs returns the parameter sets in decoding order.
func (t *Track) ParamNALUs() [][]byte {
	if t.Codec == H265 {
		return [][]byte{t.VPS, t.SPS, t.PPS}
	}
	return [][]byte{t.SPS, t.PPS}
}

// Ready reports whether the track has every parameter set its codec needs.
func (t *Track) Ready() bool {
	if t.Codec == H265 {
		return len(t.VPS) > 0 && len(t.SPS) > 0 && len(t.PPS) > 0
	}
	return len(t.SPS) > 0 && len(t.PPS) > 0
}

// Resolution parses the SPS; ok is false when it cannot be parsed.
func (t *Track) Resolution() (w, h int, ok bool) {
	if t.Codec == H265 {
		var s h265.SPS
		if err := s.Unmarshal(t.SPS); err != nil {
			return 0, 0, false
		}
		return s.Width(), s.Height(), true
	}
	var s h264.SPS
	if err := s.Unmarshal(t.SPS); err != nil {
		return 0, 0, false
	}
	return s.Width(), s.Height(), true
}

// Clone returns a deep copy, so consumers can keep their own.
func (t Track) Clone() Track {
	cp := func(b []byte) []byte {
		if b == nil {
			return nil
		}
		return append([]byte(nil), b...)
	}
	return Track{Codec: t.Codec, VPS: cp(t.VPS), SPS: cp(t.SPS), PPS: cp(t.PPS)}
}

// FPS is the frame rate the SPS declares, or 25 when it declares none (or
// nothing plausible).
func (t *Track) FPS() float64 {
	fps := 0.0
	if t.Codec == H265 {
		var s h265.SPS
		if s.Unmarshal(t.SPS) == nil {
			fps = s.FPS()
		}
	} else {
		var s h264.SPS
		if s.Unmarshal(t.SPS) == nil {
			fps = s.FPS()
		}
	}
	if fps <= 0 || fps > 120 {
		return 25
	}
	return fps
}

// WithoutEmpty returns u without empty NAL units, which the codec helpers
// cannot take (a copy when any is dropped); nil when nothing is left.
func (u *Unit) WithoutEmpty() *Unit {
	for i, n := range u.NALUs {
		if len(n) > 0 {
			continue
		}
		cp := *u
		cp.NALUs = append([][]byte(nil), u.NALUs[:i]...)
		for _, n := range u.NALUs[i+1:] {
			if len(n) > 0 {
				cp.NALUs = append(cp.NALUs, n)
			}
		}
		if len(cp.NALUs) == 0 {
			return nil
		}
		return &cp
	}
	if len(u.NALUs) == 0 {
		return nil
	}
	return u
}
