package agent

import "github.com/kuzet/kuzet/federation"

// openChild opens the child role when federation.upstream is set: the
// link to the parent tier, on the replicas of the cached catalogue slice
// when there is one, which serves the parent files, snapshots, the index
// and live relays, and applies the slices it sends down.
func (a *Agent) openChild() error {
	f := a.cfg.Federation
	if a.ident == nil || len(f.Upstream) == 0 {
		return nil
	}
	a.fedCli = federation.NewClient(federation.ClientOptions{
		Upstream: f.Upstream, Identity: a.ident, Log: a.events, Logger: a.log.With("component", "federation"),
		Metrics: a.fedMetrics, Version: a.version,
		Heartbeat: f.Heartbeat.Std(), MaxClockSkew: f.MaxClockSkew.Std(), IdleTimeout: 3 * f.Heartbeat.Std(),
		Files: a.serveFile, Snapshots: a.serveSnapshot, Index: a.listIndex, Live: a.openLive, OnConfig: a.onSlice,
		Act: a.applyAct, Control: a.applyControl, Open: a.openFile, Status: a.statusOf,
	})
	if a.cached != nil {
		a.fedCli.SetUpstream(a.cached.Upstream)
	}
	a.life.loop("parent link", a.fedCli.Run)
	return nil
}
