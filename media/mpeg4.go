package media

import (
	"bytes"
	"errors"
	"math/bits"
)

// MPEG-4 Part 2 start codes (ISO/IEC 14496-2 table 6-3).
const (
	m4vVOLFirst = 0x20
	m4vVOLLast  = 0x2f
	m4vGOV      = 0xb3
	m4vVOP      = 0xb6
)

var startCode = []byte{0, 0, 1}

// nextStartCode returns the index of the start code at or after i and the
// code's value, or -1.
func nextStartCode(b []byte, i int) (int, byte) {
	if i >= len(b) {
		return -1, 0
	}
	j := bytes.Index(b[i:], startCode)
	if j < 0 || i+j+3 >= len(b) {
		return -1, 0
	}
	return i + j, b[i+j+3]
}

// MPEG4Headers returns the headers before frame's first GOV or VOP when
// they hold a video object layer (what an encoder repeats before each
// I-VOP, and what the SDP's config carries), or nil.
func MPEG4Headers(frame []byte) []byte {
	vol := false
	for i, c := nextStartCode(frame, 0); i >= 0; i, c = nextStartCode(frame, i+3) {
		switch {
		case c >= m4vVOLFirst && c <= m4vVOLLast:
			vol = true
		case c == m4vGOV || c == m4vVOP:
			if vol && i > 0 {
				return frame[:i]
			}
			return nil
		}
	}
	return nil
}

// MPEG4Intra reports whether frame's VOP is intra coded (vop_coding_type
// 0), the random-access point of MPEG-4 Part 2.
func MPEG4Intra(frame []byte) bool {
	for i, c := nextStartCode(frame, 0); i >= 0; i, c = nextStartCode(frame, i+3) {
		if c == m4vVOP {
			return i+4 < len(frame) && frame[i+4]>>6 == 0
		}
	}
	return false
}

// MPEG4Layer is what the node needs from a video object layer header.
type MPEG4Layer struct {
	Width, Height int
	FPS           float64 // 0 unless the layer declares a fixed rate
}

// bitReader reads big-endian bits; reading past the end is an error.
type bitReader struct {
	b   []byte
	pos int // in bits
	err error
}

func (r *bitReader) read(n int) uint32 {
	var v uint32
	for range n {
		if r.pos >= len(r.b)*8 {
			r.err = errors.New("mpeg4: video object layer header is cut short")
			return 0
		}
		v = v<<1 | uint32(r.b[r.pos/8]>>(7-r.pos%8)&1)
		r.pos++
	}
	return v
}

// ParseMPEG4Layer reads the size and frame rate from the first video
// object layer header in headers (ISO/IEC 14496-2 6.2.3).
func ParseMPEG4Layer(headers []byte) (MPEG4Layer, error) {
	var l MPEG4Layer
	at := -1
	for i, c := nextStartCode(headers, 0); i >= 0; i, c = nextStartCode(headers, i+3) {
		if c >= m4vVOLFirst && c <= m4vVOLLast {
			at = i + 4
			break
		}
	}
	if at < 0 {
		return l, errors.New("mpeg4: no video object layer header")
	}
	r := &bitReader{b: headers[at:]}
	r.read(1) // random_accessible_vol
	r.read(8) // video_object_type_indication
	verid := uint32(1)
	if r.read(1) == 1 { // is_object_layer_identifier
		verid = r.read(4)
		r.read(3) // priority
	}
	if r.read(4) == 0xf { // aspect_ratio_info: extended PAR
		r.read(16)
	}
	if r.read(1) == 1 { // vol_control_parameters
		r.read(3)           // chroma_format, low_delay
		if r.read(1) == 1 { // vbv_parameters
			r.read(15 + 1 + 15 + 1 + 15 + 1 + 3 + 11 + 1 + 15 + 1)
		}
	}
	shape := r.read(2)
	if shape == 3 && verid != 1 {
		r.read(4) // video_object_layer_shape_extension
	}
	r.read(1) // marker
	res := r.read(16)
	r.read(1)           // marker
	if r.read(1) == 1 { // fixed_vop_rate
		n := bits.Len32(res - 1)
		if res <= 1 {
			n = 1
		}
		if inc := r.read(n); inc > 0 {
			l.FPS = float64(res) / float64(inc)
		}
	}
	if shape != 0 {
		return l, errors.New("mpeg4: only rectangular video object layers are supported")
	}
	r.read(1)
	l.Width = int(r.read(13))
	r.read(1)
	l.Height = int(r.read(13))
	if r.err != nil {
		return MPEG4Layer{}, r.err
	}
	if l.Width == 0 || l.Height == 0 {
		return MPEG4Layer{}, errors.New("mpeg4: zero size in video object layer header")
	}
	return l, nil
}
