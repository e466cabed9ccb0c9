package media

import (
	"fmt"
	"strconv"
	"time"
)

// Transcode is how a node encodes H.264 for browsers that cannot play a
// camera's own codec, live and from the archive; zero values take the
// defaults (WithDefaults).
type Transcode struct {
	FFmpeg   string        // default "ffmpeg"
	Max      int           // streams at once, per use (default 2, each about a core at 720p; -1: none)
	MaxWidth int           // output width cap, height in proportion (default 1280)
	Preset   string        // x264 preset (default "veryfast")
	CRF      int           // x264 quality (default 26)
	GOP      time.Duration // keyframe interval (default 1s)
}

// WithDefaults fills the settings left zero.
func (t Transcode) WithDefaults() Transcode {
	if t.FFmpeg == "" {
		t.FFmpeg = "ffmpeg"
	}
	if t.Max == 0 {
		t.Max = 2
	}
	if t.MaxWidth == 0 {
		t.MaxWidth = 1280
	}
	if t.Preset == "" {
		t.Preset = "veryfast"
	}
	if t.CRF == 0 {
		t.CRF = 26
	}
	if t.GOP == 0 {
		t.GOP = time.Second
	}
	return t
}

// EncodeArgs are ffmpeg's output options for the H.264 a browser plays:
// the width capped, 4:2:0, no B-frames, a keyframe every GOP (counted in
// frames of the 25 fps ffmpeg assumes for an elementary stream).
func (t Transcode) EncodeArgs() []string {
	return []string{"-vf", fmt.Sprintf("scale='min(%d,iw)':-2,format=yuv420p", t.MaxWidth), "-an",
		"-c:v", "libx264", "-preset", t.Preset, "-crf", strconv.Itoa(t.CRF), "-profile:v", "high",
		"-bf", "0", "-g", strconv.Itoa(max(1, int(t.GOP.Seconds()*25)))}
}
