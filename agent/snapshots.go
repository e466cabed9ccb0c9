package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kuzet/kuzet/archive/objstore"
	"github.com/kuzet/kuzet/federation"
	"github.com/kuzet/kuzet/plates"
)

// tamperPrefix marks, on the wire and in Snapshot, a tamper alarm's
// frame (under DATA_DIR/tamper/snapshots) rather than a plate snapshot;
// no camera ID starts with a dot, so it names no plate snapshot.
const tamperPrefix = ".tamper/"

// snapshotFile is where origin's snapshot rel is or would be kept here.
func (a *Agent) snapshotFile(origin, rel string) (string, error) {
	if t, ok := strings.CutPrefix(rel, tamperPrefix); ok {
		return plates.SnapshotFile(a.tamperSnapshotDir(), a.cfg.Node.ID, origin, t)
	}
	return plates.SnapshotFile(a.PlatesDir(), a.cfg.Node.ID, origin, rel)
}

// tamperSnapshotDir holds the frames that raised tamper alarms.
func (a *Agent) tamperSnapshotDir() string {
	return filepath.Join(a.cfg.Node.DataDir, "tamper", "snapshots")
}

// Snapshot returns a plate snapshot's file: this node's own, a copy kept
// from an earlier request, or one pulled now from the child leading to its
// origin (and kept). The pull goes on, and is kept, when ctx ends first.
func (a *Agent) Snapshot(ctx context.Context, origin, rel string) (string, error) {
	p, err := a.snapshotFile(origin, rel)
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(p); err == nil || origin == a.cfg.Node.ID || a.fedSrv == nil {
		return p, err
	}
	err = a.snapPulls.do(ctx, a.runCtx, p, func(ctx context.Context) error { return a.pullSnapshot(ctx, origin, rel, p) })
	if err != nil {
		return "", err
	}
	return p, nil
}

// pullSnapshot keeps origin's snapshot rel at p: from the tier's store
// where a replica left it, else from the child leading to origin.
func (a *Agent) pullSnapshot(ctx context.Context, origin, rel, p string) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".snapshot-*")
	if err != nil {
		return err
	}
	defer func() { _ = tmp.Close(); _ = os.Remove(tmp.Name()) }() // closed already unless it failed
	// a replica of the tier that fetched it before left it in the store
	store, key := a.archive.Store(), snapshotKey(origin, rel)
	if store != nil && copyObject(ctx, store, key, tmp) == nil {
		if err := tmp.Close(); err != nil {
			return err
		}
		return os.Rename(tmp.Name(), p)
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return err
	}
	if err := tmp.Truncate(0); err != nil {
		return err
	}
	if err := a.fedSrv.FetchSnapshot(ctx, origin, rel, tmp); err != nil {
		a.failed.add(origin, "snapshot", err)
		return err
	}
	if store != nil {
		if err := putFile(ctx, store, key, tmp); err != nil {
			a.log.Warn("keep a snapshot in the archive store", "key", key, "err", err)
		}
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), p)
}

// snapshotKey is where a tier keeps origin's snapshot rel in its store,
// for every replica: beside the journal, where no origin's key can reach.
func snapshotKey(origin, rel string) string { return ".tier/snapshots/" + origin + "/" + rel }

// copyObject copies key into f.
func copyObject(ctx context.Context, store objstore.Store, key string, f *os.File) error {
	r, err := store.Open(ctx, key, 0, -1)
	if err != nil {
		return err
	}
	defer r.Close()
	_, err = io.Copy(f, r)
	return err
}

// putFile stores f (read from its start) under key.
func putFile(ctx context.Context, store objstore.Store, key string, f *os.File) error {
	st, err := f.Stat()
	if err != nil {
		return err
	}
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(f, 0, st.Size())); err != nil {
		return err
	}
	return store.Put(ctx, key, io.NewSectionReader(f, 0, st.Size()), st.Size(), hex.EncodeToString(h.Sum(nil)))
}

// serveSnapshot answers the parent's request for a snapshot.
func (a *Agent) serveSnapshot(origin, rel string) (federation.ServedFile, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Second)
	defer cancel()
	p, err := a.Snapshot(ctx, origin, rel)
	if err != nil {
		return nil, err
	}
	return federation.OpenLocal(p)
}
