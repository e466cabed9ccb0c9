package archive

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/kuzet/kuzet/event"
)

// Purge is the summary event of one sweep's deletions.
type Purge struct {
	Reason   string `json:"reason"` // retention | disk_floor
	Segments int    `json:"segments"`
	Bytes    int64  `json:"bytes"`
	FreeGB   string `json:"free_gb,omitempty"`
}

// Sweep deletes segments past their camera's retention (CGR-6, NVMS-6.10),
// then, while free space is under the floor, the oldest segments of any
// camera, raising an alarm when it has to.
func (a *Archive) Sweep() {
	now := a.o.Now()
	cams, err := a.index.Cameras()
	if err != nil {
		a.o.Logger.Error("list cameras for retention", "err", err)
		return
	}
	var p Purge
	p.Reason = "retention"
	for _, cam := range cams {
		expired, err := a.index.expired(cam, now.Add(-a.o.Retention(cam)))
		if err != nil {
			a.o.Logger.Error("find expired segments", "camera", cam, "err", err)
			continue
		}
		for _, s := range expired {
			if err := a.deleteSegment(s); err != nil {
				a.o.Logger.Error("delete expired segment", "path", s.Path, "err", err)
				continue
			}
			p.Segments++
			p.Bytes += s.Bytes
			a.o.Metrics.Purged.WithLabelValues("retention").Inc()
		}
	}
	if p.Segments > 0 {
		a.o.Logger.Info("retention deleted segments", "segments", p.Segments, "bytes", p.Bytes)
		a.emit(event.New(event.KindSegmentPurged, "", event.SeverityInfo, p))
	}
	a.sweepTails()
	a.enforceFloor()
}

func (a *Archive) enforceFloor() {
	if a.o.MinFreeBytes == 0 {
		return
	}
	free, err := a.o.DiskFree(a.o.Root)
	if err != nil {
		a.o.Logger.Error("read free disk space", "root", a.o.Root, "err", err)
		return
	}
	p := Purge{Reason: "disk_floor"}
	for free < a.o.MinFreeBytes {
		s, ok, err := a.index.oldest(a.inStore)
		if err != nil || !ok {
			break
		}
		if err := a.deleteSegment(s); err != nil {
			a.o.Logger.Error("delete segment for disk floor", "path", s.Path, "err", err)
			break
		}
		p.Segments++
		p.Bytes += s.Bytes
		a.o.Metrics.Purged.WithLabelValues("disk_floor").Inc()
		if free, err = a.o.DiskFree(a.o.Root); err != nil {
			break
		}
	}
	p.FreeGB = fmt.Sprintf("%.3f", float64(free)/(1<<30))
	a.mu.Lock()
	wasHit := a.floorHit
	a.floorHit = free < a.o.MinFreeBytes || p.Segments > 0
	a.mu.Unlock()
	key := event.AlarmDiskFloor + ":" + a.o.Root
	switch {
	case p.Segments > 0 || free < a.o.MinFreeBytes:
		sev := event.SeverityMedium
		msg := fmt.Sprintf("free space fell under the %.1f GB floor: deleted the %d oldest segments (%d bytes); %s GB free",
			float64(a.o.MinFreeBytes)/(1<<30), p.Segments, p.Bytes, p.FreeGB)
		if free < a.o.MinFreeBytes {
			sev = event.SeverityGrave
			msg = fmt.Sprintf("free space %s GB is under the floor and no segment is left to delete", p.FreeGB)
		}
		a.o.Logger.Warn(msg)
		a.emit(event.New(event.KindAlarmRaised, "", sev, event.Alarm{Key: key, Type: event.AlarmDiskFloor, Message: msg}))
		if p.Segments > 0 {
			a.emit(event.New(event.KindSegmentPurged, "", event.SeverityInfo, p))
		}
	case wasHit:
		a.emit(event.New(event.KindAlarmCleared, "", event.SeverityInfo, event.Alarm{
			Key: key, Type: event.AlarmDiskFloor, Message: "free space is above the floor again"}))
	}
}

// deleteSegment removes the file (from the store too, for a replica a
// shared store may hold), then its index entry, then empty directories up
// to the camera folder.
func (a *Archive) deleteSegment(s Segment) error {
	abs := a.Abs(s.Path)
	if err := os.Remove(abs); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if key, ok := StoreKey(s.Path); ok && a.o.Store != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		err := a.o.Store.Delete(ctx, key)
		cancel()
		if err != nil {
			return a.storeFailed("delete", err)
		}
	}
	if err := a.index.removeSegment(s); err != nil {
		return err
	}
	camDir := a.Abs(cameraDir(s))
	for dir := filepath.Dir(abs); strings.HasPrefix(dir, camDir+string(filepath.Separator)); dir = filepath.Dir(dir) {
		if os.Remove(dir) != nil { // not empty
			break
		}
	}
	return nil
}

// inStore reports whether s is a replica kept in the shared store, which
// frees nothing on the local disk when deleted.
func (a *Archive) inStore(s Segment) bool {
	if _, ok := StoreKey(s.Path); !ok || a.o.Store == nil {
		return false
	}
	_, err := os.Lstat(a.Abs(s.Path))
	return errors.Is(err, fs.ErrNotExist)
}

// cameraDir is the folder of a segment's camera, which retention keeps:
// Camera1, or .replicas/ORIGIN/Camera1 for a replica.
func cameraDir(s Segment) string {
	if rest, ok := strings.CutPrefix(s.Path, ReplicaDir+"/"); ok {
		if origin, rest, ok := strings.Cut(rest, "/"); ok {
			if cam, _, ok := strings.Cut(rest, "/"); ok {
				return ReplicaDir + "/" + origin + "/" + cam
			}
		}
		return ReplicaDir
	}
	return s.Camera
}

// Disk is the archive file system's free and total bytes, and the floor
// below which the oldest recordings are deleted.
func (a *Archive) Disk() (free, total, floor uint64, err error) {
	free, err = a.o.DiskFree(a.o.Root)
	if err != nil {
		return 0, 0, a.o.MinFreeBytes, err
	}
	var st unix.Statfs_t
	if unix.Statfs(a.o.Root, &st) == nil {
		total = st.Blocks * uint64(st.Bsize)
	}
	return free, total, a.o.MinFreeBytes, nil
}

// DiskFree is the space an unprivileged writer may still use on the file
// system holding root.
func DiskFree(root string) (uint64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(root, &st); err != nil {
		return 0, fmt.Errorf("statfs %s: %w", root, err)
	}
	return st.Bavail * uint64(st.Bsize), nil
}
