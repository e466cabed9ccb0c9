package objstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// FS keeps objects as files under a directory; the sha256 rides in an
// extended attribute (user.kuzet.sha256), or is computed when the file
// system has none, and Resume's meta in user.kuzet.meta.<name>.
type FS struct {
	root string
}

const (
	xattrSHA  = "user.kuzet.sha256"
	xattrMeta = "user.kuzet.meta."
)

// NewFS opens the directory root (created if missing).
func NewFS(root string) (*FS, error) {
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, &StoreError{Store: root, Op: "create", Err: err}
	}
	return &FS{root: root}, nil
}

// Name is the directory.
func (s *FS) Name() string { return s.root }

func (s *FS) path(key string) (string, error) {
	if err := CheckKey(key); err != nil {
		return "", err
	}
	return filepath.Join(s.root, filepath.FromSlash(key)), nil
}

// Put writes to a temporary file, checks the hash, fsyncs, renames.
func (s *FS) Put(_ context.Context, key string, r io.Reader, size int64, sum string) error {
	p, err := s.path(key)
	if err != nil {
		return &StoreError{Store: s.root, Op: "put", Key: key, Err: err}
	}
	fail := func(err error) error { return &StoreError{Store: s.root, Op: "put", Key: key, Err: err} }
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fail(err)
	}
	f, err := os.CreateTemp(filepath.Dir(p), "."+filepath.Base(p)+".*.part")
	if err != nil {
		return fail(err)
	}
	defer os.Remove(f.Name())
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(r, size+1))
	if err == nil && n != size {
		err = fmt.Errorf("%d bytes read, %d announced", n, size)
	}
	if err == nil && sum != "" && hex.EncodeToString(h.Sum(nil)) != sum {
		err = ErrChecksum
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fail(err)
	}
	_ = unix.Setxattr(f.Name(), xattrSHA, []byte(hex.EncodeToString(h.Sum(nil))), 0)
	if err := os.Rename(f.Name(), p); err != nil {
		return fail(err)
	}
	return syncDir(filepath.Dir(p))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Open seeks to off and limits the read to n bytes.
func (s *FS) Open(_ context.Context, key string, off, n int64) (io.ReadCloser, error) {
	p, err := s.path(key)
	if err != nil {
		return nil, &StoreError{Store: s.root, Op: "open", Key: key, Err: err}
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, &StoreError{Store: s.root, Op: "open", Key: key, Err: ErrNotFound}
	}
	if err != nil {
		return nil, &StoreError{Store: s.root, Op: "open", Key: key, Err: err}
	}
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		f.Close()
		return nil, &StoreError{Store: s.root, Op: "open", Key: key, Err: err}
	}
	if n < 0 {
		return f, nil
	}
	return struct {
		io.Reader
		io.Closer
	}{io.LimitReader(f, n), f}, nil
}

// Stat reads the file's size, time and stored sha256.
func (s *FS) Stat(_ context.Context, key string) (Info, error) {
	p, err := s.path(key)
	if err != nil {
		return Info{}, &StoreError{Store: s.root, Op: "stat", Key: key, Err: err}
	}
	fi, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return Info{}, &StoreError{Store: s.root, Op: "stat", Key: key, Err: ErrNotFound}
	}
	if err != nil {
		return Info{}, &StoreError{Store: s.root, Op: "stat", Key: key, Err: err}
	}
	return s.info(key, p, fi), nil
}

func (s *FS) info(key, p string, fi fs.FileInfo) Info {
	in := Info{Key: key, Size: fi.Size(), Modified: fi.ModTime().UTC(), Meta: readMeta(p)}
	buf := make([]byte, 64)
	if n, err := unix.Getxattr(p, xattrSHA, buf); err == nil && n == 64 {
		in.SHA256 = string(buf)
		return in
	}
	// a file system without extended attributes: hash the file
	if f, err := os.Open(p); err == nil {
		h := sha256.New()
		if _, err := io.Copy(h, f); err == nil {
			in.SHA256 = hex.EncodeToString(h.Sum(nil))
		}
		f.Close()
	}
	return in
}

// readMeta reads the user.kuzet.meta.<name> attributes; nil when none.
func readMeta(p string) map[string]string {
	names, err := xattr(func(b []byte) (int, error) { return unix.Listxattr(p, b) })
	if err != nil {
		return nil
	}
	var meta map[string]string
	for _, name := range strings.Split(string(names), "\x00") {
		k, ok := strings.CutPrefix(name, xattrMeta)
		if !ok {
			continue
		}
		v, err := xattr(func(b []byte) (int, error) { return unix.Getxattr(p, name, b) })
		if err != nil {
			continue
		}
		if meta == nil {
			meta = map[string]string{}
		}
		meta[k] = string(v)
	}
	return meta
}

// xattr calls get for the size of an attribute (or list), then for it.
func xattr(get func([]byte) (int, error)) ([]byte, error) {
	n, err := get(nil)
	if err != nil || n == 0 {
		return nil, err
	}
	b := make([]byte, n)
	n, err = get(b)
	if err != nil {
		return nil, err
	}
	return b[:n], nil
}

// List walks the directory in key order, skipping files being written.
func (s *FS) List(ctx context.Context, prefix string, fn func(Info) error) error {
	err := filepath.WalkDir(s.root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, _ := filepath.Rel(s.root, p)
		key := filepath.ToSlash(rel)
		if d.IsDir() {
			if p != s.root && !strings.HasPrefix(key+"/", prefix) && !strings.HasPrefix(prefix, key+"/") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasPrefix(key, prefix) || strings.HasPrefix(d.Name(), ".") {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		return fn(s.info(key, p, fi))
	})
	if err != nil {
		return &StoreError{Store: s.root, Op: "list", Key: prefix, Err: err}
	}
	return nil
}

// Delete removes the file and the directories it leaves empty.
func (s *FS) Delete(_ context.Context, key string) error {
	p, err := s.path(key)
	if err != nil {
		return &StoreError{Store: s.root, Op: "delete", Key: key, Err: err}
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return &StoreError{Store: s.root, Op: "delete", Key: key, Err: err}
	}
	s.prune(filepath.Dir(p))
	return nil
}

// prune removes dir and its parents up to the root while they are empty.
func (s *FS) prune(dir string) {
	for ; dir != s.root && strings.HasPrefix(dir, s.root); dir = filepath.Dir(dir) {
		if os.Remove(dir) != nil {
			break
		}
	}
}
