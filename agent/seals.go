package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/kuzet/kuzet/alarm"
	"github.com/kuzet/kuzet/api"
	"github.com/kuzet/kuzet/audit"
	"github.com/kuzet/kuzet/auth"
	"github.com/kuzet/kuzet/checkpoint"
	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/federation"
	"github.com/kuzet/kuzet/plates"
	"github.com/kuzet/kuzet/seals/exchange"
)

// openSeals makes the node its country's operator in the navigation-seal
// exchange (seals: in the configuration): partners over mutual TLS, the
// outboxes, and the anomalies it derives, raised as alarms here.
func (a *Agent) openSeals() error {
	c := a.cfg.Seals
	if !c.Enabled() {
		return nil
	}
	cert, err := exchange.LoadCertificate(c.TLS.Cert, c.TLS.Key, c.Operator)
	if err != nil {
		return err
	}
	var partners []exchange.Partner
	for i, p := range c.Partners {
		roots, err := exchange.LoadRoots(p.CA)
		if err != nil {
			return fmt.Errorf("seals.partners[%d].ca: %w", i, err)
		}
		partners = append(partners, exchange.Partner{ID: p.ID, Country: p.Country, URL: p.URL, Roots: roots, Roles: p.Roles})
	}
	x, err := exchange.Open(exchange.Options{
		Operator: c.Operator, Listen: c.Listen, Cert: cert, Partners: partners,
		Path:    filepath.Join(a.cfg.Node.DataDir, "seals.db"),
		Timeout: c.Timeout.Std(), RetryMax: c.RetryMax.Std(), LimitKM: c.LimitKM, Keep: c.Keep.Std(),
		Log: a.log.With("component", "seals"), Alarm: a.sealAlarm, VisitOf: a.visitOfRead,
	})
	if err != nil {
		return err
	}
	a.seals = x
	a.life.onClose("seal exchange", x.Close)
	a.life.loop("seal exchange", x.Run)
	a.life.loop("sealed vehicles' reads", a.linkSealedReads)
	a.log.Info("seal exchange open", "operator", c.Operator, "listen", x.Addr().String(), "partners", len(partners))
	return nil
}

// visitOfRead finds the visit whose passages include a crossing's read.
func (a *Agent) visitOfRead(c exchange.Crossing) string {
	if a.visits == nil {
		return ""
	}
	vs, err := a.visits.Find(checkpoint.Query{Site: c.Origin, Plate: c.Plate, From: c.At.Add(-48 * time.Hour), To: c.At.Add(time.Minute), Limit: 50})
	if err != nil {
		return ""
	}
	for _, v := range vs {
		for _, p := range v.Passages {
			if p.Sighting == c.Read {
				return v.ID
			}
		}
	}
	return ""
}

// anomalySeverity grades abnormal situations (section XIII): a broken
// seal, unauthorised actions and a vehicle off its route are grave.
var anomalySeverity = map[string]event.Severity{
	"01": event.SeverityGrave, "02": event.SeverityGrave, "03": event.SeverityGrave, "04": event.SeverityMedium,
	"05": event.SeverityMinor, "06": event.SeverityMedium, "07": event.SeverityGrave,
}

// AlarmSealAnomaly is the alarm type of a sealed shipment's abnormal situation.
const AlarmSealAnomaly = "seal_anomaly"

// AlarmSealedVehicle is the alarm type of a sealed vehicle read at a
// crossing while its seal has an abnormal situation.
const AlarmSealedVehicle = "sealed_vehicle_abnormal"

// sealAlarm raises what the exchange found as an alarm here.
func (a *Agent) sealAlarm(al exchange.Alarm) error {
	if a.alarms == nil {
		return nil
	}
	var c alarm.Condition
	switch {
	case al.Crossing != nil:
		if done, err := a.raiseAtOrigin(*al.Crossing, al.Queued); done || err != nil {
			return err
		}
		c = a.crossingCondition(*al.Crossing)
	case al.Anomaly != nil:
		an := *al.Anomaly
		msg := fmt.Sprintf("seal %s, shipment %s", an.Seal, an.Shipment)
		if len(an.Plates) > 0 {
			msg += ", vehicle " + strings.Join(an.Plates, " ")
		}
		msg += ": " + an.Description()
		if an.Detail != "" {
			msg += " — " + an.Detail
		}
		if an.ReportedBy != "" {
			msg += ", reported by " + an.ReportedBy
		}
		c = alarm.Condition{
			Key:      fmt.Sprintf("%s:%s:%s:%s", AlarmSealAnomaly, an.Seal, an.Shipment, an.Code),
			Type:     AlarmSealAnomaly,
			Severity: anomalySeverity[an.Code],
			Message:  msg,
		}
	default:
		return nil
	}
	_, _, err := a.alarms.Raise(c)
	return err
}

// crossingCondition is the grave alarm of a sealed vehicle read while its
// seal is abnormal: on the camera that read it, as this node names it,
// with the read's photo where it has one.
func (a *Agent) crossingCondition(c exchange.Crossing) alarm.Condition {
	camera := c.Camera
	if c.Origin != a.cfg.Node.ID && camera != "" {
		camera = event.ReplicaCamera(c.Origin, c.Camera)
	}
	var what []string
	for _, an := range c.Anomalies {
		what = append(what, an.Code+" "+an.Description())
	}
	return alarm.Condition{
		// per seal and reading node: the vehicle's further reads there
		// count on the open alarm rather than each raising one
		Key:      fmt.Sprintf("%s:%s:%s", AlarmSealedVehicle, c.Seal, c.Origin),
		Type:     AlarmSealedVehicle,
		Camera:   camera,
		Severity: event.SeverityGrave,
		Message: fmt.Sprintf("sealed vehicle %s read at %s while seal %s (shipment %s) is abnormal: %s (read %s)",
			c.Plate, camera, c.Seal, c.Shipment, strings.Join(what, "; "), c.Read),
		Snapshot: a.readPhoto(c.Read),
	}
}

// crossingFallback is how long a sealed vehicle's alarm waits for the
// link to the site that read it before the centre raises it itself.
const crossingFallback = 30 * time.Second

// raiseAtOrigin has the node that read a sealed vehicle raise its alarm,
// so that the operators at the gate see it; the alarm comes back up like
// any other. done: raised there. A node that cannot be reached for
// crossingFallback, or refuses, leaves it to this node (done false,
// no error); until then the error keeps it queued.
func (a *Agent) raiseAtOrigin(c exchange.Crossing, queued time.Time) (done bool, err error) {
	if c.Origin == a.cfg.Node.ID || a.fedSrv == nil {
		return false, nil
	}
	cond := a.crossingCondition(c)
	cond.Camera = c.Camera // as the site names it
	act := federation.AlarmAct{
		ID: "seals:" + c.Read + ":" + c.Seal, Origin: c.Origin, AlarmID: fmt.Sprintf("%s:%s", AlarmSealedVehicle, c.Seal),
		Act: federation.ActRaise, User: "seal-exchange@" + a.cfg.Node.ID, Role: auth.RoleOperator.String(),
		Comment: strings.Replace(cond.Message, event.ReplicaCamera(c.Origin, c.Camera), c.Camera, 1),
		Type:    cond.Type, Severity: string(cond.Severity), Camera: c.Camera, Snapshot: cond.Snapshot,
	}
	ctx, cancel := context.WithTimeout(a.runCtx, 30*time.Second)
	defer cancel()
	err = a.fedSrv.SendAct(ctx, act)
	switch {
	case err == nil:
		a.log.Info("sealed vehicle's alarm raised at the node that read it", "node", c.Origin, "read", c.Read, "seal", c.Seal)
		return true, nil
	case errors.Is(err, federation.ErrActRefused):
		a.log.Warn("the node that read a sealed vehicle refused its alarm; raised here", "node", c.Origin, "err", err)
		return false, nil
	case time.Since(queued) > crossingFallback:
		a.log.Warn("the node that read a sealed vehicle is out of reach; its alarm is raised here", "node", c.Origin, "err", err)
		return false, nil
	}
	return false, err
}

// linkSealedReads offers every plate read this node stores — its own and
// its descendants' — to the seal exchange, which links the reads of
// sealed vehicles to their seals. The cursor is kept in the event log;
// a read offered again after a crash is linked once.
func (a *Agent) linkSealedReads(ctx context.Context) {
	const cursor = "seal-crossings"
	a.events.HoldCursor(cursor)
	wake, stop := a.events.Watch(16)
	defer stop()
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		after, err := a.events.Cursor(cursor)
		for err == nil {
			var evs []event.Event
			if evs, err = a.events.Range(after, 500); err != nil || len(evs) == 0 {
				break
			}
			for _, e := range evs {
				if e.Kind != plates.KindPlateRead {
					continue
				}
				var pr plates.PlateRead
				if json.Unmarshal(e.Payload, &pr) != nil {
					continue
				}
				if _, err = a.seals.Crossed(e.ID(), e.Origin, e.Camera, pr.Plate, e.Time); err != nil {
					break
				}
				after = e.Pos
			}
			if err == nil {
				after = evs[len(evs)-1].Pos
				err = a.events.SetCursor(cursor, after)
			}
		}
		if err != nil {
			a.log.Error("linking sealed vehicles' reads failed; retrying", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-t.C:
		}
	}
}

// sealHandlers serves /api/v1/seals; changes are audited.
func (a *Agent) sealHandlers(h *api.Handlers) {
	if a.seals == nil {
		return
	}
	s := a.seals.Handlers()
	h.Seals = api.SealHandlers{
		Partners: s.Partners, Messages: s.Messages, Seal: s.Seal, Anomalies: s.Anomalies, Readings: s.Readings, Vehicle: s.Vehicle,
		Send:     a.audit.Wrap(audit.ActionSealSend, nil, a.who, s.Send),
		Declare:  a.audit.Wrap(audit.ActionSealDeclare, nil, a.who, s.Declare),
		Register: a.audit.Wrap(audit.ActionSealRegister, nil, a.who, s.Register),
	}
}
