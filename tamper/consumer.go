package tamper

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kuzet/kuzet/decode"
	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/media"
)

// ConsumerOptions wire tamper detection into the node's camera sessions.
type ConsumerOptions struct {
	// Cameras to watch, by camera ID; others are left alone.
	Cameras map[string]Config
	Events  event.Emitter
	// StateDir keeps each camera's learned reference ("<camera>.json"), so
	// that a camera moved while the node was down is still noticed ("":
	// learned afresh on every start).
	StateDir string
	// SnapshotDir receives the frame that raised each alarm ("": none).
	SnapshotDir string
	FFmpeg      string // default "ffmpeg"
	Logger      *slog.Logger
	Registerer  prometheus.Registerer
	// OnObserve, if set, sees every analysed frame (diagnostics).
	OnObserve func(camera string, o Observation)
}

// Consumer judges the frames of every watched camera. It keeps one
// Detector per camera across sessions, so a reconnect neither forgets the
// scene nor the alarms raised.
type Consumer struct {
	o    ConsumerOptions
	m    *metrics
	dets map[string]*Detector
}

// NewConsumer validates every camera's settings and restores their state.
func NewConsumer(o ConsumerOptions) (*Consumer, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.FFmpeg == "" {
		o.FFmpeg = "ffmpeg"
	}
	c := &Consumer{o: o, m: newMetrics(o.Registerer), dets: map[string]*Detector{}}
	for cam, cfg := range o.Cameras {
		do := DetectorOptions{Events: o.Events, SnapshotDir: o.SnapshotDir, metrics: c.m,
			Logger: o.Logger.With("component", "tamper", "camera", cam)}
		if o.StateDir != "" {
			do.StateFile = filepath.Join(o.StateDir, safeName(cam)+".json")
		}
		if o.OnObserve != nil {
			do.OnObserve = func(ob Observation) { o.OnObserve(cam, ob) }
		}
		d, err := NewDetector(cam, cfg, do)
		if err != nil {
			return nil, err
		}
		c.dets[cam] = d
	}
	return c, nil
}

// Site is the consumer to list in site.Options.Consumers.
func (c *Consumer) Site() media.Consumer {
	return media.Consumer{Name: "tamper", Queue: 64, Open: c.open}
}

// Detector returns a camera's detector, or nil when it is not watched.
func (c *Consumer) Detector(camera string) *Detector { return c.dets[camera] }

// Relearn makes a camera learn its scene anew (after it was re-aimed on
// purpose); its moved and defocused alarms clear.
func (c *Consumer) Relearn(camera string) error {
	d := c.dets[camera]
	if d == nil {
		return fmt.Errorf("camera %q has no tamper detection", camera)
	}
	d.Relearn(time.Now())
	return nil
}

// Status lists every watched camera, by ID.
func (c *Consumer) Status() []Status {
	out := make([]Status, 0, len(c.dets))
	for _, d := range c.dets {
		out = append(out, d.Status())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Camera < out[j].Camera })
	return out
}

func (c *Consumer) open(camera string, tr media.Track, _ string) (media.Sink, error) {
	det := c.dets[camera]
	if det == nil {
		return nil, nil
	}
	w, h, ok := tr.Resolution()
	if !ok {
		return nil, fmt.Errorf("camera %s: tamper detection needs the frame size, and the SDP carries no SPS", camera)
	}
	every := 0
	if det.cfg.FPS > 0 {
		every = max(1, int(math.Round(tr.FPS()/det.cfg.FPS)))
	}
	codec := tr.Codec
	var params [][]byte
	for _, p := range tr.ParamNALUs() {
		if len(p) > 0 {
			params = append(params, p)
		}
	}
	log := c.o.Logger.With("component", "tamper", "camera", camera)
	dec := decode.New(decode.Options{FFmpeg: c.o.FFmpeg, Codec: codec, Every: every,
		Width: w, Height: h, Queue: 32, Logger: log})
	ctx, cancel := context.WithCancel(context.Background())
	s := &sink{dec: dec, det: det, params: params, codec: tr.Codec, cancel: cancel, m: c.m}
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		dec.Run(ctx)
	}()
	go func() {
		defer s.wg.Done()
		s.loop()
	}()
	log.Info("tamper detection on", "every_nth_frame", every, "width", w, "height", h)
	return s, nil
}

// sink feeds one session's access units to its decoder and the decoded
// frames to the camera's detector.
type sink struct {
	dec    *decode.Decoder
	det    *Detector
	params [][]byte
	codec  media.Codec
	cancel context.CancelFunc
	wg     sync.WaitGroup
	m      *metrics
}

func (s *sink) WriteUnit(u *media.Unit) error {
	s.dec.Push(u.NALUs, s.params, u.RandomAccess(s.codec), u.Time)
	return nil
}

func (s *sink) loop() {
	var dropped uint64
	for f := range s.dec.Frames() {
		at := f.Time
		if at.IsZero() {
			at = time.Now()
		}
		start := time.Now()
		s.det.Observe(f.Img, at)
		s.m.seconds.WithLabelValues(s.det.camera).Add(time.Since(start).Seconds())
		if d := s.dec.Dropped(); d > dropped {
			s.m.dropped.WithLabelValues(s.det.camera).Add(float64(d - dropped))
			dropped = d
		}
	}
}

// Close stops the decoder and keeps the detector's state.
func (s *sink) Close() error {
	s.cancel()
	s.wg.Wait()
	s.det.Close()
	return nil
}
