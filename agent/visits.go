package agent

import (
	"context"
	"net/http"
	"path/filepath"

	"github.com/kuzet/kuzet/api"
	"github.com/kuzet/kuzet/audit"
	"github.com/kuzet/kuzet/checkpoint"
	"github.com/kuzet/kuzet/event"
)

// openVisits opens the visit index every node keeps (its own visits and
// its subtree's) and adds its loops: following the log into the index, and
// tracking this node's sightings at its zones into visits.
func (a *Agent) openVisits() error {
	var err error
	a.visits, err = checkpoint.OpenIndex(filepath.Join(a.cfg.Node.DataDir, "visits.db"))
	if err != nil {
		return err
	}
	a.life.onClose("visit index", a.visits.Close)
	a.life.loop("visit index", func(ctx context.Context) {
		a.visits.Follow(ctx, a.events, a.log.With("component", "visits"))
	})
	paired := map[string]bool{}
	for _, p := range a.cfg.ANPR.Passages {
		paired[p.Front], paired[p.Rear] = true, true
	}
	a.life.loop("visit tracker", func(ctx context.Context) {
		checkpoint.RunVisits(ctx, a.events, a.visits, checkpoint.Site{
			ZoneOf:    a.zoneOf,
			Paired:    func(camera string) bool { return paired[camera] },
			Limit:     a.dwellLimit,
			Forbidden: a.forbidden,
			AllowedDirection: func(camera string) string {
				c, _ := a.camera(camera)
				return c.AllowedDirection
			},
			Measured: func(camera string) bool {
				c, _ := a.camera(camera)
				return c.Direction == "auto"
			},
			Expected: a.expectedZones,
			Severity: func(typ string) event.Severity { return event.Severity(a.cfg.Alarms.Severity[typ]) },
			Active:   func(key string) bool { return a.alarms != nil && a.alarms.Active(a.cfg.Node.ID, key) },
		}, a.log.With("component", "visits"))
	})
	return a.openDesk()
}

// visitHandlers are the checkpoint's handlers. Looking a plate up in the
// visits is a plate search and is audited as one (coalesced per user);
// the console's polling of the site's visits, with no plate, is not.
func (a *Agent) visitHandlers(h *api.Handlers) {
	h.Visits = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := r.URL.Query().Get("plate"); p != "" {
			a.record(r, audit.ActionSearchPlates, p, "visits: "+r.URL.RawQuery)
		}
		a.visits.Visits(w, r)
	})
	h.DwellStats = http.HandlerFunc(a.visits.DwellStats)
	d := checkpoint.DeskHandlers{Desk: a.desk, Index: a.visits, User: a.actor, Audit: a.record}
	// the acts are routed at every node: one without a desk says so
	h.Cases = http.HandlerFunc(d.Cases)
	h.Barriers = http.HandlerFunc(d.Barriers)
	h.Present = http.HandlerFunc(d.Present)
	h.ReaderHeartbeat = http.HandlerFunc(d.Heartbeat)
	h.CaseAttempt = http.HandlerFunc(d.Attempt)
	h.Unblock = http.HandlerFunc(d.Unblock)
	h.GrantExit = http.HandlerFunc(d.Grant)
	h.OpenBarrier = http.HandlerFunc(d.Override)
}
