package agent

import (
	"context"
	"path/filepath"

	"github.com/kuzet/kuzet/archive"
	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/federation"
	"github.com/kuzet/kuzet/replicate"
)

// openParent opens the parent role when federation.listen is set: the
// fetch queue, the planner that reads children's segment.closed events,
// the puller that fetches their files, and the listener children link to.
func (a *Agent) openParent() error {
	f := a.cfg.Federation
	if a.ident == nil || f.Listen == "" {
		return nil
	}
	log := a.log.With("component", "federation")
	var err error
	a.fetchQ, err = replicate.OpenQueue(filepath.Join(a.cfg.Node.DataDir, "replicate.db"))
	if err != nil {
		return err
	}
	a.life.onClose("fetch queue", a.fetchQ.Close)
	a.planner = &replicate.Planner{Log: a.events, Queue: a.fetchQ, Policy: f.Fragments.PolicyFor,
		References: references, Logger: log}
	a.puller = &replicate.Puller{
		Queue: a.fetchQ, Store: partsOf(a.archive), Planner: a.planner,
		PerChild: f.Fragments.ChildMbps * 1e6 / 8,
		Total:    replicate.NewLimiter(f.Fragments.TotalMbps * 1e6 / 8),
		Backfill: f.Fragments.Backfill.Std(),
		Self:     a.cfg.Node.ID, Local: a.localFile,
		Logger: log, Metrics: replicate.NewPullMetrics(a.reg),
		OnFail: func(origin string, err error) { a.failed.add(origin, "replication", err) },
	}
	a.fedSrv, err = federation.Listen(federation.ServerOptions{
		Listen: f.Listen, Identity: a.ident, Log: a.events, Logger: log, Metrics: a.fedMetrics, Version: a.version,
		LinkDownAfter: f.LinkDownAfter.Std(), IdleTimeout: 3 * f.Heartbeat.Std(),
		Puller:        a.puller,
		Slices:        a.childSlices(),
		MaySpeakFor:   a.maySpeakFor,
		Confirm:       a.confirmCatalogue,
		OnIncarnation: a.recordIncarnation,
	})
	if err != nil {
		return err
	}
	a.life.onCloseIdle("child links", func() error { a.fedSrv.Close(); return nil })
	a.puller.Routes = a.fedSrv.Descendants
	a.life.loop("child links", a.fedSrv.Run)
	a.life.loop("fragment planner", func(ctx context.Context) {
		if err := a.planner.Run(ctx); err != nil && ctx.Err() == nil {
			a.log.Error("fragment planner stopped", "err", err)
		}
	})
	return nil
}

// partsOf is the archive as the puller's store.
func partsOf(ar *archive.Archive) replicate.Store {
	return replicate.StoreFunc(func(ctx context.Context, origin string, s event.Segment) (replicate.Part, error) {
		return ar.OpenPart(ctx, origin, s)
	})
}
