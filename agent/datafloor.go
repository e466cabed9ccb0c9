package agent

import (
	"context"
	"fmt"
	"time"

	"golang.org/x/sys/unix"

	"github.com/kuzet/kuzet/event"
)

// dataFloorEvery is how often the data directory's free space is read
// (a variable for tests).
var dataFloorEvery = time.Minute

// watchDataDisk raises disk_floor for the data directory (the event log,
// the indexes, plate photos) when it lies on another file system than the
// archive and its free space falls under archive.min_free_gb; the
// archive's own floor covers a shared one by deleting video. Nothing is
// deleted here: what lives there is bounded by retention, and the alarm
// asks for room before writes fail.
func (a *Agent) watchDataDisk(ctx context.Context, diskFree func(string) (uint64, error)) {
	dir, floor := a.cfg.Node.DataDir, uint64(a.cfg.Archive.MinFreeGB*(1<<30))
	if floor == 0 || sameFilesystem(dir, a.cfg.Archive.Root) {
		return
	}
	key := event.AlarmDiskFloor + ":" + dir
	raised := a.alarms != nil && a.alarms.Active(a.cfg.Node.ID, key)
	t := time.NewTicker(dataFloorEvery)
	defer t.Stop()
	for {
		free, err := diskFree(dir)
		switch {
		case err != nil:
			a.log.Error("read free space of the data directory", "dir", dir, "err", err)
		case free < floor && !raised:
			msg := fmt.Sprintf("free space %.3f GB on the data directory %s is under the %.1f GB floor: the event log, indexes and plate photos live here",
				float64(free)/(1<<30), dir, float64(floor)/(1<<30))
			a.log.Warn(msg)
			_, err = a.events.Append(event.New(event.KindAlarmRaised, "", event.SeverityGrave,
				event.Alarm{Key: key, Type: event.AlarmDiskFloor, Message: msg}))
			raised = err == nil
		case free >= floor && raised:
			_, err = a.events.Append(event.New(event.KindAlarmCleared, "", event.SeverityInfo,
				event.Alarm{Key: key, Type: event.AlarmDiskFloor, Message: "free space on the data directory is above the floor again"}))
			raised = err != nil
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// sameFilesystem reports whether two directories are on one device (an
// unreadable one counts as shared: nothing is watched twice).
func sameFilesystem(a, b string) bool {
	var sa, sb unix.Stat_t
	if unix.Stat(a, &sa) != nil || unix.Stat(b, &sb) != nil {
		return true
	}
	return sa.Dev == sb.Dev
}
