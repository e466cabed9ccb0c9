package live

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kuzet/kuzet/media"
)

// Defaults of Options.
const (
	DefaultPart         = 200 * time.Millisecond
	DefaultSegment      = time.Second
	DefaultSegments     = 7
	DefaultIdleStop     = 60 * time.Second
	DefaultStartTimeout = 10 * time.Second
	DefaultQueue        = 128
	DefaultPrefix       = "/live/"
)

// Options configure the live view.
type Options struct {
	// Part is the partial segment target (LL-HLS PART-TARGET). A part is
	// closed as soon as one more frame would make it longer, so viewers get
	// each frame at most one part after it arrived.
	Part time.Duration
	// Segment is the shortest segment: a segment ends at the first keyframe
	// after it, so segments last Segment rounded up to the camera's GOP.
	Segment time.Duration
	// Segments is how many complete segments the playlist lists (more when
	// the HLS rule of three target durations needs them).
	Segments int
	// IdleStop stops a camera's muxer after this long without requests.
	IdleStop time.Duration
	// StartTimeout bounds how long the first playlist request of a camera
	// waits for its first complete segment.
	StartTimeout time.Duration
	// Queue is the consumer queue length in access units (see media.Consumer).
	Queue int
	// Prefix is the URL path the handler is mounted at.
	Prefix string
	// Cameras are the configured camera IDs: requests for them wait for
	// video or say the camera is not streaming; other names get 404. A
	// camera whose session opens is known from then on either way.
	Cameras []string

	// Transcode is the live transcoding to H.264 of cameras browsers
	// cannot play (the "~h264" views).
	Transcode media.Transcode

	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

func (o *Options) setDefaults() error {
	if o.Part == 0 {
		o.Part = DefaultPart
	}
	if o.Segment == 0 {
		o.Segment = DefaultSegment
	}
	if o.Segments == 0 {
		o.Segments = DefaultSegments
	}
	if o.IdleStop == 0 {
		o.IdleStop = DefaultIdleStop
	}
	if o.StartTimeout == 0 {
		o.StartTimeout = DefaultStartTimeout
	}
	if o.Queue == 0 {
		o.Queue = DefaultQueue
	}
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	o.Transcode = o.Transcode.WithDefaults()
	switch {
	case o.Part < 20*time.Millisecond || o.Part > 5*time.Second:
		return fmt.Errorf("live.part %v: must be between 20ms and 5s", o.Part)
	case o.Segment < o.Part || o.Segment > time.Minute:
		return fmt.Errorf("live.segment %v: must be between live.part (%v) and 1m", o.Segment, o.Part)
	case o.Segments < 2 || o.Segments > 100:
		return fmt.Errorf("live.segments %d: must be between 2 and 100", o.Segments)
	case o.IdleStop < time.Second:
		return fmt.Errorf("live.idle_stop %v: must be at least 1s", o.IdleStop)
	case o.StartTimeout < time.Second:
		return fmt.Errorf("live start timeout %v: must be at least 1s", o.StartTimeout)
	case o.Queue < 1:
		return fmt.Errorf("live queue %d: must be positive", o.Queue)
	case o.Prefix[0] != '/' || o.Prefix[len(o.Prefix)-1] != '/':
		return fmt.Errorf("live prefix %q: must begin and end with /", o.Prefix)
	}
	return nil
}
