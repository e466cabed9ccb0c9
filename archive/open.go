package archive

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"time"

	"github.com/kuzet/kuzet/archive/objstore"
	"github.com/kuzet/kuzet/event"
)

// File is an archive file opened for reading: a file on the local disk
// (*os.File) or a replica in Options.Store, read by byte ranges. Every
// reader of recordings (playback, SFTP, a parent's fetch) opens them
// through the archive, so none needs to know where a file is kept.
type File interface {
	io.ReaderAt
	io.ReadSeeker
	io.Closer
	Stat() (fs.FileInfo, error)
}

// ErrBadPath matches the error of a path that can never name an archive
// file (not a clean relative .mp4 path), as opposed to one that is not
// there.
var ErrBadPath = errors.New("not an archive file path")

// badPath keeps CheckRel's message and matches ErrBadPath.
type badPath struct{ err error }

func (e badPath) Error() string        { return e.err.Error() }
func (e badPath) Unwrap() error        { return e.err }
func (e badPath) Is(target error) bool { return target == ErrBadPath }

// defaultStoreTimeout bounds one request to Options.Store.
const defaultStoreTimeout = 30 * time.Second

// OpenFile opens the archive file rel (archive-relative, as indexed): a
// clean relative .mp4 path, a regular file, not a symbolic link; os.Root
// refuses anything that would leave the archive. A replica that is not
// on the local disk is opened from Options.Store when one is set. A path
// that can never name a file is refused with an error matching
// ErrBadPath; a file that is not there with one matching fs.ErrNotExist.
func (a *Archive) OpenFile(rel string) (File, error) {
	if err := event.CheckRel(rel); err != nil {
		return nil, badPath{err}
	}
	f, absent, err := a.openLocal(rel)
	if err == nil {
		return f, nil
	}
	if !absent || a.o.Store == nil {
		return nil, err
	}
	// only what a replica can be: <origin>/<Camera>/..., nothing else the
	// store may hold
	key, ok := StoreKey(rel)
	if origin, orel, _ := strings.Cut(key, "/"); !ok || checkOrigin(origin) != nil || checkOriginRel(orel) != nil {
		return nil, err
	}
	return a.openStored(rel, key)
}

// openLocal opens rel under the root; absent says the path is not there
// at all (and so may be a replica kept in the store).
func (a *Archive) openLocal(rel string) (File, bool, error) {
	root, err := os.OpenRoot(a.o.Root)
	if err != nil {
		return nil, false, fmt.Errorf("open archive root: %w", err)
	}
	defer root.Close()
	lst, err := root.Lstat(rel)
	if err != nil {
		return nil, errors.Is(err, fs.ErrNotExist), fmt.Errorf("archive file %s: %w", rel, fs.ErrNotExist)
	}
	if !lst.Mode().IsRegular() {
		return nil, false, fmt.Errorf("archive file %s is not a regular file: %w", rel, fs.ErrNotExist)
	}
	f, err := root.Open(rel)
	if err != nil {
		// removed by retention since the Lstat, or swapped for a link
		return nil, errors.Is(err, fs.ErrNotExist), fmt.Errorf("open archive file %s: %w", rel, fs.ErrNotExist)
	}
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		f.Close()
		return nil, false, fmt.Errorf("archive file %s is not a regular file: %w", rel, fs.ErrNotExist)
	}
	return f, false, nil
}

// openStored opens the object of replica rel: one Stat now, the bytes
// only as they are read.
func (a *Archive) openStored(rel, key string) (File, error) {
	s := a.o.Store
	ctx, cancel := context.WithTimeout(context.Background(), a.storeTimeout())
	defer cancel()
	in, err := s.Stat(ctx, key)
	if err != nil {
		err = storeErr(s, "stat", key, err)
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (no answer within %v)", err, a.storeTimeout())
		}
		if errors.Is(err, objstore.ErrNotFound) {
			return nil, fmt.Errorf("archive file %s: %w: %w", rel, err, fs.ErrNotExist)
		}
		return nil, fmt.Errorf("archive file %s: %w", rel, err)
	}
	return newStoreFile(s, key, path.Base(rel), in.Size, in.Modified, a.storeTimeout()), nil
}

func (a *Archive) storeTimeout() time.Duration {
	if a.o.StoreTimeout > 0 {
		return a.o.StoreTimeout
	}
	return defaultStoreTimeout
}

// storeErr makes sure an error of the store names it.
func storeErr(s objstore.Store, op, key string, err error) error {
	var se *objstore.StoreError
	if errors.As(err, &se) {
		return err
	}
	return &objstore.StoreError{Store: s.Name(), Op: op, Key: key, Err: err}
}

// OpenSegment opens origin's segment rel (in the origin's layout) as held
// here: this node's own (origin == self) or a replica, on the local disk
// or in the store. The checks are File's.
func (a *Archive) OpenSegment(self, origin, rel string) (File, error) {
	local, err := segmentLocal(self, origin, rel)
	if err != nil {
		return nil, err
	}
	f, err := a.OpenFile(local)
	if err != nil {
		return nil, fmt.Errorf("segment %s of %s: %w", rel, origin, err)
	}
	return f, nil
}

// segmentLocal is the indexed path of origin's segment rel, refusing what
// File refuses: a bad path or origin, a replica path not starting with a
// camera ID, and an own path among the replicas or tails.
func segmentLocal(self, origin, rel string) (string, error) {
	if err := event.CheckRel(rel); err != nil {
		return "", badPath{err}
	}
	if err := checkOrigin(origin); err != nil {
		return "", err
	}
	if origin != self {
		if err := checkOriginRel(rel); err != nil {
			return "", badPath{err}
		}
		return ReplicaPath(origin, rel), nil
	}
	if strings.HasPrefix(rel, ReplicaDir+"/") || strings.HasPrefix(rel, TailDir+"/") {
		return "", fmt.Errorf("segment path %q of %s lies among the replicas", rel, origin)
	}
	return rel, nil
}
