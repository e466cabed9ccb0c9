package objstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// An FS upload writes straight into a part file beside the object's place,
// .<base>.upload, which any writer finds by its name; .<base>.upload.json
// says which object (size, sha256, meta) it is the start of. Every byte
// written is stored — a process that dies loses nothing the kernel took —
// so Offset is the part's length. Complete hashes the part's bytes (local,
// and likely still cached): the check covers whatever any writer put
// there. Dot names keep both out of List.
type fsUpload struct {
	s     *FS
	key   string
	path  string // the object's
	part  string
	state string
	st    fsState
	f     *os.File
	fi    os.FileInfo // the part's, to tell it from a later one
	off   int64
	err   error // once set (closed, completed, a failed write), every call returns it
	done  bool  // completed or dropped: Abort has nothing left to drop
}

type fsState struct {
	Size   int64             `json:"size"`
	SHA256 string            `json:"sha256"`
	Meta   map[string]string `json:"meta,omitempty"`
}

// Resume carries on the part file when its state is that of the same
// object, or starts it anew.
func (s *FS) Resume(ctx context.Context, key string, size int64, sum string, meta map[string]string) (Upload, error) {
	fail := func(err error) (Upload, error) {
		return nil, &StoreError{Store: s.root, Op: "resume", Key: key, Err: err}
	}
	p, err := s.path(key)
	if err == nil {
		err = checkResume(size, sum, meta)
	}
	if err != nil {
		return fail(err)
	}
	switch in, err := s.Stat(ctx, key); {
	case err == nil && in.SHA256 == sum:
		return fail(ErrStored)
	case err != nil && !errors.Is(err, ErrNotFound):
		return nil, err
	}
	dir, base := filepath.Split(p)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fail(err)
	}
	u := &fsUpload{s: s, key: key, path: p, part: filepath.Join(dir, "."+base+".upload"), st: fsState{Size: size, SHA256: sum, Meta: meta}}
	u.state = u.part + ".json"
	var old fsState
	if b, err := os.ReadFile(u.state); err == nil && json.Unmarshal(b, &old) == nil &&
		old.Size == size && old.SHA256 == sum && maps.Equal(old.Meta, meta) {
		if u.f, err = os.OpenFile(u.part, os.O_RDWR, 0); err == nil {
			if u.fi, err = u.f.Stat(); err == nil && u.fi.Size() <= size {
				u.off = u.fi.Size()
				return u, nil
			}
			u.f.Close()
		}
	}
	// another object's start, or none: a new file, without the attributes
	// an earlier Complete may have set on the old one
	if err := os.Remove(u.part); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fail(err)
	}
	if u.f, err = os.OpenFile(u.part, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644); err != nil {
		return fail(err)
	}
	if u.fi, err = u.f.Stat(); err == nil {
		err = writeState(u.state, u.st)
	}
	if err != nil {
		u.f.Close()
		return fail(err)
	}
	return u, nil
}

// writeState replaces the state file whole (temporary file, fsync, rename).
func writeState(p string, st fsState) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(p), filepath.Base(p)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), p)
	}
	if err != nil {
		return err
	}
	return syncDir(filepath.Dir(p))
}

func (u *fsUpload) fail(op string, err error) error {
	return &StoreError{Store: u.s.root, Op: op, Key: u.key, Err: err}
}

func (u *fsUpload) Offset() int64 { return u.off }

// ours says whether the part's name still names this writer's file:
// another writer carrying on the same part may have completed it (it is
// the object now, not to be written) or dropped it.
func (u *fsUpload) ours() bool {
	fi, err := os.Stat(u.part)
	return err == nil && os.SameFile(fi, u.fi)
}

// gone says why the part is no longer ours: ErrStored when the object is
// stored with the sha256.
func (u *fsUpload) gone(op string) error {
	if in, err := u.s.Stat(context.Background(), u.key); err == nil && in.SHA256 == u.st.SHA256 {
		return u.fail(op, ErrStored)
	}
	return u.fail(op, errors.New("the upload is gone: dropped, or completed by another writer"))
}

// Write writes at its own offset (not appending): writers carrying on the
// same bytes leave the same file.
func (u *fsUpload) Write(p []byte) (int, error) {
	if u.err != nil {
		return 0, u.err
	}
	if u.off+int64(len(p)) > u.st.Size {
		return 0, u.fail("write", fmt.Errorf("more than the %d bytes announced", u.st.Size))
	}
	if !u.ours() {
		u.err = u.gone("write")
		return 0, u.err
	}
	n, err := u.f.WriteAt(p, u.off)
	u.off += int64(n)
	if err != nil {
		u.err = u.fail("write", err)
		return n, u.err
	}
	return n, nil
}

// Complete checks the part, gives it the sha256 and meta attributes and
// moves it into place. An object stored there meanwhile ends the upload
// when it has the same sha256; with another it is not replaced (an error
// matching fs.ErrExist; the upload is kept, to Abort, or to Complete once
// the key is free).
func (u *fsUpload) Complete(ctx context.Context) (Info, error) {
	if u.err != nil {
		return Info{}, u.err
	}
	if !u.ours() {
		return u.stored(ctx, u.gone("complete"))
	}
	if err := u.f.Sync(); err != nil {
		return Info{}, u.fail("complete", err)
	}
	h := sha256.New()
	n, err := io.Copy(h, io.NewSectionReader(u.f, 0, u.st.Size+1))
	if err != nil {
		return Info{}, u.fail("complete", err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); n != u.st.Size || got != u.st.SHA256 {
		u.err = u.fail("complete", errClosed)
		err := fmt.Errorf("%w: %d bytes of %d hash to %s", ErrChecksum, n, u.st.Size, got)
		if derr := u.drop(); derr != nil {
			err = fmt.Errorf("%w; dropping the upload: %v", err, derr)
		}
		return Info{}, u.fail("complete", err)
	}
	fd := int(u.f.Fd())
	_ = unix.Fsetxattr(fd, xattrSHA, []byte(u.st.SHA256), 0) // as Put: Stat hashes where there are no attributes
	for k, v := range u.st.Meta {
		if err := unix.Fsetxattr(fd, xattrMeta+k, []byte(v), 0); err != nil {
			return Info{}, u.fail("complete", fmt.Errorf("meta %s in an extended attribute: %w", k, err))
		}
	}
	switch err := RenameNoReplace(u.part, u.path); {
	case errors.Is(err, fs.ErrExist):
		in, serr := u.s.Stat(ctx, u.key)
		switch {
		case serr != nil:
			return Info{}, serr
		case in.SHA256 != u.st.SHA256:
			return Info{}, u.fail("complete", fmt.Errorf("%w with sha256 %s", fs.ErrExist, in.SHA256))
		}
		// stored by another writer: this part is not needed
		_ = u.drop()
		return u.stored(ctx, u.fail("complete", ErrStored))
	case errors.Is(err, fs.ErrNotExist):
		return u.stored(ctx, u.gone("complete"))
	case err != nil:
		return Info{}, u.fail("complete", err)
	}
	u.err, u.done = u.fail("complete", errClosed), true
	u.f.Close()
	u.f = nil
	_ = os.Remove(u.state)
	if err := syncDir(filepath.Dir(u.path)); err != nil {
		return Info{}, u.fail("complete", err)
	}
	return u.s.Stat(ctx, u.key)
}

// stored ends an upload another writer completed (err wraps ErrStored)
// with the object's Info; any other err is returned.
func (u *fsUpload) stored(ctx context.Context, err error) (Info, error) {
	if !errors.Is(err, ErrStored) {
		return Info{}, err
	}
	u.err, u.done = u.fail("complete", errClosed), true
	if u.f != nil {
		u.f.Close()
		u.f = nil
	}
	return u.s.Stat(ctx, u.key)
}

// drop removes the part, its state and the directories left empty —
// unless the part's name is another writer's file by now.
func (u *fsUpload) drop() error {
	if u.done {
		return nil
	}
	if u.f != nil {
		u.f.Close()
		u.f = nil
	}
	if u.ours() {
		err := os.Remove(u.part)
		if serr := os.Remove(u.state); err == nil && !errors.Is(serr, fs.ErrNotExist) {
			err = serr
		}
		if err != nil {
			return u.fail("abort", err)
		}
	}
	u.done = true
	u.s.prune(filepath.Dir(u.path))
	return nil
}

func (u *fsUpload) Abort(context.Context) error {
	u.err = u.fail("write", errClosed)
	return u.drop()
}

// Close syncs the part, so that a Resume after a crash finds what Offset
// said.
func (u *fsUpload) Close() error {
	if u.err == nil {
		u.err = u.fail("write", errClosed)
	}
	if u.f == nil {
		return nil
	}
	err := u.f.Sync()
	if cerr := u.f.Close(); err == nil {
		err = cerr
	}
	u.f = nil
	if err != nil {
		return u.fail("close", err)
	}
	return nil
}
