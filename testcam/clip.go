package testcam

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
)

// Clip is an H.264 elementary stream split into access units, ready to be
// looped by the server.
type Clip struct {
	SPS    []byte // first sequence parameter set, for the SDP
	PPS    []byte // first picture parameter set, for the SDP
	Width  int    // from the SPS
	Height int    // from the SPS
	Frames []Frame
}

// Frame is one access unit.
type Frame struct {
	// NALUs in decoding order, without start codes. Delimiter, end-of-sequence,
	// end-of-stream and filler NAL units are dropped: RTP marks access unit
	// boundaries itself, and an end of stream would break the loop.
	NALUs [][]byte
	IDR   bool
}

// startCode is the three-byte Annex-B start code; a four-byte one is the same
// with a leading zero_byte, which the parser trims as trailing zeros.
const startCode = "\x00\x00\x01"

// ParseAnnexB splits an Annex-B H.264 stream into access units. The stream
// must put an access unit delimiter before every frame (x264 aud=1), start
// with an IDR frame, and carry an SPS and a PPS in or before that frame, so
// that it can be looped from its first frame.
func ParseAnnexB(data []byte) (*Clip, error) {
	first := bytes.Index(data, []byte(startCode))
	if first < 0 || len(bytes.Trim(data[:first], "\x00")) != 0 {
		return nil, errors.New("not an Annex-B stream: it does not begin with a start code")
	}

	c := &Clip{}
	var cur *Frame
	closeFrame := func() error {
		if cur == nil {
			return nil
		}
		if !hasSlice(cur.NALUs) {
			return fmt.Errorf("access unit %d has no slice", len(c.Frames))
		}
		c.Frames = append(c.Frames, *cur)
		cur = nil
		return nil
	}

	pos := first
	for pos < len(data) {
		start := pos + len(startCode)
		end := len(data)
		if n := bytes.Index(data[start:], []byte(startCode)); n >= 0 {
			end = start + n
		}
		pos = end
		// A NAL unit never ends in a zero byte, so trailing zeros are the
		// next start code's zero_byte or trailing_zero_8bits.
		nalu := bytes.TrimRight(data[start:end], "\x00")
		if len(nalu) == 0 {
			continue
		}

		if nalu[0]&0x80 != 0 {
			return nil, fmt.Errorf("NAL unit at byte %d: forbidden_zero_bit is set (not H.264?)", start)
		}
		typ := h264.NALUType(nalu[0] & 0x1f)
		if typ == 0 || typ >= h264.NALUTypeSTAPA {
			return nil, fmt.Errorf("NAL unit at byte %d: type %d is not valid in an H.264 Annex-B stream", start, typ)
		}

		if typ == h264.NALUTypeAccessUnitDelimiter {
			if err := closeFrame(); err != nil {
				return nil, err
			}
			cur = &Frame{}
			continue
		}
		if cur == nil {
			return nil, fmt.Errorf("NAL unit at byte %d (%v) precedes the first access unit delimiter; the clip must be H.264 with one before every frame (x264 aud=1)", start, typ)
		}

		switch typ {
		case h264.NALUTypeEndOfSequence, h264.NALUTypeEndOfStream, h264.NALUTypeFillerData:
			continue
		case h264.NALUTypeIDR:
			cur.IDR = true
		case h264.NALUTypeSPS:
			if c.SPS == nil {
				var sps h264.SPS
				if err := sps.Unmarshal(nalu); err != nil {
					return nil, fmt.Errorf("parse SPS at byte %d: %w", start, err)
				}
				c.SPS, c.Width, c.Height = nalu, sps.Width(), sps.Height()
			}
		case h264.NALUTypePPS:
			if c.PPS == nil {
				c.PPS = nalu
			}
		}
		cur.NALUs = append(cur.NALUs, nalu)
	}
	if err := closeFrame(); err != nil {
		return nil, err
	}

	switch {
	case len(c.Frames) == 0:
		return nil, errors.New("no access units found")
	case !c.Frames[0].IDR:
		return nil, errors.New("the first access unit is not an IDR frame, so the clip cannot be looped")
	case !hasParams(c.Frames[0].NALUs):
		// Each loop restarts at frame 0, which must be decodable on its own.
		return nil, errors.New("no SPS and PPS before the first slice")
	}
	return c, nil
}

func hasSlice(nalus [][]byte) bool {
	for _, n := range nalus {
		if t := h264.NALUType(n[0] & 0x1f); t >= h264.NALUTypeNonIDR && t <= h264.NALUTypeIDR {
			return true
		}
	}
	return false
}

// hasParams reports whether both an SPS and a PPS come before the first slice.
func hasParams(nalus [][]byte) bool {
	var sps, pps bool
	for _, n := range nalus {
		switch h264.NALUType(n[0] & 0x1f) {
		case h264.NALUTypeSPS:
			sps = true
		case h264.NALUTypePPS:
			pps = true
		case h264.NALUTypeNonIDR, h264.NALUTypeIDR,
			h264.NALUTypeDataPartitionA, h264.NALUTypeDataPartitionB, h264.NALUTypeDataPartitionC:
			return sps && pps
		}
	}
	return sps && pps
}
