package plugin

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"image/jpeg"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/internal/httpjson"
)

// Out is an event a plugin posts (POST /v1/events).
type Out struct {
	Kind     string          `json:"kind"`
	Camera   string          `json:"camera,omitempty"`
	Time     time.Time       `json:"time,omitzero"`
	Severity string          `json:"severity,omitempty"`
	Message  string          `json:"message,omitempty"`
	Boxes    []Box           `json:"boxes,omitempty"`
	Data     json.RawMessage `json:"data,omitempty"`
	Snapshot string          `json:"snapshot,omitempty"` // base64 JPEG
}

// Box is a region of the picture, in fractions of its width and height.
type Box struct {
	X     float64 `json:"x"`
	Y     float64 `json:"y"`
	W     float64 `json:"w"`
	H     float64 `json:"h"`
	Label string  `json:"label,omitempty"`
	Score float64 `json:"score,omitempty"`
}

// Payload is how a plugin's event is stored: plugin.<name>.<kind>.
type Payload struct {
	Plugin   string          `json:"plugin"`
	Message  string          `json:"message,omitempty"`
	Boxes    []Box           `json:"boxes,omitempty"`
	Data     json.RawMessage `json:"data,omitempty"`
	Snapshot string          `json:"snapshot,omitempty"` // JPEG under the alarm frames, Camera/Y/M/D/...
	// alarm.raised's fields, for an event that raises one
	Key  string `json:"key,omitempty"`
	Type string `json:"type,omitempty"`
}

const (
	maxData    = 8 << 10
	maxBoxes   = 32
	maxMessage = 500
)

var severities = map[string]event.Severity{"": event.SeverityInfo, "info": event.SeverityInfo,
	"minor": event.SeverityMinor, "medium": event.SeverityMedium, "grave": event.SeverityGrave}

// malformed is a post refused for a field.
type malformed struct{ field, why string }

func (e malformed) Error() string { return e.field + ": " + e.why }

// post stores one event the plugin sends, after checking every field.
// A plugin has at most a few posts under way: more wait their turn.
func (r *runner) post(w http.ResponseWriter, req *http.Request) {
	select {
	case r.posting <- struct{}{}:
		defer func() { <-r.posting }()
	case <-req.Context().Done():
		return
	}
	limit := int64(r.spec.Limits.SnapshotKB)<<10*4/3 + maxData + 64<<10
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, limit))
	if err != nil {
		r.refuse("malformed", "body over "+fmt.Sprint(limit)+" bytes")
		httpjson.Error(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body: more than %d bytes", limit))
		return
	}
	var o Out
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&o); err != nil {
		r.refuse("malformed", err.Error())
		httpjson.Error(w, http.StatusBadRequest, "body: not an event: "+err.Error())
		return
	}
	jpeg, err := r.check(&o)
	if err != nil {
		var m malformed
		reason, code := "malformed", http.StatusBadRequest
		if errors.As(err, &m) && m.field == "snapshot" {
			reason, code = "snapshot", http.StatusRequestEntityTooLarge
		}
		r.refuse(reason, err.Error())
		httpjson.Error(w, code, err.Error())
		return
	}
	if !r.rate.take() {
		r.refuse("rate", fmt.Sprintf("more than %d events a minute", r.spec.Limits.EventsPerMinute))
		// held for up to a second before the answer: a plugin posting in a
		// loop is slowed to the pace it may post at, and costs the node
		// next to nothing meanwhile
		select {
		case <-time.After(min(r.m.o.Hold, r.rate.wait())):
		case <-req.Context().Done():
		}
		httpjson.Error(w, http.StatusTooManyRequests, fmt.Sprintf("more than limits.events_per_minute (%d): refused", r.spec.Limits.EventsPerMinute))
		return
	}
	kind := "plugin." + r.spec.Name + "." + o.Kind
	p := Payload{Plugin: r.spec.Name, Message: o.Message, Boxes: o.Boxes, Data: o.Data}
	if jpeg != nil {
		if p.Snapshot, err = r.saveSnapshot(o.Camera, o.Time, kind, jpeg); err != nil {
			httpjson.Error(w, http.StatusInternalServerError, "snapshot: "+err.Error())
			return
		}
	}
	sev := severities[o.Severity]
	e := event.New(kind, o.Camera, sev, p)
	e.Time = o.Time
	stored, err := r.m.o.Log.Append(e)
	if err != nil {
		httpjson.Error(w, http.StatusServiceUnavailable, "event log: "+err.Error())
		return
	}
	if sev == event.SeverityMedium || sev == event.SeverityGrave {
		p.Key, p.Type = kind+":"+o.Camera, kind
		if p.Message == "" {
			p.Message = "plugin " + r.spec.Name + ": " + o.Kind
		}
		a := event.New(event.KindAlarmRaised, o.Camera, sev, p)
		a.Time = o.Time
		r.m.emit(a)
	}
	r.m.o.Metrics.Events.WithLabelValues(r.spec.Name).Inc()
	r.behaved()
	httpjson.Write(w, http.StatusAccepted, map[string]string{"id": stored.ID(), "kind": kind})
}

// check validates a post and decodes its snapshot.
func (r *runner) check(o *Out) ([]byte, error) {
	now := r.m.o.Now()
	switch {
	case !kindPattern.MatchString(o.Kind):
		return nil, malformed{"kind", fmt.Sprintf("%q: lower-case letters, digits and _, 1 to 40", o.Kind)}
	case o.Camera != "" && !r.spec.grants(o.Camera):
		return nil, malformed{"camera", o.Camera + " is not granted to this plugin"}
	case o.Time.After(now.Add(time.Minute)):
		return nil, malformed{"time", fmt.Sprintf("%s is ahead of the node's clock (%s)", o.Time.Format(time.RFC3339), now.Format(time.RFC3339))}
	case len(o.Message) > maxMessage:
		return nil, malformed{"message", fmt.Sprintf("%d bytes, at most %d", len(o.Message), maxMessage)}
	case len(o.Data) > maxData:
		return nil, malformed{"data", fmt.Sprintf("%d bytes, at most %d", len(o.Data), maxData)}
	case len(o.Boxes) > maxBoxes:
		return nil, malformed{"boxes", fmt.Sprintf("%d, at most %d", len(o.Boxes), maxBoxes)}
	}
	if _, ok := severities[o.Severity]; !ok {
		return nil, malformed{"severity", fmt.Sprintf("%q: info, minor, medium or grave", o.Severity)}
	}
	if o.Time.IsZero() {
		o.Time = now
	}
	for i, b := range o.Boxes {
		for _, v := range []float64{b.X, b.Y, b.W, b.H, b.Score} {
			if math.IsNaN(v) || v < 0 || v > 1 {
				return nil, malformed{fmt.Sprintf("boxes[%d]", i), "x, y, w, h and score between 0 and 1"}
			}
		}
	}
	if o.Snapshot == "" {
		return nil, nil
	}
	if o.Camera == "" {
		return nil, malformed{"snapshot", "needs the camera it shows"}
	}
	b, err := base64.StdEncoding.DecodeString(o.Snapshot)
	switch {
	case err != nil:
		return nil, malformed{"snapshot", "not base64: " + err.Error()}
	case len(b) > r.spec.Limits.SnapshotKB<<10:
		return nil, malformed{"snapshot", fmt.Sprintf("%d bytes, over limits.snapshot_kb (%d KiB)", len(b), r.spec.Limits.SnapshotKB)}
	case len(b) < 4 || b[0] != 0xff || b[1] != 0xd8:
		return nil, malformed{"snapshot", "not a JPEG"}
	}
	// the header only: a console's browser decodes the whole picture, so a
	// small file claiming a huge one is refused here
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(b))
	switch {
	case err != nil:
		return nil, malformed{"snapshot", "not a readable JPEG: " + err.Error()}
	case cfg.Width > maxSnapshotSide || cfg.Height > maxSnapshotSide:
		return nil, malformed{"snapshot", fmt.Sprintf("%dx%d pixels, over %dx%d", cfg.Width, cfg.Height, maxSnapshotSide, maxSnapshotSide)}
	}
	return b, nil
}

// maxSnapshotSide bounds a snapshot's picture (a 4K frame fits).
const maxSnapshotSide = 4096

// saveSnapshot keeps a plugin's JPEG where alarm frames are kept.
func (r *runner) saveSnapshot(camera string, at time.Time, kind string, b []byte) (string, error) {
	t := at.UTC()
	rel := fmt.Sprintf("%s/%04d/%02d/%02d/%s_%s.jpg", camera, t.Year(), t.Month(), t.Day(), t.Format("150405.000"), kind)
	p := filepath.Join(r.m.o.SnapshotDir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
		return "", err
	}
	// durable before the event that names it is acknowledged
	tmp := p + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return "", err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return "", err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	return rel, os.Rename(tmp, p)
}
