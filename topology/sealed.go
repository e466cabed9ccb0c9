package topology

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc64"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/hashicorp/raft"
)

// The replica's files hold camera passwords: the commands in the Raft log
// and the catalogue in its snapshots. They are sealed with the node key
// as they are stored and opened as Raft reads them back, below Raft: the
// leader reads entries and snapshots in clear and sends them over the
// replicas' mutual TLS, and each follower seals what it stores with its
// own key.

const snapshotPurpose = "catalogue snapshot"

func logPurpose(index uint64) string { return "catalogue log entry " + strconv.FormatUint(index, 10) }

// sealedLogs seals the data of command entries (the only ones that hold
// records) on their way into the log store, bound to their index.
type sealedLogs struct {
	raft.LogStore
	key *SecretKey
}

func (s *sealedLogs) GetLog(index uint64, l *raft.Log) error {
	if err := s.LogStore.GetLog(index, l); err != nil {
		return err
	}
	if IsSealed(l.Data) {
		plain, err := s.key.Open(l.Data, logPurpose(l.Index))
		if err != nil {
			return fmt.Errorf("catalogue log entry %d: %w", index, err)
		}
		l.Data = plain
	}
	return nil
}

func (s *sealedLogs) StoreLog(l *raft.Log) error { return s.StoreLogs([]*raft.Log{l}) }

func (s *sealedLogs) StoreLogs(logs []*raft.Log) error {
	out := make([]*raft.Log, len(logs))
	for i, l := range logs {
		out[i] = l
		if l.Type == raft.LogCommand && len(l.Data) > 0 {
			c := *l // Raft keeps l (its cache, its inflight list): never change it
			c.Data = s.key.Seal(l.Data, logPurpose(l.Index))
			out[i] = &c
		}
	}
	return s.LogStore.StoreLogs(out)
}

// sealLog seals the command entries an older version stored in clear.
// The log store rewrites them in place; the pages that held them are
// reused as the log grows (bbolt does not zero them).
func sealLog(store raft.LogStore, key *SecretKey) (int, error) {
	first, err := store.FirstIndex()
	if err != nil {
		return 0, err
	}
	last, err := store.LastIndex()
	if err != nil || first == 0 {
		return 0, err
	}
	sealed := 0
	var batch []*raft.Log
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := store.StoreLogs(batch)
		sealed += len(batch)
		batch = batch[:0]
		return err
	}
	for i := first; i <= last; i++ {
		l := new(raft.Log)
		if err := store.GetLog(i, l); err != nil {
			if errors.Is(err, raft.ErrLogNotFound) {
				continue
			}
			return sealed, fmt.Errorf("read catalogue log entry %d: %w", i, err)
		}
		if l.Type != raft.LogCommand || len(l.Data) == 0 || IsSealed(l.Data) {
			continue
		}
		l.Data = key.Seal(l.Data, logPurpose(l.Index))
		if batch = append(batch, l); len(batch) == 256 {
			if err := flush(); err != nil {
				return sealed, err
			}
		}
	}
	return sealed, flush()
}

// sealedSnapshots seals snapshots as they are written (the catalogue is a
// few megabytes: the sink collects it and seals it whole on Close) and
// opens them as they are read, with their size in clear as Raft expects
// when it sends one to a follower.
type sealedSnapshots struct {
	raft.SnapshotStore
	key *SecretKey
}

func (s *sealedSnapshots) Create(version raft.SnapshotVersion, index, term uint64, c raft.Configuration,
	ci uint64, t raft.Transport) (raft.SnapshotSink, error) {
	sink, err := s.SnapshotStore.Create(version, index, term, c, ci, t)
	if err != nil {
		return nil, err
	}
	return &sealingSink{SnapshotSink: sink, key: s.key}, nil
}

func (s *sealedSnapshots) Open(id string) (*raft.SnapshotMeta, io.ReadCloser, error) {
	meta, rc, err := s.SnapshotStore.Open(id)
	if err != nil {
		return nil, nil, err
	}
	b, err := io.ReadAll(io.LimitReader(rc, 2*maxSnapshotBytes))
	rc.Close()
	if err != nil {
		return nil, nil, fmt.Errorf("read catalogue snapshot %s: %w", id, err)
	}
	if IsSealed(b) {
		if b, err = s.key.Open(b, snapshotPurpose); err != nil {
			return nil, nil, fmt.Errorf("catalogue snapshot %s: %w", id, err)
		}
	}
	m := *meta
	m.Size = int64(len(b))
	return &m, io.NopCloser(bytes.NewReader(b)), nil
}

type sealingSink struct {
	raft.SnapshotSink
	key *SecretKey
	buf bytes.Buffer
}

func (s *sealingSink) Write(p []byte) (int, error) {
	if s.buf.Len()+len(p) > maxSnapshotBytes {
		return 0, fmt.Errorf("catalogue snapshot exceeds %d bytes", maxSnapshotBytes)
	}
	return s.buf.Write(p)
}

func (s *sealingSink) Close() error {
	sealed := s.key.Seal(s.buf.Bytes(), snapshotPurpose)
	s.buf.Reset()
	if _, err := s.SnapshotSink.Write(sealed); err != nil {
		s.SnapshotSink.Cancel()
		return err
	}
	return s.SnapshotSink.Close()
}

// fileSnapshotMeta is meta.json of raft's file snapshot store.
type fileSnapshotMeta struct {
	raft.SnapshotMeta
	CRC []byte
}

// sealSnapshots seals, in place, the snapshots an older version wrote in
// clear under dir/snapshots, before Raft opens them. Each snapshot's state
// and meta (its size and CRC change) are written beside the originals and
// renamed over them, state first; a start that finds a sealed meta waiting
// finishes the renames, so a crash at any point leaves a snapshot that
// opens.
func sealSnapshots(dir string, key *SecretKey, log *slog.Logger) error {
	root := filepath.Join(dir, "snapshots")
	entries, err := os.ReadDir(root)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		if !e.IsDir() || strings.HasSuffix(e.Name(), ".tmp") {
			continue
		}
		d := filepath.Join(root, e.Name())
		state, meta := filepath.Join(d, "state.bin"), filepath.Join(d, "meta.json")
		if _, err := os.Stat(meta + ".seal"); err == nil {
			if err := finishSeal(d); err != nil {
				return err
			}
			continue
		}
		_ = os.Remove(state + ".seal") // a conversion cut short before its meta
		b, err := os.ReadFile(state)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		if IsSealed(b) {
			continue
		}
		mb, err := os.ReadFile(meta)
		if err != nil {
			return err
		}
		var m fileSnapshotMeta
		if err := json.Unmarshal(mb, &m); err != nil {
			return fmt.Errorf("catalogue snapshot %s: meta: %w", e.Name(), err)
		}
		sealed := key.Seal(b, snapshotPurpose)
		h := crc64.New(crc64.MakeTable(crc64.ECMA))
		h.Write(sealed)
		m.Size, m.CRC = int64(len(sealed)), h.Sum(nil)
		nmb, err := json.Marshal(&m)
		if err != nil {
			return err
		}
		if err := writeSynced(state+".seal", sealed); err != nil {
			return err
		}
		if err := writeSynced(meta+".seal", nmb); err != nil {
			return err
		}
		if err := finishSeal(d); err != nil {
			return err
		}
		log.Info("catalogue snapshot written in clear by an older version sealed", "snapshot", e.Name())
	}
	return nil
}

func finishSeal(d string) error {
	state, meta := filepath.Join(d, "state.bin"), filepath.Join(d, "meta.json")
	if err := os.Rename(state+".seal", state); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := os.Rename(meta+".seal", meta); err != nil {
		return err
	}
	return syncDirOf(state)
}

func writeSynced(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
