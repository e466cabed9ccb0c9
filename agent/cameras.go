package agent

import (
	"time"

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

// setZones records the zones the node's cameras may name.
func (a *Agent) setZones(zones []config.Zone) {
	m := make(map[string]config.Zone, len(zones))
	for _, z := range zones {
		m[z.ID] = z
	}
	a.camMu.Lock()
	a.zones = m
	a.camMu.Unlock()
}

// zoneOf names a camera's zone and its kind.
func (a *Agent) zoneOf(camera string) (zone, kind string, ok bool) {
	a.camMu.Lock()
	defer a.camMu.Unlock()
	c, ok := a.cams[camera]
	if !ok || c.Zone == "" {
		return "", "", false
	}
	return c.Zone, a.zones[c.Zone].Kind, true
}

// zoneKind gives a zone's kind (ok false: no such zone).
func (a *Agent) zoneKind(zone string) (string, bool) {
	a.camMu.Lock()
	defer a.camMu.Unlock()
	z, ok := a.zones[zone]
	return z.Kind, ok
}

// dwellLimit is how long a vehicle may stay in a zone.
func (a *Agent) dwellLimit(zone string) time.Duration {
	a.camMu.Lock()
	defer a.camMu.Unlock()
	return a.zones[zone].DwellLimit.Std()
}

// forbidden reports whether a zone is forbidden to vehicles.
func (a *Agent) forbidden(zone string) bool {
	a.camMu.Lock()
	defer a.camMu.Unlock()
	return a.zones[zone].Forbidden
}

// expectedZones are the zones vehicles must reach within a time of entry.
func (a *Agent) expectedZones() map[string]time.Duration {
	a.camMu.Lock()
	defer a.camMu.Unlock()
	out := map[string]time.Duration{}
	for id, z := range a.zones {
		if z.ReachWithin != 0 {
			out[id] = z.ReachWithin.Std()
		}
	}
	return out
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
	a.setRecordPolicies(cams)
	added, removed, changed = a.site.Apply(cams)
	if len(added)+len(removed)+len(changed) > 0 {
		a.log.Info("cameras changed", "added", added, "removed", removed, "changed", changed)
	}
	return added, removed, changed
}
