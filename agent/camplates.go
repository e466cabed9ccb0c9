package agent

import (
	"context"

	"github.com/kuzet/kuzet/plates"
	"github.com/kuzet/kuzet/plates/camevents"
)

// plateGates are the cameras that take plate events, as configured now.
func (a *Agent) plateGates() map[string]camevents.Gate {
	a.camMu.Lock()
	defer a.camMu.Unlock()
	gates := map[string]camevents.Gate{}
	for id, c := range a.cams {
		if in := c.ANPR.Ingest; in != nil {
			g, err := camevents.NewHashedGate(id, c.URL, in.TokenHash(), in.From)
			if err != nil {
				a.log.Error("camera plate events refused", "camera", id, "err", err) // validated on load
				continue
			}
			gates[id] = g
		}
	}
	return gates
}

// cameraPlates takes one plate event of a camera's own ANPR (the HTTP
// API's CameraPlates).
func (a *Agent) cameraPlates(ctx context.Context, ev plates.CameraPlateEvent) (plates.CameraPlateAnswer, error) {
	return a.anpr.Ingest(ctx, a.plateGates(), ev)
}
