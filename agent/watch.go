package agent

import (
	"context"
	"fmt"
	"time"

	"github.com/kuzet/kuzet/alarm"
	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/plates"
)

// raiseWatchHits raises a watchlist_hit alarm for every read the plate
// index matched against this node's watch-list (plates/watch.go), then
// drops the hit. A crash between the two raises it again under the same
// key, which the alarm table counts on the open alarm.
func (a *Agent) raiseWatchHits(ctx context.Context) {
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if a.alarms == nil {
			return
		}
		hits, keys, err := a.plates.PendingHits(100)
		if err != nil {
			a.log.Error("read watch-list hits", "err", err)
			continue
		}
		for i, h := range hits {
			if _, _, err := a.alarms.Raise(a.watchCondition(h)); err != nil {
				a.log.Error("raise a watch-list hit", "read", h.Read, "err", err)
				break // tried again on the next tick
			}
			if err := a.plates.HitRaised(keys[i]); err != nil {
				a.log.Error("drop a raised watch-list hit", "read", h.Read, "err", err)
			}
		}
	}
}

// watchCondition is the alarm of one hit: on the camera as this node
// names it, with the read's overview photo, where it has one, as its
// snapshot.
func (a *Agent) watchCondition(h plates.WatchHit) alarm.Condition {
	camera := h.Camera
	if h.Origin != a.cfg.Node.ID && camera != "" {
		camera = event.ReplicaCamera(h.Origin, h.Camera)
	}
	how := map[string]string{"exact": "", "prefix": " (prefix " + h.Entry.Plate + ")", "fuzzy": " (within one character of " + h.Entry.Plate + ")"}[h.Entry.Match]
	return alarm.Condition{
		Key:      fmt.Sprintf("%s:%s:%s", plates.AlarmWatchHit, h.Entry.ID, h.Read),
		Type:     plates.AlarmWatchHit,
		Camera:   camera,
		Severity: h.Entry.Severity,
		Message:  fmt.Sprintf("watch-list plate %s%s read at %s: %s", h.Plate, how, camera, h.Entry.Reason),
		Snapshot: a.readPhoto(h.Read),
	}
}
