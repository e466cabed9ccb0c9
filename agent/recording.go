package agent

import (
	"context"
	"fmt"
	"image"
	"net/http"
	"time"

	"github.com/kuzet/kuzet/audit"
	"github.com/kuzet/kuzet/auth"
	"github.com/kuzet/kuzet/config"
	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/internal/httpjson"
	"github.com/kuzet/kuzet/plates"
	"github.com/kuzet/kuzet/record"
)

// openRecording sets every camera's recording policy (NVMS-6.15) and
// follows the event log for the triggers it holds: this node's plate
// reads and alarms on a camera.
func (a *Agent) openRecording(cams []config.Camera) error {
	a.rec = record.NewTriggers(a.loc, a.log.With("component", "record"), a.reg)
	// a policy the node cannot follow stops it at start, named
	for _, c := range cams {
		p, err := recordPolicy(c)
		if err != nil {
			return err
		}
		a.rec.SetPolicy(c.ID, p)
	}
	a.life.loop("recording triggers", a.followTriggers)
	return nil
}

// setRecordPolicies gives every camera its recording policy; a camera
// whose policy cannot be read (the catalogue checks it first) records
// continuously, and says so.
func (a *Agent) setRecordPolicies(cams []config.Camera) {
	if a.rec == nil {
		return
	}
	for _, c := range cams {
		p, err := recordPolicy(c)
		if err != nil {
			a.log.Error("recording policy refused: the camera records continuously", "camera", c.ID, "err", err)
			p = record.Policy{Mode: record.ModeContinuous}
		}
		a.rec.SetPolicy(c.ID, p)
	}
}

// recordPolicy is a camera's configured recording.
func recordPolicy(c config.Camera) (record.Policy, error) {
	r := c.Record
	p := record.Policy{Mode: r.Mode, Pre: r.Pre.Std(), Post: r.Post.Std(), On: r.On,
		Motion: record.MotionOptions{FPS: r.Motion.FPS, Threshold: r.Motion.Threshold}}
	for _, s := range r.Schedule {
		w, err := record.ParseWindow(s)
		if err != nil {
			return p, fmt.Errorf("cameras[%s].record.schedule: %w", c.ID, err)
		}
		p.Schedule = append(p.Schedule, w)
	}
	for _, m := range r.Motion.Mask {
		p.Motion.Mask = append(p.Motion.Mask, image.Rect(m[0], m[1], m[0]+m[2], m[1]+m[3]))
	}
	return p, nil
}

// followTriggers fires a camera's recording for each plate read and alarm
// of its own, from the end of the log on (what happened before the node
// started is not to be recorded now).
func (a *Agent) followTriggers(ctx context.Context) {
	pos := a.events.Last()
	a.events.Follow(ctx, func() (int, error) {
		batch, err := a.events.Range(pos, 1000)
		for _, e := range batch {
			pos = e.Pos
			if e.Origin != a.cfg.Node.ID || e.Camera == "" {
				continue
			}
			switch e.Kind {
			case plates.KindPlateRead:
				a.rec.Fire(e.Camera, record.CausePlate, e.Time)
			case event.KindAlarmRaised:
				a.rec.Fire(e.Camera, record.CauseAlarm, e.Time)
			}
		}
		return len(batch), err
	}, func(err error) { a.log.Warn("recording triggers: read the event log", "err", err) })
}

// RecordRequest asks for a camera's main stream to be recorded now.
type RecordRequest struct {
	Reason string `json:"reason"`
}

// recordNow is POST /api/v1/cameras/{camera}/record: an operator (or a
// system on an API key) starts an event recording, audited first.
func (a *Agent) recordNow(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("camera")
	if _, ok := a.camera(id); !ok || a.rec == nil {
		httpjson.Error(w, http.StatusNotFound, fmt.Sprintf("unknown camera %q", id))
		return
	}
	var req RecordRequest
	if !decodeSmall(w, r, &req) {
		return
	}
	p := a.rec.Policy(id)
	if p.Continuous() {
		httpjson.Error(w, http.StatusConflict, fmt.Sprintf("camera %s records continuously (cameras[].record.mode): there is nothing to start", id))
		return
	}
	if !p.Takes(record.CauseAPI) {
		httpjson.Error(w, http.StatusConflict, fmt.Sprintf("camera %s does not record on API calls (cameras[].record.on)", id))
		return
	}
	user, role, _, ok := a.who(r)
	if !ok {
		user, role = "local", auth.RoleOperator.String()
	}
	if _, err := a.audit.Record(audit.Entry{User: user, Role: role, Action: audit.ActionRecordStart, Object: id,
		Detail: req.Reason, Source: r.RemoteAddr}); err != nil {
		httpjson.Error(w, http.StatusServiceUnavailable, "not done: the audit log is unavailable: "+err.Error())
		return
	}
	now := time.Now()
	a.rec.Fire(id, record.CauseAPI, now)
	httpjson.Write(w, http.StatusOK, RecordStarted{Camera: id, From: now.Add(-p.Pre).UTC(), Until: now.Add(p.Post).UTC()})
}

// RecordStarted says what an event recording started by hand will hold
// (later triggers extend it).
type RecordStarted struct {
	Camera string    `json:"camera"`
	From   time.Time `json:"from"`  // the pre-event seconds kept
	Until  time.Time `json:"until"` // the post-event time
}
