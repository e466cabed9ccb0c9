package agent

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/kuzet/kuzet/anpr"
	"github.com/kuzet/kuzet/archive"
	"github.com/kuzet/kuzet/plateapi"
	"github.com/kuzet/kuzet/plates"
)

// newPlateReader wires plate reading to the node: the current camera
// settings, the models, the event log, the plates directory, the archive
// that reads link to and the journal of cameras' reads (DATA_DIR/
// camera-reads.db), whose reads left by a kill it stores as passes now.
func (a *Agent) newPlateReader() (*anpr.Consumer, error) {
	var err error
	a.camReads, err = anpr.OpenJournal(filepath.Join(a.cfg.Node.DataDir, "camera-reads.db"))
	if err != nil {
		return nil, err
	}
	// closed after the plate reading drained and the HTTP handlers
	// returned: no read is taken or released any more
	a.life.onClose("camera-read journal", a.camReads.Close)
	c := anpr.NewConsumer(anpr.ConsumerOptions{
		Camera: a.camera, Models: a.plateModels, Events: a.events, SnapshotDir: a.PlatesDir(),
		Locate: func(camera string, at time.Time) (string, string, time.Duration, bool) {
			rel, off, ok := a.archive.Locate(camera, at)
			return rel, archive.CGRLink(rel), off, ok
		},
		Location: a.loc, Logger: a.log, Registerer: a.reg, Journal: a.camReads,
	})
	a.anpr = c
	// emits the passes still open, into the event log that closes later
	a.life.onClose("plate reading", func() error { c.Close(); return nil })
	if err := c.Replay(); err != nil {
		// the reads stay journaled for the next start
		a.log.Error("replay journaled camera reads", "err", err)
	}
	return c, nil
}

// plateModels loads the recognition runtime and models once.
func (a *Agent) plateModels() (*anpr.Models, error) {
	a.camMu.Lock()
	defer a.camMu.Unlock()
	if a.models == nil && a.modelsErr == nil {
		a.models, a.modelsErr = anpr.LoadModels(a.cfg.ANPR.Models)
		if a.modelsErr != nil {
			a.modelsErr = fmt.Errorf("anpr.models: %w", a.modelsErr)
		}
	}
	return a.models, a.modelsErr
}

// PlatesDir holds plate snapshots.
func (a *Agent) PlatesDir() string { return filepath.Join(a.cfg.Node.DataDir, "plates") }

// openPlates opens the plate index every node keeps (its own reads and
// its subtree's) and adds its loops: following the log into the index,
// pairing reads into passages, and the push to the external plate API.
func (a *Agent) openPlates() error {
	var err error
	a.plates, err = plates.OpenWith(filepath.Join(a.cfg.Node.DataDir, "plates.db"), plates.Options{ReviewBelow: a.cfg.ANPR.ReviewThreshold()})
	if err != nil {
		return err
	}
	a.life.onClose("plate index", a.plates.Close)
	// reads already in the log when the watch-list first starts are history
	if err := a.plates.SetOwner(a.cfg.Node.ID, a.events.Last()); err != nil {
		return err
	}
	a.life.loop("plate index", func(ctx context.Context) {
		a.plates.Follow(ctx, a.events, plates.KindPlateRead, a.log.With("component", "plates"))
	})
	a.life.loop("passages", a.runPassages)
	a.life.loop("watch-list alarms", a.raiseWatchHits)
	a.life.loop("plate photo retention", a.pruneSnapshots)
	if p := a.cfg.PlateAPI; p.URL != "" {
		a.life.loop("plate API", func(ctx context.Context) {
			plateapi.Run(ctx, plateapi.Options{
				URL: p.URL, AuthHeader: p.AuthHeader, Timeout: p.Timeout.Std(),
				Log: a.events, PlatesDir: a.PlatesDir(), Kind: plates.KindPlateRead, Logger: a.log.With("component", "plate-api"),
			})
		})
	}
	return nil
}
