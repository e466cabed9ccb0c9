package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/kuzet/kuzet/alarm"
	"github.com/kuzet/kuzet/api"
	"github.com/kuzet/kuzet/audit"
	"github.com/kuzet/kuzet/config"
	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/media"
	"github.com/kuzet/kuzet/tamper"
)

// openAlarms opens the alarm table: every alarm raised here or below, with
// its lifecycle, rules and webhook (NVMS-6.8, UA-3.19).
func (a *Agent) openAlarms() error {
	c := a.cfg.Alarms
	rules := alarm.Rules{Dedupe: c.Dedupe.Std(), Suppress: c.Suppress.Std()}
	if len(c.Severity) > 0 {
		rules.Severity = map[string]event.Severity{}
		for typ, sev := range c.Severity {
			rules.Severity[typ] = event.Severity(sev)
		}
	}
	if len(c.Escalate) > 0 {
		rules.Escalate = map[event.Severity]time.Duration{}
		for sev, d := range c.Escalate {
			rules.Escalate[event.Severity(sev)] = d.Std()
		}
	}
	var err error
	a.alarms, err = alarm.Open(alarm.Options{
		Path: filepath.Join(a.cfg.Node.DataDir, "alarms.db"), Log: a.events, Rules: rules,
		Webhook: alarm.Webhook{URL: c.Webhook.URL, AuthHeader: c.Webhook.AuthHeader, Timeout: c.Webhook.Timeout.Std()},
		User:    a.actor, Role: a.actorRole, Down: a.sendAct, Persists: a.alarmPersists,
		OnAck: func(user, id, comment string) {
			_, _ = a.audit.Record(audit.Entry{User: user, Action: audit.ActionAckAlarm, Object: id, Detail: comment})
		},
		Locate: func(origin, camera string, at time.Time) string {
			if origin != a.cfg.Node.ID {
				return ""
			}
			rel, _, _ := a.archive.Locate(camera, at)
			return rel
		},
		Keep: c.Keep.Std(), Logger: a.log.With("component", "alarms"), Registerer: a.reg,
	})
	if err != nil {
		return err
	}
	a.life.onClose("alarm table", a.alarms.Close)
	a.life.loop("alarms", a.alarms.Run)
	return nil
}

// actor names who acts through the API: the logged-in user, or "local"
// on a node without users (guarded by its allow-list only).
func (a *Agent) actor(r *http.Request) string {
	if a.auth == nil {
		return "local"
	}
	return a.userName(r)
}

// alarmHandlers serve the alarm console's API; clearing is audited.
func (a *Agent) alarmHandlers(h *api.Handlers) {
	h.Alarms = a.alarms.Handler()
	h.AlarmSnapshot = http.HandlerFunc(a.alarmSnapshot)
	h.ClearAlarm = a.audit.Wrap(audit.ActionClearAlarm, func(r *http.Request) string { return r.PathValue("id") }, a.who, h.Alarms)
}

// tamperConsumer watches the cameras with tamper detection on.
func (a *Agent) tamperConsumer(cams []config.Camera) (*media.Consumer, error) {
	watch := map[string]tamper.Config{}
	for _, c := range cams {
		if !c.Tamper.Enabled || c.Disabled {
			continue
		}
		t := c.Tamper
		cfg := tamper.Config{FPS: t.FPS, Persist: t.Persist.Std(), Recover: t.Recover.Std(), Learn: t.Learn.Std(),
			Adapt: t.Adapt.Std(), CoverLuma: t.CoverLuma, CoverSpread: t.CoverSpread, BlindLuma: t.BlindLuma,
			BlindShare: t.BlindShare, MoveRatio: t.MoveRatio, DefocusRatio: t.DefocusRatio}.WithDefaults()
		if err := cfg.Validate(); err != nil {
			return nil, fmt.Errorf("camera %s: %w", c.ID, err)
		}
		watch[c.ID] = cfg
	}
	if len(watch) == 0 {
		return nil, nil
	}
	tc, err := tamper.NewConsumer(tamper.ConsumerOptions{
		Cameras: watch, Events: a.events,
		StateDir:    filepath.Join(a.cfg.Node.DataDir, "tamper"),
		SnapshotDir: a.tamperSnapshotDir(),
		Logger:      a.log.With("component", "tamper"), Registerer: a.reg,
	})
	if err != nil {
		return nil, err
	}
	a.tamper = tc
	sc := tc.Site()
	return &sc, nil
}

// alarmSnapshot answers GET /api/v1/alarms/{id}/snapshot.jpg: the photo
// of an alarm's evidence. A plate read's is its overview (a redirect to
// the plate image route); a tamper alarm's is the frame that raised it,
// fetched once from the node that raised it and kept.
func (a *Agent) alarmSnapshot(w http.ResponseWriter, r *http.Request) {
	al, ok := a.alarms.Get(r.PathValue("id"))
	if !ok || al.Evidence.Snapshot == "" {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": "id: no alarm with a photo by that ID", "param": "id"})
		return
	}
	s := al.Evidence.Snapshot
	if strings.HasPrefix(s, "/api/v1/plates/") {
		http.Redirect(w, r, s, http.StatusFound)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	p, err := a.Snapshot(ctx, al.Origin, tamperPrefix+s)
	if err != nil {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": "the alarm's photo is not to be had: " + err.Error()})
		return
	}
	w.Header().Set("Content-Type", "image/jpeg")
	w.Header().Set("Cache-Control", "private, max-age=86400")
	http.ServeFile(w, r, p)
}
