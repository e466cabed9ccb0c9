package objstore

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// RenameNoReplace moves oldpath to newpath only if newpath does not exist:
// renameat2(RENAME_NOREPLACE), which is atomic. A file system refusing the
// flag gets link+unlink, which cannot replace either (link fails on an
// existing name); a crash between the two leaves both names on one inode,
// which the callers resolve as "already held, identical". An existing
// newpath gives an error matching fs.ErrExist.
func RenameNoReplace(oldpath, newpath string) error {
	err := unix.Renameat2(unix.AT_FDCWD, oldpath, unix.AT_FDCWD, newpath, unix.RENAME_NOREPLACE)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, unix.EINVAL), errors.Is(err, unix.ENOSYS), errors.Is(err, unix.EOPNOTSUPP):
		return linkUnlink(oldpath, newpath)
	}
	return &os.LinkError{Op: "renameat2 noreplace", Old: oldpath, New: newpath, Err: err}
}
