package anpr

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kuzet/kuzet/plates"
	"github.com/kuzet/kuzet/plates/camevents"
)

// newIngestEvents counts the plate events of cameras' own ANPR.
func newIngestEvents(reg prometheus.Registerer) *prometheus.CounterVec {
	v := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "kuzet_camera_plate_events_total",
		Help: "Plate events posted by cameras' own ANPR, by result (accepted, ignored, invalid, refused, busy).",
	}, []string{"camera", "result"})
	if reg != nil {
		reg.MustRegister(v)
	}
	return v
}

// Ingest takes one plate event of a camera's own ANPR, checked against
// the gates of the cameras that take them now.
func (c *Consumer) Ingest(ctx context.Context, gates map[string]camevents.Gate, ev plates.CameraPlateEvent) (plates.CameraPlateAnswer, error) {
	label := ""
	if _, ok := gates[ev.Camera]; ok {
		label = ev.Camera // never a name a stranger made up
	}
	count := func(result string) { c.ingestEvents.WithLabelValues(label, result).Inc() }
	if ref := camevents.Check(gates, ev.Camera, ev.Source, ev.Token, ev.Allowed); ref != nil {
		count("refused")
		return plates.CameraPlateAnswer{}, ref
	}
	cam, ok := c.o.Camera(ev.Camera)
	if !ok || cam.ANPR.Ingest == nil { // changed since the gates were read
		count("refused")
		return plates.CameraPlateAnswer{}, &camevents.Refusal{Status: 404, Msg: "camera " + ev.Camera + " takes no plate events"}
	}
	body, err := io.ReadAll(ev.Body)
	if err != nil {
		count("invalid")
		return plates.CameraPlateAnswer{}, fmt.Errorf("read the event: %w", err)
	}
	rd, err := camevents.Parse(cam.ANPR.Ingest.Format, ev.ContentType, body)
	var ignored *camevents.Ignored
	if errors.As(err, &ignored) {
		count("ignored")
		return plates.CameraPlateAnswer{Camera: ev.Camera, Ignored: ignored.Reason}, nil
	}
	if err != nil {
		count("invalid")
		c.o.Logger.Warn("camera plate event malformed", "camera", ev.Camera, "err", err)
		return plates.CameraPlateAnswer{}, err
	}
	at, sane := rd.When(ev.Received)
	if !sane && !rd.Time.IsZero() {
		c.mu.Lock()
		warn := ev.Received.Sub(c.clockOff[cam.ID]) > 10*time.Minute // not at every read
		if warn {
			c.clockOff[cam.ID] = ev.Received
		}
		c.mu.Unlock()
		if warn {
			c.o.Logger.Warn("camera clock off: its reads are filed at the time they arrive", "camera", ev.Camera,
				"camera_time", rd.Time, "received", ev.Received)
		}
	}
	x := ExternalRead{Text: rd.Plate, Country: rd.Country, Confidence: rd.Confidence, At: at,
		Direction: rd.Direction, Overview: rd.Overview, Crop: rd.Crop}
	// durable before it is acknowledged: the camera will not send it again
	if j := c.o.Journal; j != nil {
		if x.ID, err = j.Add(cam.ID, x, ev.Received, c.logLast()); err != nil {
			count("busy")
			c.o.Logger.Error("camera plate read not journaled", "camera", ev.Camera, "err", err)
			return plates.CameraPlateAnswer{}, fmt.Errorf("%w: %v", plates.ErrCameraPlatesBusy, err)
		}
	}
	if err := c.External(ctx, cam.ID, x); err != nil {
		count("busy")
		if x.ID != "" { // not acknowledged: the camera sends it again
			if rerr := c.o.Journal.Release(x.ID); rerr != nil {
				c.o.Logger.Error("release camera plate read", "camera", ev.Camera, "err", rerr)
			}
		}
		return plates.CameraPlateAnswer{}, fmt.Errorf("%w: %v", plates.ErrCameraPlatesBusy, err)
	}
	count("accepted")
	return plates.CameraPlateAnswer{Camera: ev.Camera, Plate: rd.Plate, Time: at.UTC()}, nil
}
