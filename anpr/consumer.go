package anpr

import (
	"context"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kuzet/kuzet/config"
	"github.com/kuzet/kuzet/decode"
	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/media"
)

// ConsumerOptions wire plate reading into the node's camera sessions.
type ConsumerOptions struct {
	// Camera returns a camera's settings as they are now. They are read
	// when each session opens, so a camera changed in the catalogue takes
	// its new ones with its restart.
	Camera func(id string) (config.Camera, bool)
	// Models returns the recognition runtime and models, loaded once.
	Models func() (*Models, error)
	Events event.Emitter
	// SnapshotDir receives each read's overview and crop JPEGs.
	SnapshotDir string
	// Locate finds the archive file recording a camera at a time: its
	// path, its CGR-4.3 link and the offset into it (nil: reads carry none).
	Locate func(camera string, at time.Time) (rel, link string, offset time.Duration, ok bool)
	// Location is the time zone of the snapshots' directories (nil: UTC).
	Location *time.Location
	Logger   *slog.Logger
	// Registerer takes the metrics of cameras' plate events (nil: none).
	Registerer prometheus.Registerer
	// Journal keeps the camera reads Ingest acknowledges until their pass
	// is stored (nil: none; a kill loses the reads of open passes). Replay
	// searches Events for the passes stored before a kill when it is an
	// event.Log.
	Journal *Journal
}

// Consumer reads the plates of cameras with anpr.enabled and stores each
// pass as a plate.read event with its snapshots. It also takes the reads of
// cameras' own ANPR: into the node's analyzer of the camera while it reads
// plates there, otherwise into a tracker of the camera's reads alone.
type Consumer struct {
	o ConsumerOptions

	mu        sync.Mutex
	analyzers map[string]*Analyzer // the node's, while the camera's session runs
	own       map[string]*Analyzer // the camera's reads alone, from its first read
	closed    bool
	clockOff  map[string]time.Time // when a camera's clock was last reported off, by camera

	ingestEvents *prometheus.CounterVec
}

// NewConsumer makes the consumer; it starts no analyzer before a session
// or a camera's read asks for one.
func NewConsumer(o ConsumerOptions) *Consumer {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Location == nil {
		o.Location = time.UTC
	}
	return &Consumer{o: o, analyzers: map[string]*Analyzer{}, own: map[string]*Analyzer{}, clockOff: map[string]time.Time{},
		ingestEvents: newIngestEvents(o.Registerer)}
}

// Site is the consumer to list in site.Options.Consumers.
func (c *Consumer) Site() media.Consumer {
	return media.Consumer{Name: "anpr", Queue: 64, Open: c.open}
}

func (c *Consumer) open(camera string, tr media.Track, _ string) (media.Sink, error) {
	cam, ok := c.o.Camera(camera)
	if !ok || !cam.ANPR.Enabled {
		return nil, nil
	}
	models, err := c.o.Models()
	if err != nil {
		return nil, err
	}
	an, err := c.start(models, cam, tr)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.analyzers[camera] = an
	c.mu.Unlock()
	return &sink{an: an, codec: tr.Codec, detach: func() {
		c.mu.Lock()
		if c.analyzers[camera] == an {
			delete(c.analyzers, camera)
		}
		c.mu.Unlock()
	}}, nil
}

// sink feeds one session's frames to the camera's analyzer.
type sink struct {
	an     *Analyzer
	codec  media.Codec
	detach func()
}

func (s *sink) WriteUnit(u *media.Unit) error {
	s.an.Push(u.NALUs, u.RandomAccess(s.codec), u.Time)
	return nil
}

func (s *sink) Close() error {
	s.detach()
	return s.an.Close()
}

func (c *Consumer) start(models *Models, cam config.Camera, tr media.Track) (*Analyzer, error) {
	w, h, ok := tr.Resolution()
	if !ok {
		return nil, fmt.Errorf("camera %s: plate reading needs the frame size, and the SDP carries no SPS", cam.ID)
	}
	every, streamFPS := 0, tr.FPS()
	if !cam.ANPR.Keyframes {
		every = max(1, int(math.Round(streamFPS/cam.ANPR.FPS)))
	}
	codec := tr.Codec
	var roi image.Rectangle
	if r := cam.ANPR.ROI; len(r) == 4 {
		roi = image.Rect(r[0], r[1], r[0]+r[2], r[1]+r[3])
	}
	var axis struct{ X, Y float64 }
	switch cam.ANPR.Axis {
	case "down":
		axis.Y = 1
	case "up":
		axis.Y = -1
	case "right":
		axis.X = 1
	case "left":
		axis.X = -1
	}
	var dividers []Segment
	for _, d := range cam.ANPR.LaneDividers {
		dividers = append(dividers, Segment{float64(d[0]), float64(d[1]), float64(d[2]), float64(d[3])})
	}
	log := c.o.Logger.With("component", "anpr", "camera", cam.ID)
	an, err := StartAnalyzer(AnalyzerOptions{
		Camera: cam.ID, Models: models, ROI: roi,
		Recognizer: Options{Countries: cam.ANPR.Countries, ScanMaxSide: cam.ANPR.ScanSide},
		Tracker:    TrackerConfig{Axis: axis, Dividers: dividers},
		Decoder:    decode.Options{Codec: codec, Every: every, Width: w, Height: h},
		OnPass:     func(s Snapshot) { c.store(cam, s) },
		Logger:     log,
	}, tr.ParamNALUs())
	if err != nil {
		return nil, fmt.Errorf("camera %s: start plate reading: %w", cam.ID, err)
	}
	log.Info("plate reading on", "every_nth_frame", every, "width", w, "height", h)
	return an, nil
}

// External hands a read of a camera's own ANPR to the node's analyzer of
// the camera, or to the camera's own tracker when the node reads no plates
// there now.
func (c *Consumer) External(ctx context.Context, camera string, x ExternalRead) error {
	onPass := func(s Snapshot) { c.storeCameraPass(camera, s) }
	for range 2 { // an analyzer closing meanwhile: the camera's own tracker takes the read
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			return errors.New("the node is stopping")
		}
		an := c.analyzers[camera]
		if an == nil {
			if an = c.own[camera]; an == nil {
				cam, _ := c.o.Camera(camera)
				an = StartExternal(AnalyzerOptions{Camera: camera,
					Recognizer: Options{Countries: cam.ANPR.Countries}, OnPass: onPass,
					Logger: c.o.Logger.With("component", "anpr", "camera", camera)})
				c.own[camera] = an
			}
		}
		c.mu.Unlock()
		err := an.External(ctx, x, onPass)
		if !errors.Is(err, ErrAnalyzerClosed) {
			return err
		}
	}
	return ErrAnalyzerClosed
}

// storeCameraPass stores a pass the camera's own ANPR read (alone or with
// the node) as the node stores its own.
func (c *Consumer) storeCameraPass(camera string, s Snapshot) {
	cam, _ := c.o.Camera(camera)
	cam.ID = camera
	c.store(cam, s)
}

// Close refuses further camera reads and emits the passes still open
// (before the event log closes); the sessions' analyzers close with them.
func (c *Consumer) Close() {
	c.mu.Lock()
	c.closed = true
	own := c.own
	c.own = map[string]*Analyzer{}
	c.mu.Unlock()
	for _, an := range own {
		_ = an.Close()
	}
}
