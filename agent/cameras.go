package agent

import (
	"github.com/kuzet/kuzet/config"
)

// setCameras records the current camera settings.
func (a *Agent) setCameras(cams []config.Camera) {
	m := make(map[string]config.Camera, len(cams))
	for _, c := range cams {
		m[c.ID] = c
	}
	a.camMu.Lock()
	a.cams = m
	a.camMu.Unlock()
}

// camera returns one camera's current settings.
func (a *Agent) camera(id string) (config.Camera, bool) {
	a.camMu.Lock()
	defer a.camMu.Unlock()
	c, ok := a.cams[id]
	return c, ok
}

// ApplyCameras changes the node's cameras while it runs: new ones start
// recording, removed ones stop, changed ones restart with their new
// settings. The list must already be validated.
func (a *Agent) ApplyCameras(cams []config.Camera) (added, removed, changed []string) {
	a.setCameras(cams)
	added, removed, changed = a.site.Apply(cams)
	if len(added)+len(removed)+len(changed) > 0 {
		a.log.Info("cameras changed", "added", added, "removed", removed, "changed", changed)
	}
	return added, removed, changed
}
