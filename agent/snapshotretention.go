package agent

import (
	"context"
	"time"

	"github.com/kuzet/kuzet/plates"
)

// snapshotSweep is how often plate photos past their retention are removed.
const snapshotSweep = time.Hour

// pruneSnapshots removes, at start and then hourly, the days of plate
// photos and tamper alarms' frames (the same layout) past their camera's
// video retention (retention_days, else
// archive.retention_days; copies of a node below's keep the default),
// so that DATA_DIR/plates levels off as the archive does.
func (a *Agent) pruneSnapshots(ctx context.Context) {
	t := time.NewTicker(snapshotSweep)
	defer t.Stop()
	def := time.Duration(a.cfg.Archive.RetentionDays) * 24 * time.Hour
	keep := func(origin, camera string) time.Duration {
		if c, ok := a.camera(camera); ok && origin == "" {
			return a.cfg.RetentionFor(c)
		}
		return def
	}
	for {
		for _, d := range []struct{ what, dir string }{{"plate photos", a.PlatesDir()}, {"tamper frames", a.tamperSnapshotDir()}} {
			if days, freed := plates.PruneSnapshots(d.dir, a.loc, time.Now(), keep); days > 0 {
				a.log.Info(d.what+" past their retention removed", "days", days, "bytes", freed)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
