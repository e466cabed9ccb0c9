// Package archive owns the recorded video: the fragmented-MP4 segment
// writer, the path layout (CGR-4.2c), the bbolt index of segments and gaps,
// retention and the free-disk floor, crash repair (NVMS-6.9, NVMS-5.3),
// and the replicas of other nodes' segments it is handed. A segment is
// described in event's vocabulary (event.Segment); archive must not
// import replicate or federation.
package archive

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"github.com/kuzet/kuzet/archive/objstore"
	"github.com/kuzet/kuzet/event"
)

// Options configure an Archive.
type Options struct {
	Root          string
	IndexPath     string
	Segment       time.Duration // wall-clock cut period (CGR-4.2a)
	PartDuration  time.Duration // fragment length, written and fsynced as a unit
	MaxFileBytes  int64         // cut early at a keyframe before exceeding it (CGR-4.2b)
	MaxWidth      int           // larger streams are recorded but raise an alarm (CGR-4.2b)
	MaxHeight     int
	Location      *time.Location
	Events        event.Emitter
	Logger        *slog.Logger
	Metrics       *Metrics
	Now           func() time.Time
	SyncInterval  time.Duration // grouped fsync period
	GapTolerance  time.Duration // shorter holes between segments are not gaps
	Retention     func(camera string) time.Duration
	MinFreeBytes  uint64
	DiskFree      func(root string) (uint64, error)
	SweepInterval time.Duration
	// Group owns the archive's files and directories (archive.group, e.g.
	// "kuzet"), so that its members may read recordings; empty: the
	// process's group. Files are FileMode, directories DirMode.
	Group string
	// WriteFault, if set, is asked before the archive creates or writes a
	// segment file or directory, or repairs one; an error it returns is
	// that operation's error (tests: a full or read-only disk).
	WriteFault func(op, path string) error
	// Store, if set, keeps the replicas of other nodes' segments (a parent
	// tier's archive shared by its replicas): the object of
	// ".replicas/<origin>/<rel>" is "<origin>/<rel>" (StoreKey). Replicas
	// already on the local disk are still read from there.
	Store objstore.Store
	// StoreSync is how often the journal of a shared Store is read for the
	// replicas that the tier's other replicas pulled (default 15 s).
	StoreSync time.Duration
	// StoreTimeout bounds each request to Store (a Stat, one block read);
	// default 30s.
	StoreTimeout time.Duration
}

func (o *Options) defaults() {
	if o.Segment == 0 {
		o.Segment = 5 * time.Minute
	}
	if o.PartDuration == 0 {
		o.PartDuration = time.Second
	}
	if o.MaxFileBytes == 0 {
		o.MaxFileBytes = 50 << 20
	}
	if o.Location == nil {
		o.Location = time.Local
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics(nil)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.SyncInterval == 0 {
		o.SyncInterval = time.Second
	}
	if o.GapTolerance == 0 {
		// segments of one session are contiguous by construction, so any
		// hole before a new session is lost video; only clock jitter is forgiven
		o.GapTolerance = 100 * time.Millisecond
	}
	if o.Retention == nil {
		o.Retention = func(string) time.Duration { return 60 * 24 * time.Hour }
	}
	if o.DiskFree == nil {
		o.DiskFree = DiskFree
	}
	if o.SweepInterval == 0 {
		o.SweepInterval = time.Minute
	}
	if o.StoreSync == 0 {
		o.StoreSync = 15 * time.Second
	}
	if o.IndexPath == "" {
		o.IndexPath = filepath.Join(o.Root, "index.db")
	}
}

// Archive is one node's file archive.
type Archive struct {
	o      Options
	index  *Index
	syncer *syncer

	importMu sync.Mutex // ImportReplica: checks, move and index together

	syncMu sync.Mutex // SyncStore: one at a time
	sync   storeSync

	gid int // archive.group; -1: the process's

	mu         sync.Mutex
	floorHit   bool   // a disk-floor alarm is raised and not yet cleared
	storeDown  bool   // an object_store alarm is raised and not yet cleared
	storeErr   string // the store's last failure
	storeErrAt time.Time
	current    map[string]openSegment // camera -> file being written
	// deferred: files left open on a read-only file system, repaired once
	// a segment can be written again
	deferred map[string]openSegment
	tails    map[string]tail // "origin/Camera" -> descendant's open file fetched so far
}

// Open opens the archive, repairs files left open by a crash and moves
// replicas of the first layout into ReplicaDir, before anything new is
// written.
func Open(o Options) (*Archive, error) {
	o.defaults()
	if o.Root == "" {
		return nil, fmt.Errorf("archive root not set")
	}
	gid, err := lookupGroup(o.Group)
	if err != nil {
		return nil, err
	}
	a := &Archive{o: o, gid: gid, syncer: newSyncer(o.Metrics, o.Logger), current: map[string]openSegment{},
		deferred: map[string]openSegment{}, tails: map[string]tail{}, sync: storeSync{seen: map[string]bool{}}}
	if err := a.prepareRoot(); err != nil {
		return nil, err
	}
	if err := a.dropAllTails(); err != nil {
		return nil, err
	}
	idx, err := OpenIndex(o.IndexPath)
	if err != nil {
		return nil, err
	}
	a.index = idx
	if err := a.repairOpen(); err != nil {
		_ = idx.Close()
		return nil, err
	}
	if err := a.migrateReplicas(); err != nil {
		_ = idx.Close()
		return nil, fmt.Errorf("move replicas to %s: %w", filepath.Join(o.Root, ReplicaDir), err)
	}
	return a, nil
}

// Run performs grouped fsyncs and periodic retention sweeps until ctx ends.
func (a *Archive) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		a.syncer.run(ctx, a.o.SyncInterval)
	}()
	if a.o.Store != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a.runStoreSync(ctx)
		}()
	}
	t := time.NewTicker(a.o.SweepInterval)
	defer t.Stop()
	a.Sweep()
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			return
		case <-t.C:
			a.Sweep()
		}
	}
}

// Close closes the index. Recorders must be closed first.
func (a *Archive) Close() error { return a.index.Close() }

// Index gives read access to the catalogue.
func (a *Archive) Index() *Index { return a.index }

// Store is the tier's shared store (nil: none).
func (a *Archive) Store() objstore.Store { return a.o.Store }

// Root is the archive's directory.
func (a *Archive) Root() string { return a.o.Root }

// Abs turns an index path into a file-system path.
func (a *Archive) Abs(rel string) string { return filepath.Join(a.o.Root, filepath.FromSlash(rel)) }

func (a *Archive) emit(e event.Event) {
	if a.o.Events == nil {
		return
	}
	if _, err := a.o.Events.Append(e); err != nil {
		a.o.Logger.Error("store event", "kind", e.Kind, "camera", e.Camera, "err", err)
	}
}

// recordGap adds a gap between the camera's last segment and start.
func (a *Archive) recordGap(camera string, start time.Time, reason string) {
	last, ok, err := a.index.LastSegment(camera)
	if err != nil {
		a.o.Logger.Error("read last segment", "camera", camera, "err", err)
		return
	}
	if !ok || start.Sub(last.End) <= a.o.GapTolerance {
		return
	}
	g := Gap{Camera: camera, Start: last.End, End: start, Reason: reason}
	if err := a.index.AddGap(g); err != nil {
		a.o.Logger.Error("record gap", "camera", camera, "err", err)
		return
	}
	a.o.Metrics.Gaps.WithLabelValues(camera).Inc()
	a.emit(event.New(event.KindGap, camera, event.SeverityInfo, g))
}
