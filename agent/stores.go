package agent

import (
	"context"
	"path/filepath"
	"strings"
	"time"

	"github.com/kuzet/kuzet/archive"
	"github.com/kuzet/kuzet/config"
	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/internal/boltfile"
)

// openStores opens what every role writes to: the event log, then the
// archive (repaired after a crash). The archive's own loop (retention,
// the disk floor) runs from Run until every other role has stopped, so a
// segment a parent is still importing is never cut short.
func (a *Agent) openStores(o Options) error {
	cfg := a.cfg
	for _, f := range []string{"events.db", "archive.db", "plates.db", "visits.db", "alarms.db"} {
		a.compactFile(filepath.Join(cfg.Node.DataDir, f))
	}
	var err error
	a.events, err = event.OpenLog(filepath.Join(cfg.Node.DataDir, "events.db"), cfg.Node.ID, a.log.With("component", "events"))
	if err != nil {
		return err
	}
	a.life.onClose("event log", a.events.Close)
	a.setCameras(cfg.Cameras)
	defaultRetention := time.Duration(cfg.Archive.RetentionDays) * 24 * time.Hour
	a.archive, err = archive.Open(archive.Options{
		Root:         cfg.Archive.Root,
		IndexPath:    filepath.Join(cfg.Node.DataDir, "archive.db"),
		Segment:      cfg.Archive.Segment.Std(),
		MaxFileBytes: int64(cfg.Archive.MaxFileMB) << 20,
		MaxWidth:     cfg.Archive.MaxResolution.Width,
		MaxHeight:    cfg.Archive.MaxResolution.Height,
		Location:     a.loc,
		Events:       a.events,
		Logger:       a.log.With("component", "archive"),
		Metrics:      archive.NewMetrics(a.reg),
		Now:          o.Now,
		MinFreeBytes: uint64(cfg.Archive.MinFreeGB * (1 << 30)),
		DiskFree:     o.DiskFree,
		Group:        cfg.Archive.Group,
		WriteFault:   o.ArchiveFault,
		Retention: func(cam string) time.Duration {
			// a recorded sub-stream is kept as long as its camera
			if c, ok := a.camera(strings.TrimSuffix(cam, config.SubStreamSuffix)); ok {
				return cfg.RetentionFor(c)
			}
			return defaultRetention
		},
	})
	if err != nil {
		return err
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	a.life.detached("archive", func() {
		defer close(done)
		a.archive.Run(ctx)
	})
	a.life.onClose("archive", func() error {
		stop()
		if a.life.ran() {
			<-done
		}
		return a.archive.Close()
	})
	return nil
}

// compactFile gives back the space retention freed in a store's file
// before it is opened (boltfile.CompactIfSparse). A failure leaves the
// file as it was and is only logged: the store works the same, larger.
func (a *Agent) compactFile(path string) {
	t := time.Now()
	c, ok, err := boltfile.CompactIfSparse(path, boltfile.MinSize)
	switch {
	case err != nil:
		a.log.Warn("store file not compacted", "file", path, "err", err)
	case ok:
		a.log.Info("store file compacted", "file", path, "bytes_before", c.Before, "bytes_after", c.After, "took", time.Since(t).Round(time.Millisecond))
	}
}
