package agent

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/kuzet/kuzet/plates"
)

// readPhoto is the route of plate read id's overview photo, for an alarm
// the read raised; "" when this node holds the read and it has no photo
// (a camera's own read sent without a picture), so that the alarm shows
// none rather than one that never loads. A read not held here yet keeps
// the route: the photo is pulled from below when asked for.
func (a *Agent) readPhoto(id string) string {
	origin, seq, _ := strings.Cut(id, "/")
	route := fmt.Sprintf("/api/v1/plates/%s/%s/overview.jpg", origin, seq)
	if a.plates == nil {
		return route
	}
	entry, ok, err := a.plates.Lookup(id)
	if err != nil || !ok {
		return route
	}
	evs, err := a.events.Get(entry.Pos)
	if err != nil || len(evs) == 0 {
		return route
	}
	var pr plates.PlateRead
	if json.Unmarshal(evs[0].Payload, &pr) == nil && pr.Overview == "" {
		return ""
	}
	return route
}
