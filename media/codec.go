package media

// Codecs a session can deliver. H.264 and H.265 units are NAL units;
// M-JPEG and MPEG-4 Part 2 have none, and each of their units holds one
// whole picture as its only element.
const (
	H264  Codec = "h264"
	H265  Codec = "h265"
	MJPEG Codec = "mjpeg" // one JPEG picture per unit
	MPEG4 Codec = "mpeg4" // MPEG-4 Part 2 (Visual): one VOP per unit, with any headers before it
)

// Known reports whether c is a codec the node records.
func (c Codec) Known() bool {
	switch c {
	case H264, H265, MJPEG, MPEG4:
		return true
	}
	return false
}

// NALUnits reports whether units of c are NAL units (framed with start
// codes or length prefixes) rather than whole pictures.
func (c Codec) NALUnits() bool { return c == H264 || c == H265 }

// Browser reports whether every browser the console supports plays c
// natively in MSE; other codecs are played natively only where the
// browser says it can, and transcoded otherwise.
func (c Codec) Browser() bool { return c == H264 }

// FFmpeg is the name of ffmpeg's demuxer for c's elementary stream.
func (c Codec) FFmpeg() string {
	switch c {
	case H265:
		return "hevc"
	case MJPEG:
		return "mjpeg"
	case MPEG4:
		return "m4v"
	}
	return "h264"
}

// Name is how c is written for people.
func (c Codec) Name() string {
	switch c {
	case H264:
		return "H.264"
	case H265:
		return "H.265"
	case MJPEG:
		return "M-JPEG"
	case MPEG4:
		return "MPEG-4 Part 2"
	}
	return string(c)
}

// AppendES appends u as elementary-stream bytes, the form ffmpeg's
// demuxers read: Annex-B for NAL units, the picture itself otherwise.
// params are written first (the parameter sets or the MPEG-4 headers a
// keyframe lacks in band).
func (c Codec) AppendES(dst []byte, params, nalus [][]byte) []byte {
	for _, p := range params {
		if c.NALUnits() {
			dst = append(dst, 0, 0, 0, 1)
		}
		dst = append(dst, p...)
	}
	for _, n := range nalus {
		if c.NALUnits() {
			dst = append(dst, 0, 0, 0, 1)
		}
		dst = append(dst, n...)
	}
	return dst
}
