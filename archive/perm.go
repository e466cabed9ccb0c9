package archive

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
)

// Recordings are evidence and may show people and plates: nobody but the
// node's user and the archive's group reads them (issue 14). The modes are
// set explicitly, whatever the umask.
const (
	FileMode fs.FileMode = 0o640
	DirMode  fs.FileMode = 0o750
)

// lookupGroup resolves archive.group; -1 when none is configured (files
// then get the process's group, or the directory's when it is setgid).
func lookupGroup(name string) (int, error) {
	if name == "" {
		return -1, nil
	}
	g, err := user.LookupGroup(name)
	if err != nil {
		return 0, fmt.Errorf("archive.group: %w", err)
	}
	gid, err := strconv.Atoi(g.Gid)
	if err != nil {
		return 0, fmt.Errorf("archive.group %s: gid %q is not a number", name, g.Gid)
	}
	return gid, nil
}

// prepareRoot creates the root or closes an existing one to others. An
// archive written by an older version keeps its 0644 files and 0755
// directories, but nobody outside the node's user and group can reach
// them any more; they go as retention removes them.
func (a *Archive) prepareRoot() error {
	root := a.o.Root
	if err := os.MkdirAll(filepath.Dir(root), 0o755); err != nil {
		return fmt.Errorf("create archive root: %w", err)
	}
	err := os.Mkdir(root, DirMode)
	switch {
	case err == nil:
		if err := a.own(root, DirMode); err != nil {
			return err
		}
		return nil
	case !errors.Is(err, fs.ErrExist):
		return fmt.Errorf("create archive root: %w", err)
	}
	st, err := os.Stat(root)
	if err != nil {
		return fmt.Errorf("archive root: %w", err)
	}
	if !st.IsDir() {
		return fmt.Errorf("archive root %s is not a directory", root)
	}
	if perm := st.Mode().Perm(); perm&0o007 != 0 {
		if err := os.Chmod(root, perm&^0o007); err != nil {
			// a mount point owned by someone else: say so, and go on
			a.o.Logger.Warn("archive root stays readable by others", "root", root, "mode", perm, "err", err)
		} else {
			a.o.Logger.Info("archive root closed to others", "root", root, "mode", perm&^0o007)
		}
	}
	if a.gid >= 0 && int(st.Sys().(*syscall.Stat_t).Gid) != a.gid {
		if err := os.Chown(root, -1, a.gid); err != nil {
			return fmt.Errorf("archive.group %s: give the archive root to the group: %w (run the node as a member of the group)", a.o.Group, err)
		}
	}
	return nil
}

// own gives a file or directory the archive's mode and group.
func (a *Archive) own(path string, mode fs.FileMode) error {
	if err := os.Chmod(path, mode); err != nil {
		return fmt.Errorf("set mode of %s: %w", path, err)
	}
	if a.gid >= 0 {
		if err := os.Chown(path, -1, a.gid); err != nil {
			return fmt.Errorf("archive.group %s: give %s to the group: %w", a.o.Group, path, err)
		}
	}
	return nil
}

// ownFile is own for an open file.
func (a *Archive) ownFile(f *os.File) error {
	if err := f.Chmod(FileMode); err != nil {
		return fmt.Errorf("set mode of %s: %w", f.Name(), err)
	}
	if a.gid >= 0 {
		if err := f.Chown(-1, a.gid); err != nil {
			return fmt.Errorf("archive.group %s: give %s to the group: %w", a.o.Group, f.Name(), err)
		}
	}
	return nil
}

// mkdirDurable creates dir (and its missing parents below the root) with
// the archive's mode and group, and makes each new entry durable.
func (a *Archive) mkdirDurable(dir string) error {
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	if err := a.fault("mkdir", dir); err != nil {
		return err
	}
	parent := filepath.Dir(dir)
	if parent != dir && parent != a.o.Root {
		if err := a.mkdirDurable(parent); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, DirMode); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil // made meanwhile (another camera, a fetch)
		}
		return err
	}
	if err := a.own(dir, DirMode); err != nil {
		return err
	}
	return syncDir(parent)
}

// fault asks the injected storage fault, if any (Options.WriteFault).
func (a *Archive) fault(op, path string) error {
	if a.o.WriteFault == nil {
		return nil
	}
	return a.o.WriteFault(op, path)
}
