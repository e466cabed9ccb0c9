// Package boltfile gives back the space of a bbolt file whose deletes
// left it mostly empty. bbolt reuses freed pages but never shrinks its
// file, so after retention dropped a year's backlog the file keeps its
// high-water size until it is rewritten.
package boltfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Compacted says what CompactIfSparse did.
type Compacted struct {
	Before, After int64 // file sizes in bytes
}

// MinSize is the smallest file worth rewriting.
const MinSize = 64 << 20

// CompactIfSparse rewrites the closed bbolt file at path into a new file
// and renames it over the old one when the file is at least minSize bytes
// and less than half of it is in use. The old file stays whole until
// the rename, so a crash at any point leaves one of the two complete (a
// left-over temporary file is removed next time). ok is false when the
// file was left as it is.
func CompactIfSparse(path string, minSize int64) (c Compacted, ok bool, err error) {
	tmp := path + ".compact"
	if err := os.Remove(tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return c, false, fmt.Errorf("remove %s: %w", tmp, err)
	}
	st, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) || err == nil && st.Size() < minSize {
		return c, false, nil
	}
	if err != nil {
		return c, false, err
	}
	c.Before = st.Size()
	src, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		return c, false, fmt.Errorf("open %s: %w", path, err)
	}
	defer src.Close()
	// in use: the pages up to the high-water mark less the free ones
	// (bbolt grows its file ahead of the data, so the rest is empty too)
	var used int64
	if err := src.View(func(tx *bolt.Tx) error {
		used = tx.Size() - int64(src.Stats().FreePageN)*int64(src.Info().PageSize)
		return nil
	}); err != nil {
		return c, false, err
	}
	if 2*used > c.Before {
		return c, false, nil
	}
	dst, err := bolt.Open(tmp, 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		return c, false, fmt.Errorf("create %s: %w", tmp, err)
	}
	if err := bolt.Compact(dst, src, 16<<20); err != nil {
		_ = dst.Close()
		_ = os.Remove(tmp)
		return c, false, fmt.Errorf("compact %s: %w", path, err)
	}
	if err := dst.Sync(); err != nil {
		_ = dst.Close()
		_ = os.Remove(tmp)
		return c, false, err
	}
	if err := dst.Close(); err != nil {
		_ = os.Remove(tmp)
		return c, false, err
	}
	if err := src.Close(); err != nil {
		_ = os.Remove(tmp)
		return c, false, err
	}
	if err := os.Rename(tmp, path); err != nil {
		return c, false, fmt.Errorf("replace %s: %w", path, err)
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		_ = d.Sync() // the rename itself is durable
		_ = d.Close()
	}
	if st, err := os.Stat(path); err == nil {
		c.After = st.Size()
	}
	return c, true, nil
}
