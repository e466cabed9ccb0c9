package archive

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"sync"
	"time"
)

// syncer groups fsyncs: writers mark files dirty after each fragment and
// one goroutine syncs every dirty file once per interval, so a hundred
// cameras cost a hundred fsyncs per second, not one per packet.
type syncer struct {
	m      *Metrics
	logger *slog.Logger

	mu    sync.Mutex
	dirty map[*segFile]struct{}
}

// segFile is a segment file shared between its writer and the syncer.
type segFile struct {
	mu     sync.Mutex
	f      *os.File
	closed bool
}

func newSyncer(m *Metrics, logger *slog.Logger) *syncer {
	return &syncer{m: m, logger: logger, dirty: map[*segFile]struct{}{}}
}

func (s *syncer) markDirty(f *segFile) {
	s.mu.Lock()
	s.dirty[f] = struct{}{}
	s.mu.Unlock()
}

func (s *syncer) forget(f *segFile) {
	s.mu.Lock()
	delete(s.dirty, f)
	s.mu.Unlock()
}

func (s *syncer) run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			s.syncAll()
			return
		case <-t.C:
			s.syncAll()
		}
	}
}

func (s *syncer) syncAll() {
	s.mu.Lock()
	files := make([]*segFile, 0, len(s.dirty))
	for f := range s.dirty {
		files = append(files, f)
	}
	clear(s.dirty)
	s.mu.Unlock()
	if len(files) == 0 {
		return
	}
	start := time.Now()
	for _, f := range files {
		if err := f.sync(); err != nil {
			s.logger.Error("fsync segment", "file", f.f.Name(), "err", err)
		}
	}
	s.m.FsyncSeconds.Observe(time.Since(start).Seconds())
}

func (f *segFile) sync() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil
	}
	if err := f.f.Sync(); err != nil && !errors.Is(err, os.ErrClosed) {
		return err
	}
	return nil
}

// close syncs and closes; afterwards the syncer ignores the file.
func (f *segFile) close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil
	}
	f.closed = true
	err := f.f.Sync()
	if cerr := f.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// syncDir makes a directory entry (a new file or subdirectory) durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
