package agent

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"time"

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
// origin (and kept).
func (a *Agent) Snapshot(ctx context.Context, origin, rel string) (string, error) {
	p, err := a.snapshotFile(origin, rel)
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(p); err == nil || origin == a.cfg.Node.ID || a.fedSrv == nil {
		return p, err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".snapshot-*")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	if err := a.fedSrv.FetchSnapshot(ctx, origin, rel, tmp); err != nil {
		_ = tmp.Close()
		a.failed.add(origin, "snapshot", err)
		return "", err
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	return p, os.Rename(tmp.Name(), p)
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
