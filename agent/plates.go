package agent

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/kuzet/kuzet/anpr"
	"github.com/kuzet/kuzet/archive"
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
	c := anpr.NewConsumer(anpr.ConsumerOptions{
		Camera: a.camera, Models: a.plateModels, Events: a.events, SnapshotDir: a.PlatesDir(),
		Locate: func(camera string, at time.Time) (string, string, time.Duration, bool) {
			rel, off, ok := a.archive.Locate(camera, at)
			return rel, archive.CGRLink(rel), off, ok
		},
		Location: a.loc, Logger: a.log, Registerer: a.reg, Journal: a.camReads,
	})
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
