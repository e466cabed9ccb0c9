package agent

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/kuzet/kuzet/alarm"
	"github.com/kuzet/kuzet/audit"
	"github.com/kuzet/kuzet/auth"
	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/federation"
)

// Operators' acts on alarms of nodes below travel down to the alarm's
// origin (see alarm.RemoteAct and federation.AlarmAct): the table queues
// them, sendAct hands them to the child link that leads there, each node on
// the way passes them on (applyAct), and the origin checks the operator's
// role, applies and audits them.

// actorRole is the role of an API caller, which travels with their acts on
// alarms below. A node without logins is guarded by its allow-list only:
// whoever it lets act does so as an operator.
func (a *Agent) actorRole(r *http.Request) string {
	if a.auth == nil {
		return auth.RoleOperator.String()
	}
	_, role, _, _ := a.who(r)
	return role
}

// sendAct delivers an act from the alarm table towards its origin.
func (a *Agent) sendAct(ctx context.Context, act alarm.RemoteAct) error {
	if a.fedSrv == nil {
		return fmt.Errorf("alarm act %s: node %s: %w", act.ID, act.Origin, federation.ErrNoRoute)
	}
	err := a.fedSrv.SendAct(ctx, federation.AlarmAct{ID: act.ID, Origin: act.Origin, AlarmID: act.AlarmID,
		Act: act.Act, User: act.User, Role: act.Role, Comment: act.Comment})
	if errors.Is(err, federation.ErrActRefused) {
		return fmt.Errorf("%w: %v", alarm.ErrRefused, err)
	}
	return err
}

// applyAct takes an act from the parent: applied here when the alarm is
// this node's, else passed on towards its origin. Acknowledging and
// clearing need an operator, as through this node's own API.
func (a *Agent) applyAct(ctx context.Context, act federation.AlarmAct) error {
	if act.Origin != a.cfg.Node.ID {
		if a.fedSrv == nil {
			// a route the ancestor has not updated yet (the node moved):
			// it tries again, and gives up after a week
			return fmt.Errorf("node %s is not below %s: %w", act.Origin, a.cfg.Node.ID, federation.ErrNoRoute)
		}
		return a.fedSrv.SendAct(ctx, act)
	}
	role, err := auth.ParseRole(act.Role)
	if err != nil || !role.AtLeast(auth.RoleOperator) {
		return fmt.Errorf("%w: %s has role %q; to %s an alarm needs operator or above", federation.ErrActRefused,
			act.User, act.Role, act.Act)
	}
	if act.Act == federation.ActRaise {
		return a.applyRaise(act)
	}
	applied, err := a.alarms.Apply(alarm.RemoteAct{ID: act.ID, Origin: act.Origin, AlarmID: act.AlarmID,
		Act: act.Act, User: act.User, Role: act.Role, Comment: act.Comment})
	if errors.Is(err, alarm.ErrRefused) {
		return fmt.Errorf("%w: %v", federation.ErrActRefused, err)
	}
	if err != nil || !applied {
		return err
	}
	action := audit.ActionAckAlarm
	if act.Act == federation.ActClear {
		action = audit.ActionClearAlarm
	}
	detail := "from an ancestor (act " + act.ID + ")"
	if act.Comment != "" {
		detail += ": " + act.Comment
	}
	if _, err := a.audit.Record(audit.Entry{User: act.User, Role: act.Role, Action: action, Object: act.AlarmID,
		Detail: detail, Source: "federation"}); err != nil {
		a.log.Error("audit an alarm act from an ancestor", "act", act.ID, "err", err)
	}
	return nil
}

// raisedFromAbove are the alarm types an ancestor may raise here: what
// the ancestor knows of this node's own reads.
var raisedFromAbove = map[string]bool{AlarmSealedVehicle: true}

// applyRaise raises an alarm an ancestor asks for, on this node's camera
// and under this node's key, and audits who asked. A delivery repeated
// counts on the open alarm.
func (a *Agent) applyRaise(act federation.AlarmAct) error {
	if !raisedFromAbove[act.Type] {
		return fmt.Errorf("%w: an ancestor may not raise %q alarms here", federation.ErrActRefused, act.Type)
	}
	if act.Camera != "" && !a.ownCamera(act.Camera) {
		return fmt.Errorf("%w: camera %q is not this node's", federation.ErrActRefused, act.Camera)
	}
	_, outcome, err := a.alarms.Raise(alarm.Condition{Key: act.AlarmID, Type: act.Type, Camera: act.Camera,
		Severity: event.Severity(act.Severity), Message: act.Comment, Snapshot: act.Snapshot})
	if err != nil {
		return err
	}
	if outcome == alarm.OutcomeNew {
		if _, err := a.audit.Record(audit.Entry{User: act.User, Role: act.Role, Action: audit.ActionRaiseAlarm, Object: act.AlarmID,
			Detail: "from an ancestor (act " + act.ID + "): " + act.Comment, Source: "federation"}); err != nil {
			a.log.Error("audit an alarm raised from an ancestor", "act", act.ID, "err", err)
		}
	}
	return nil
}

// ownCamera reports whether camera is one of this node's.
func (a *Agent) ownCamera(camera string) bool {
	a.camMu.Lock()
	defer a.camMu.Unlock()
	_, ok := a.cams[camera]
	return ok
}

// alarmPersists reports whether the condition of one of this node's alarms
// still holds, where the node can tell: a camera still offline, a tamper
// condition its detector still sees. An alarm an operator clears while it
// does is raised again.
func (a *Agent) alarmPersists(al alarm.Alarm) bool {
	switch {
	case al.Type == event.AlarmCameraOffline && a.site != nil:
		for _, st := range a.site.Status() {
			if st.ID == al.Camera {
				return st.Offline
			}
			if st.Sub != nil && st.Sub.ID == al.Camera { // a recorded sub-stream
				return st.Sub.Offline
			}
		}
	case strings.HasPrefix(al.Type, "tamper_") && a.tamper != nil:
		for _, st := range a.tamper.Status() {
			if st.Camera != al.Camera {
				continue
			}
			for _, k := range st.Raised {
				if k.AlarmType() == al.Type {
					return true
				}
			}
		}
	}
	return false
}
