package agent

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/kuzet/kuzet/archive"
	"github.com/kuzet/kuzet/archive/objstore"
	"github.com/kuzet/kuzet/config"
	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/internal/boltfile"
	"github.com/kuzet/kuzet/internal/httpjson"
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
	store, err := a.openArchiveStore()
	if err != nil {
		return err
	}
	if o.ArchiveStore != nil {
		store = o.ArchiveStore
	}
	a.archive, err = archive.Open(archive.Options{
		Store:        store,
		StoreSync:    cfg.Archive.Store.Sync.Std(),
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

// openArchiveStore opens the object storage a parent tier keeps its
// replicas in (nil: the archive disk). A store that does not answer now is
// no reason not to start: the archive raises its alarm at the first
// failure, and the children keep what was not pulled.
func (a *Agent) openArchiveStore() (objstore.Store, error) {
	s, err := OpenArchiveStore(a.cfg.Archive.Store)
	if s != nil && err != nil {
		a.log.Error("the archive store does not answer; replicas wait at the children", "err", err)
		err = nil
	}
	return s, err
}

// OpenArchiveStore opens archive.store (nil, nil: none is configured).
// With a store and an error, the store did not answer the first check.
func OpenArchiveStore(sc config.Store) (objstore.Store, error) {
	if !sc.S3() {
		return nil, nil
	}
	secret, err := sc.Secret()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := objstore.NewS3(ctx, objstore.S3Options{Endpoint: sc.Endpoint, Bucket: sc.Bucket, Prefix: sc.Prefix,
		AccessKey: sc.AccessKey, SecretKey: secret, Region: sc.Region, TLS: sc.TLS, CA: sc.CA,
		PartSize: int64(sc.PartMB) << 20})
	if s == nil {
		return nil, err
	}
	return s, err
}

// archiveStore is GET /api/v1/archive/store: how the tier's shared store
// fares as this replica sees it (404: the archive keeps no store).
func (a *Agent) archiveStore(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	st, ok := a.archive.StoreStatus(ctx)
	if !ok {
		httpjson.Error(w, http.StatusNotFound, "this node keeps its replicas on its archive disk (archive.store is not set)")
		return
	}
	httpjson.Write(w, http.StatusOK, st)
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
