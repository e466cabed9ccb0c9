package agent

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/kuzet/kuzet/anpr"
	"github.com/kuzet/kuzet/archive"
)

// newPlateReader wires plate reading to the node: the current camera
// settings, the models, the event log, the plates directory and the
// archive that reads link to.
func (a *Agent) newPlateReader() *anpr.Consumer {
	return anpr.NewConsumer(anpr.ConsumerOptions{
		Camera: a.camera, Models: a.plateModels, Events: a.events, SnapshotDir: a.PlatesDir(),
		Locate: func(camera string, at time.Time) (string, string, time.Duration, bool) {
			rel, off, ok := a.archive.Locate(camera, at)
			return rel, archive.CGRLink(rel), off, ok
		},
		Location: a.loc, Logger: a.log, Registerer: a.reg,
	})
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
