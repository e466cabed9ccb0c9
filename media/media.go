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

// ClockRate of every video RTP stream (RFC 6184, RFC 7798).
const ClockRate = 90000

// Track describes the video a session delivers. Parameter sets come from
// the SDP and may be empty; in-band ones win.
type Track struct {
	Codec Codec
	VPS   []byte // H.265 only
	SPS   []byte
	PPS   []byte
	// Config is MPEG-4 Part 2's headers up to the video object layer.
	Config []byte
	// Width and Height of M-JPEG, from its pictures (the other codecs
	// carry their size in their parameters).
	Width, Height int
}

// Unit is one access unit. NALUs are owned by the unit: consumers may keep
// them, never modify them. For a codec without NAL units (M-JPEG, MPEG-4
// Part 2) it holds one element, the whole picture.
type Unit struct {
	NALUs [][]byte
	PTS   int64     // in ClockRate ticks, from the session's RTP timeline
	Time  time.Time // wall clock when it arrived
	Size  int       // payload bytes
}

// RandomAccess reports whether u starts a GOP (IDR / IRAP).
func (u *Unit) RandomAccess(c Codec) bool {
	switch c {
	case H265:
		return h265.IsRandomAccess(u.NALUs)
	case MJPEG:
		return true
	case MPEG4:
		return len(u.NALUs) == 1 && MPEG4Intra(u.NALUs[0])
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
	switch t.Codec {
	case MJPEG:
		// every picture carries its size: a picture without one is
		// taken as the same size (the decoder will say otherwise)
		if len(u.NALUs) == 1 {
			if w, h, err := JPEGSize(u.NALUs[0]); err == nil {
				changed = w != t.Width || h != t.Height
				t.Width, t.Height = w, h
			}
		}
		return changed, true
	case MPEG4:
		if len(u.NALUs) == 1 {
			if hdr := MPEG4Headers(u.NALUs[0]); hdr != nil {
				set(&t.Config, hdr)
				inbandSPS = true
			}
		}
		return changed, inbandSPS
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
// For MPEG-4 Part 2 it is its headers, and for M-JPEG nothing.
func (t *Track) ParamNALUs() [][]byte {
	switch t.Codec {
	case H265:
		return [][]byte{t.VPS, t.SPS, t.PPS}
	case MPEG4:
		return [][]byte{t.Config}
	case MJPEG:
		return nil
	}
	return [][]byte{t.SPS, t.PPS}
}

// Ready reports whether the track has every parameter set its codec needs.
func (t *Track) Ready() bool {
	switch t.Codec {
	case H265:
		return len(t.VPS) > 0 && len(t.SPS) > 0 && len(t.PPS) > 0
	case MPEG4:
		return len(t.Config) > 0
	case MJPEG:
		return t.Width > 0 && t.Height > 0
	}
	return len(t.SPS) > 0 && len(t.PPS) > 0
}

// Resolution parses the SPS (or the MPEG-4 headers); ok is false when it
// cannot be parsed.
func (t *Track) Resolution() (w, h int, ok bool) {
	switch t.Codec {
	case MJPEG:
		return t.Width, t.Height, t.Width > 0 && t.Height > 0
	case MPEG4:
		l, err := ParseMPEG4Layer(t.Config)
		return l.Width, l.Height, err == nil
	}
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
	return Track{Codec: t.Codec, VPS: cp(t.VPS), SPS: cp(t.SPS), PPS: cp(t.PPS), Config: cp(t.Config),
		Width: t.Width, Height: t.Height}
}

// FPS is the frame rate the SPS declares, or 25 when it declares none (or
// nothing plausible).
func (t *Track) FPS() float64 {
	fps := 0.0
	switch t.Codec {
	case MJPEG:
	case MPEG4:
		if l, err := ParseMPEG4Layer(t.Config); err == nil {
			fps = l.FPS
		}
	case H265:
		var s h265.SPS
		if s.Unmarshal(t.SPS) == nil {
			fps = s.FPS()
		}
	default:
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
