package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kuzet/kuzet/anpr"
	"github.com/kuzet/kuzet/api"
	"github.com/kuzet/kuzet/media"
	"github.com/kuzet/kuzet/plates/camevents"
)

// plateIngest routes the reads of cameras' own ANPR: into the node's
// analyzer of the camera while it reads plates there, otherwise into a
// tracker of the camera's reads alone.
type plateIngest struct {
	mu        sync.Mutex
	analyzers map[string]*anpr.Analyzer // the node's, while the camera's session runs
	own       map[string]*anpr.Analyzer // the camera's reads alone, from its first read
	closed    bool
	events    *prometheus.CounterVec
	clockOff  map[string]time.Time // when a camera's clock was last reported off, by camera
}

func newPlateIngest(reg prometheus.Registerer) *plateIngest {
	in := &plateIngest{analyzers: map[string]*anpr.Analyzer{}, own: map[string]*anpr.Analyzer{}, clockOff: map[string]time.Time{},
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kuzet_camera_plate_events_total",
			Help: "Plate events posted by cameras' own ANPR, by result (accepted, ignored, invalid, refused, busy).",
		}, []string{"camera", "result"})}
	reg.MustRegister(in.events)
	return in
}

// ingestConsumer tells the ingest which analyzer reads each camera's plates.
func (a *Agent) ingestConsumer(c media.Consumer) media.Consumer {
	open := c.Open
	c.Open = func(camera string, tr media.Track, reason string) (media.Sink, error) {
		s, err := open(camera, tr, reason)
		ps, ok := s.(*plateSink)
		if err != nil || !ok {
			return s, err
		}
		a.ingest.mu.Lock()
		a.ingest.analyzers[camera] = ps.an
		a.ingest.mu.Unlock()
		return &ingestSink{plateSink: ps, detach: func() {
			a.ingest.mu.Lock()
			if a.ingest.analyzers[camera] == ps.an {
				delete(a.ingest.analyzers, camera)
			}
			a.ingest.mu.Unlock()
		}}, nil
	}
	return c
}

type ingestSink struct {
	*plateSink
	detach func()
}

func (s *ingestSink) Close() error {
	s.detach()
	return s.plateSink.Close()
}

// closePlateIngest refuses further camera reads and emits the passes still
// open (before the event log closes).
func (a *Agent) closePlateIngest() {
	a.ingest.mu.Lock()
	a.ingest.closed = true
	own := a.ingest.own
	a.ingest.own = map[string]*anpr.Analyzer{}
	a.ingest.mu.Unlock()
	for _, an := range own {
		_ = an.Close()
	}
}

// plateGates are the cameras that take plate events, as configured now.
func (a *Agent) plateGates() map[string]camevents.Gate {
	a.camMu.Lock()
	defer a.camMu.Unlock()
	gates := map[string]camevents.Gate{}
	for id, c := range a.cams {
		if in := c.ANPR.Ingest; in != nil {
			g, err := camevents.NewGate(id, c.URL, in.Token, in.From)
			if err != nil {
				a.log.Error("camera plate events refused", "camera", id, "err", err) // validated on load
				continue
			}
			gates[id] = g
		}
	}
	return gates
}

// cameraPlates takes one plate event of a camera's own ANPR (the HTTP
// API's CameraPlates).
func (a *Agent) cameraPlates(ctx context.Context, ev api.CameraPlateEvent) (api.CameraPlateAnswer, error) {
	gates := a.plateGates()
	label := ""
	if _, ok := gates[ev.Camera]; ok {
		label = ev.Camera // never a name a stranger made up
	}
	count := func(result string) { a.ingest.events.WithLabelValues(label, result).Inc() }
	if ref := camevents.Check(gates, ev.Camera, ev.Source, ev.Token, ev.Allowed); ref != nil {
		count("refused")
		return api.CameraPlateAnswer{}, ref
	}
	cam, ok := a.camera(ev.Camera)
	if !ok || cam.ANPR.Ingest == nil { // changed since the gates were read
		count("refused")
		return api.CameraPlateAnswer{}, &camevents.Refusal{Status: 404, Msg: "camera " + ev.Camera + " takes no plate events"}
	}
	body, err := io.ReadAll(ev.Body)
	if err != nil {
		count("invalid")
		return api.CameraPlateAnswer{}, fmt.Errorf("read the event: %w", err)
	}
	rd, err := camevents.Parse(cam.ANPR.Ingest.Format, ev.ContentType, body)
	var ignored *camevents.Ignored
	if errors.As(err, &ignored) {
		count("ignored")
		return api.CameraPlateAnswer{Camera: ev.Camera, Ignored: ignored.Reason}, nil
	}
	if err != nil {
		count("invalid")
		a.log.Warn("camera plate event malformed", "camera", ev.Camera, "err", err)
		return api.CameraPlateAnswer{}, err
	}
	at, sane := rd.When(ev.Received)
	if !sane && !rd.Time.IsZero() {
		a.ingest.mu.Lock()
		warn := ev.Received.Sub(a.ingest.clockOff[cam.ID]) > 10*time.Minute // not at every read
		if warn {
			a.ingest.clockOff[cam.ID] = ev.Received
		}
		a.ingest.mu.Unlock()
		if warn {
			a.log.Warn("camera clock off: its reads are filed at the time they arrive", "camera", ev.Camera,
				"camera_time", rd.Time, "received", ev.Received)
		}
	}
	x := anpr.ExternalRead{Text: rd.Plate, Country: rd.Country, Confidence: rd.Confidence, At: at,
		Direction: rd.Direction, Overview: rd.Overview, Crop: rd.Crop}
	if err := a.takeCameraRead(ctx, cam.ID, x); err != nil {
		count("busy")
		return api.CameraPlateAnswer{}, fmt.Errorf("%w: %v", api.ErrCameraPlatesBusy, err)
	}
	count("accepted")
	return api.CameraPlateAnswer{Camera: ev.Camera, Plate: rd.Plate, Time: at.UTC()}, nil
}

// takeCameraRead hands a read to the node's analyzer of the camera, or to
// the camera's own tracker when the node reads no plates there now.
func (a *Agent) takeCameraRead(ctx context.Context, camera string, x anpr.ExternalRead) error {
	onPass := func(s anpr.Snapshot) { a.storeCameraPass(camera, s) }
	for range 2 { // an analyzer closing meanwhile: the camera's own tracker takes the read
		in := a.ingest
		in.mu.Lock()
		if in.closed {
			in.mu.Unlock()
			return errors.New("the node is stopping")
		}
		an := in.analyzers[camera]
		if an == nil {
			if an = in.own[camera]; an == nil {
				cam, _ := a.camera(camera)
				an = anpr.StartExternal(anpr.AnalyzerOptions{Camera: camera,
					Recognizer: anpr.Options{Countries: cam.ANPR.Countries}, OnPass: onPass,
					Logger: a.log.With("component", "anpr", "camera", camera)})
				in.own[camera] = an
			}
		}
		in.mu.Unlock()
		err := an.External(ctx, x, onPass)
		if !errors.Is(err, anpr.ErrAnalyzerClosed) {
			return err
		}
	}
	return anpr.ErrAnalyzerClosed
}

// storeCameraPass stores a pass the camera's own ANPR read (alone or with
// the node) as the node stores its own.
func (a *Agent) storeCameraPass(camera string, s anpr.Snapshot) {
	cam, _ := a.camera(camera)
	cam.ID = camera
	a.plateRead(cam, s)
}
