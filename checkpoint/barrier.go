package checkpoint

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/kuzet/kuzet/event"
)

// Grant files one party's permission for a visit's vehicle to leave;
// principal is the caller as authenticated, and its party is the one the
// site's set-up names for it. A barrier that waits for the vehicle opens
// once both parties have granted.
func (d *Desk) Grant(visitID, principal string) (Visit, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.cfg.Parties) == 0 {
		return Visit{}, refuse(http.StatusNotFound, "visit: this node grants no exits (it names no exit parties)")
	}
	party := d.cfg.Parties[principal]
	if party == "" {
		return Visit{}, refuse(http.StatusForbidden, "%s grants exits for neither customs nor the site owner (checkpoint.exit_parties)", principal)
	}
	if err := d.idx.Sync(d.log); err != nil {
		return Visit{}, err
	}
	v, ok, err := d.idx.Visit(visitID)
	if err != nil {
		return v, err
	}
	if !ok || v.Site != d.site {
		return v, refuse(http.StatusNotFound, "visit: unknown visit %q at this site", visitID)
	}
	if !v.Open() && d.waitingFor(v.ID) == "" {
		return v, refuse(http.StatusConflict, "visit: %s closed at %s and no barrier waits for it", v.ID, v.Closed.UTC().Format("2006-01-02 15:04:05"))
	}
	if g, ok := v.Exit[party]; ok {
		return v, refuse(http.StatusConflict, "party: %s granted the exit of visit %s already (%s at %s)", party, v.ID, g.User, g.Time.UTC().Format("15:04:05"))
	}
	g := Grant{Visit: v.ID, Party: party, User: principal, Time: d.cfg.Now()}
	if err := d.append(KindExitGranted, "", event.SeverityInfo, g); err != nil {
		return v, err
	}
	// the permission stands whatever the barrier does: a controller that
	// failed is filed, alarmed and tried again
	if err := d.retry(v.ID); err != nil && !asRefusal(err, new(*Refusal)) {
		return v, err
	}
	v, _, err = d.idx.Visit(visitID)
	return v, err
}

// waitingFor names the barrier a visit's vehicle waits at ("" none).
// Called with d.mu held.
func (d *Desk) waitingFor(visit string) string {
	for id := range d.barriers {
		st, ok, err := d.idx.BarrierOf(d.site, id)
		if err == nil && ok && st.Visit == visit && (st.State == BarrierWaiting || st.State == BarrierFailed) {
			return id
		}
	}
	return ""
}

// retry decides again at the barriers that wait for a visit (a permission
// came, or the controller failed before). Called with d.mu held.
func (d *Desk) retry(visit string) error {
	for id, b := range d.barriers {
		st, ok, err := d.idx.BarrierOf(d.site, id)
		if err != nil {
			return err
		}
		if !ok || (st.State != BarrierWaiting && st.State != BarrierFailed) || (visit != "" && st.Visit != visit) {
			continue
		}
		if st.Visit == "" { // a manual opening that failed: not retried
			continue
		}
		if err := d.decide(b, st.Visit, st.Read); err != nil {
			return err
		}
	}
	return nil
}

// atBarrier decides on a vehicle seen at a barrier's zone: the step that
// closed its visit there. Called with d.mu held.
func (d *Desk) atBarrier(b Barrier, st Step) error {
	cur, ok, err := d.idx.BarrierOf(d.site, b.ID)
	if err != nil {
		return err
	}
	if ok && cur.Visit == st.Visit && !cur.Since.Before(st.Time) {
		return nil // decided already (a replay)
	}
	return d.decide(b, st.Visit, Plates{Tractor: st.Tractor, Trailer: st.Trailer})
}

// decide opens the barrier for a visit's vehicle when both parties have
// granted and the plates read at the barrier are the visit's, and refuses
// it otherwise (it then waits). Called with d.mu held.
func (d *Desk) decide(b Barrier, visitID string, read Plates) error {
	v, ok, err := d.idx.Visit(visitID)
	if err != nil {
		return err
	}
	refused := BarrierStep{Barrier: b.ID, Zone: b.Zone, Visit: visitID, Read: read, Time: d.cfg.Now()}
	bound := Plates{Tractor: v.Tractor, Trailer: v.Trailer}
	switch {
	case !ok:
		refused.Why = "the vehicle has no visit on this site"
	case !v.EntrySeen:
		refused.Why = "the vehicle was not seen at the entry"
	case !read.Matches(bound):
		refused.Why = fmt.Sprintf("the plates at the barrier (%s) are not the visit's (%s)", read, bound)
	}
	for _, p := range Parties {
		if _, ok := v.Exit[p]; !ok {
			refused.Missing = append(refused.Missing, p)
		}
	}
	if refused.Why == "" && len(refused.Missing) > 0 {
		refused.Why = "waiting for the exit permission of " + strings.Join(refused.Missing, " and ")
	}
	if refused.Why != "" {
		cur, _, err := d.idx.BarrierOf(d.site, b.ID)
		if err != nil {
			return err
		}
		if cur.State == BarrierWaiting && cur.Visit == visitID && cur.Why == refused.Why {
			return nil // refused for this already
		}
		if err := d.append(KindBarrierRefused, "", event.SeverityInfo, refused); err != nil {
			return err
		}
		d.audit(ActionBarrierHeld, b.ID, fmt.Sprintf("visit %s (%s) held: %s", visitID, read, refused.Why))
		return nil
	}
	return d.open(b, Command{Barrier: b.ID, Action: "open", Visit: visitID, Plates: read}, "", "")
}

// open commands a barrier open and files the result; a controller that
// fails leaves it shut and raises barrier_unreachable. Called with d.mu
// held.
func (d *Desk) open(b Barrier, c Command, user, reason string) error {
	ctx, cancel := context.WithTimeout(context.Background(), d.cfg.CommandTimeout)
	err := b.Controller.Open(ctx, c)
	cancel()
	st := BarrierStep{Barrier: b.ID, Zone: b.Zone, Visit: c.Visit, Read: c.Plates, Manual: c.Manual, User: user, Reason: reason, Time: d.cfg.Now()}
	key := AlarmBarrierUnreachable + ":" + b.ID
	if err != nil {
		st.Why = err.Error()
		// a controller down is filed once, not at every retry
		if cur, _, ierr := d.idx.BarrierOf(d.site, b.ID); ierr != nil || cur.State != BarrierFailed || cur.Visit != c.Visit || c.Manual {
			if err := d.append(KindBarrierFailed, "", event.SeverityInfo, st); err != nil {
				return err
			}
			d.audit(ActionBarrierFailed, b.ID, fmt.Sprintf("visit %s (%s): the controller did not take the command: %v", c.Visit, c.Plates, err))
		}
		msg := fmt.Sprintf("barrier %s at zone %s: its controller did not take the command to open (%v); it stays shut", b.ID, b.Zone, err)
		if err := raiseOnce(d.log, d.idx, Site{Severity: d.cfg.Severity}, AlarmBarrierUnreachable, key, "", event.SeverityMedium, msg); err != nil {
			return err
		}
		return &Refusal{Status: http.StatusBadGateway, Msg: "barrier: " + msg}
	}
	if err := d.append(KindBarrierOpened, "", event.SeverityInfo, st); err != nil {
		return err
	}
	if !c.Manual { // a manual opening is audited with its caller by the API
		d.audit(ActionBarrierOpen, b.ID, fmt.Sprintf("visit %s (%s) opened: customs and the owner granted the exit", c.Visit, c.Plates))
	}
	return d.clear(key, AlarmBarrierUnreachable, "barrier "+b.ID+" took a command again")
}

// audit records what the barrier did on its own (nil Audit: nothing).
func (d *Desk) audit(action, object, detail string) {
	if d.cfg.Audit != nil {
		d.cfg.Audit(action, object, detail)
	}
}

// Override opens a barrier by hand: the caller's role was checked, its
// reason is required, and the opening is an event like any other.
func (d *Desk) Override(barrierID, user, reason string) (BarrierState, error) {
	reason = strings.TrimSpace(reason)
	d.mu.Lock()
	defer d.mu.Unlock()
	b, ok := d.barriers[barrierID]
	if !ok {
		return BarrierState{}, refuse(http.StatusNotFound, "barrier: unknown barrier %q at this site", barrierID)
	}
	if reason == "" {
		return BarrierState{}, refuse(http.StatusBadRequest, "reason: say why the barrier is opened by hand")
	}
	if len(reason) > 500 {
		return BarrierState{}, refuse(http.StatusBadRequest, "reason: longer than 500 bytes")
	}
	if err := d.idx.Sync(d.log); err != nil {
		return BarrierState{}, err
	}
	cur, _, err := d.idx.BarrierOf(d.site, b.ID)
	if err != nil {
		return cur, err
	}
	c := Command{Barrier: b.ID, Action: "open", Manual: true}
	if cur.State == BarrierWaiting || cur.State == BarrierFailed {
		c.Visit, c.Plates = cur.Visit, cur.Read // the vehicle waiting leaves
	}
	if err := d.open(b, c, user, reason); err != nil {
		return cur, err
	}
	st, _ := d.barrierView(b.ID)
	return st, nil
}

// BarrierView is a barrier of this site as GET /api/v1/barriers shows it.
func (d *Desk) BarrierView(id string) (BarrierState, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.barrierView(id)
}

// Barriers lists this site's barriers as GET /api/v1/barriers shows them.
func (d *Desk) Barriers() ([]BarrierState, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []BarrierState
	for id := range d.barriers {
		st, err := d.barrierView(id)
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}

// barrierView: called with d.mu held.
func (d *Desk) barrierView(id string) (BarrierState, error) {
	b, ok := d.barriers[id]
	if !ok {
		return BarrierState{}, refuse(http.StatusNotFound, "barrier: unknown barrier %q", id)
	}
	st, found, err := d.idx.BarrierOf(d.site, id)
	if err != nil {
		return st, err
	}
	if !found {
		st = BarrierState{Site: d.site, ID: id, Zone: b.Zone, State: BarrierClosed}
	}
	return st, nil
}
