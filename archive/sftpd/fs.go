package sftpd

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync/atomic"

	"github.com/pkg/sftp"

	"github.com/kuzet/kuzet/archive"
)

// archiveFS maps SFTP paths onto the archive root: "/" is the root, and
// nothing outside it can be reached. Every path is checked twice: once by
// resolving its symlinks here (for a clear refusal naming the path), and
// again by os.Root, which opens component by component without following
// anything out of the root (so a symlink swapped in between the two checks
// cannot escape either).
type archiveFS struct {
	root *os.Root
	real string // the root with its own symlinks resolved
	// reps, if set, serves what the local disk lacks under /.replicas/:
	// replicas kept in the archive's object store, as its index lists them
	reps Replicas
	log  *slog.Logger
}

// Replicas is the archive as SFTP reads the replicas it keeps in its
// object store (*archive.Archive).
type Replicas interface {
	OpenFile(rel string) (archive.File, error)
	ReplicaEntries(dir string) ([]fs.FileInfo, error)
}

func openArchiveFS(dir string, reps Replicas) (*archiveFS, error) {
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return nil, fmt.Errorf("resolve archive root %s: %w", dir, err)
	}
	real, err = filepath.Abs(real)
	if err != nil {
		return nil, fmt.Errorf("resolve archive root %s: %w", dir, err)
	}
	st, err := os.Stat(real)
	if err != nil {
		return nil, fmt.Errorf("archive root %s: %w", dir, err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("archive root %s is not a directory", dir)
	}
	r, err := os.OpenRoot(real)
	if err != nil {
		return nil, fmt.Errorf("open archive root %s: %w", dir, err)
	}
	return &archiveFS{root: r, real: real, reps: reps, log: slog.New(slog.DiscardHandler)}, nil
}

func (a *archiveFS) Close() error { return a.root.Close() }

// errOutside refuses a path whose symlinks lead out of the archive.
func errOutside(vpath string) error {
	return fmt.Errorf("%s leads outside the archive: %w", vpath, sftp.ErrSSHFxPermissionDenied)
}

// errReadOnly answers every request that would change the archive.
func errReadOnly(op, vpath string) error {
	return fmt.Errorf("%s %s: the archive is read-only: %w", op, vpath, sftp.ErrSSHFxPermissionDenied)
}

// notFound answers "no such file" to the client and matches
// fs.ErrNotExist here.
type notFound struct{ vpath string }

func (e notFound) Error() string   { return e.vpath + ": no such file or directory" }
func (e notFound) Unwrap() []error { return []error{sftp.ErrSSHFxNoSuchFile, fs.ErrNotExist} }

// relPath turns an SFTP path into a path relative to the root. ".."
// cannot climb above "/", which is the root.
func relPath(vpath string) (string, error) {
	if strings.IndexByte(vpath, 0) >= 0 {
		return "", fmt.Errorf("path %q contains a NUL byte: %w", vpath, sftp.ErrSSHFxBadMessage)
	}
	// the SFTP protocol always uses '/'; a backslash is a literal name byte
	// on this system, but refuse it so names mean the same to every client
	if strings.IndexByte(vpath, '\\') >= 0 {
		return "", fmt.Errorf("path %q contains a backslash: %w", vpath, sftp.ErrSSHFxNoSuchFile)
	}
	c := path.Clean("/" + vpath)
	r := strings.TrimPrefix(c, "/")
	if r == "" {
		return ".", nil
	}
	return filepath.FromSlash(r), nil
}

// resolve checks that rel, with every symlink followed (the last one too
// when followLast), stays inside the root. It returns the resolved path
// relative to the root.
func (a *archiveFS) resolve(vpath, rel string, followLast bool) (string, error) {
	full := filepath.Join(a.real, rel)
	var resolved string
	if followLast || rel == "." {
		r, err := filepath.EvalSymlinks(full)
		if err != nil {
			return "", a.cleanErr(vpath, err)
		}
		resolved = r
	} else {
		dir, err := filepath.EvalSymlinks(filepath.Dir(full))
		if err != nil {
			return "", a.cleanErr(vpath, err)
		}
		resolved = filepath.Join(dir, filepath.Base(full))
	}
	r, err := filepath.Rel(a.real, resolved)
	if err != nil || r == ".." || strings.HasPrefix(r, ".."+string(filepath.Separator)) || filepath.IsAbs(r) {
		return "", errOutside(vpath)
	}
	return r, nil
}

// cleanErr keeps "no such file" and turns every other failure into an
// error that names the SFTP path, never the host path of the archive.
func (a *archiveFS) cleanErr(vpath string, err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return notFound{vpath}
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("%s: %w", vpath, sftp.ErrSSHFxPermissionDenied)
	case errors.Is(err, sftp.ErrSSHFxPermissionDenied), errors.Is(err, sftp.ErrSSHFxBadMessage):
		return err
	default:
		var perr *fs.PathError
		if errors.As(err, &perr) {
			err = perr.Err
		}
		// os.Root refuses absolute symlinks and any that escape
		if strings.Contains(err.Error(), "escapes") {
			return errOutside(vpath)
		}
		return fmt.Errorf("%s: %v: %w", vpath, err, sftp.ErrSSHFxFailure)
	}
}

func (a *archiveFS) stat(vpath string, follow bool) (os.FileInfo, error) {
	rel, err := relPath(vpath)
	if err != nil {
		return nil, err
	}
	fi, err := a.statLocal(vpath, rel, follow)
	if a.stored(rel) && errors.Is(err, fs.ErrNotExist) {
		return a.statStored(vpath, rel)
	}
	return fi, err
}

func (a *archiveFS) statLocal(vpath, rel string, follow bool) (os.FileInfo, error) {
	if _, err := a.resolve(vpath, rel, follow); err != nil {
		return nil, err
	}
	var fi os.FileInfo
	var err error
	if follow {
		fi, err = a.root.Stat(rel)
	} else {
		fi, err = a.root.Lstat(rel)
	}
	if err != nil {
		return nil, a.cleanErr(vpath, err)
	}
	return fi, nil
}

func (a *archiveFS) list(vpath string) ([]os.FileInfo, error) {
	rel, err := relPath(vpath)
	if err != nil {
		return nil, err
	}
	out, err := a.listLocal(vpath, rel)
	if !a.stored(rel) && rel != "." || a.reps == nil {
		return out, err
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	// the index's replicas the disk lacks (the disk may hold older ones)
	held, serr := a.reps.ReplicaEntries(filepath.ToSlash(rel))
	if serr != nil {
		return nil, a.storeErr(vpath, serr)
	}
	if err != nil && len(held) == 0 {
		return nil, err
	}
	seen := make(map[string]bool, len(out))
	for _, fi := range out {
		seen[fi.Name()] = true
	}
	for _, fi := range held {
		if !seen[fi.Name()] {
			out = append(out, fi)
		}
	}
	return out, nil
}

func (a *archiveFS) listLocal(vpath, rel string) ([]os.FileInfo, error) {
	if _, err := a.resolve(vpath, rel, true); err != nil {
		return nil, err
	}
	d, err := a.root.Open(rel)
	if err != nil {
		return nil, a.cleanErr(vpath, err)
	}
	defer d.Close()
	entries, err := d.ReadDir(-1)
	if err != nil {
		return nil, a.cleanErr(vpath, err)
	}
	out := make([]os.FileInfo, 0, len(entries))
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil {
			continue // removed by retention while listing
		}
		out = append(out, fi)
	}
	return out, nil
}

// open opens a regular file for reading: from the local disk, or a
// replica the disk lacks through the archive, which reads it from its
// store.
func (a *archiveFS) open(vpath string) (archive.File, os.FileInfo, error) {
	rel, err := relPath(vpath)
	if err != nil {
		return nil, nil, err
	}
	f, fi, err := a.openLocal(vpath, rel)
	if err == nil {
		return f, fi, nil
	}
	if !a.stored(rel) || !errors.Is(err, fs.ErrNotExist) {
		return nil, nil, err
	}
	sf, serr := a.reps.OpenFile(filepath.ToSlash(rel))
	if serr != nil {
		if errors.Is(serr, fs.ErrNotExist) || errors.Is(serr, archive.ErrBadPath) {
			return nil, nil, err
		}
		return nil, nil, a.storeErr(vpath, serr)
	}
	if fi, err = sf.Stat(); err != nil {
		sf.Close()
		return nil, nil, a.storeErr(vpath, err)
	}
	return sf, fi, nil
}

func (a *archiveFS) openLocal(vpath, rel string) (*os.File, os.FileInfo, error) {
	if _, err := a.resolve(vpath, rel, true); err != nil {
		return nil, nil, err
	}
	f, err := a.root.Open(rel)
	if err != nil {
		return nil, nil, a.cleanErr(vpath, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, a.cleanErr(vpath, err)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, nil, fmt.Errorf("%s is not a regular file: %w", vpath, sftp.ErrSSHFxFailure)
	}
	return f, fi, nil
}

// stored says whether rel may be a replica the archive keeps in its
// store: /.replicas or below it.
func (a *archiveFS) stored(rel string) bool {
	return a.reps != nil && (rel == archive.ReplicaDir || strings.HasPrefix(rel, archive.ReplicaDir+string(filepath.Separator)))
}

// statStored describes a file or directory of the replicas that only the
// index lists, from its parent's listing.
func (a *archiveFS) statStored(vpath, rel string) (os.FileInfo, error) {
	srel := filepath.ToSlash(rel)
	held, err := a.reps.ReplicaEntries(path.Dir(srel))
	if err != nil {
		return nil, a.storeErr(vpath, err)
	}
	for _, fi := range held {
		if fi.Name() == path.Base(srel) {
			return fi, nil
		}
	}
	return nil, notFound{vpath}
}

// storeErr logs why the store could not be read and tells the client
// only that it could not: the store's address is not the client's business.
func (a *archiveFS) storeErr(vpath string, err error) error {
	a.log.Warn("archive store unreadable", "path", vpath, "err", err)
	return fmt.Errorf("%s: the archive's store cannot be read now: %w", vpath, sftp.ErrSSHFxFailure)
}

// readlink answers with the link's target as an SFTP path, and only for
// links that stay inside the archive.
func (a *archiveFS) readlink(vpath string) (string, error) {
	rel, err := relPath(vpath)
	if err != nil {
		return "", err
	}
	if _, err := a.resolve(vpath, rel, false); err != nil {
		return "", err
	}
	target, err := a.resolve(vpath, rel, true)
	if err != nil {
		return "", err
	}
	if _, err := a.root.Readlink(rel); err != nil {
		return "", a.cleanErr(vpath, err)
	}
	if target == "." {
		return "/", nil
	}
	return "/" + filepath.ToSlash(target), nil
}

// handlers serve one SFTP session read-only.
type handlers struct {
	fs  *archiveFS
	log *slog.Logger // carries the account and the remote address
	m   *metrics
	st  *sessionStats
	// record, if set, takes each download to the audit log when the file
	// is closed
	record func(path string, sent, size int64)
}

type sessionStats struct {
	files atomic.Int64
	bytes atomic.Int64
}

func (h *handlers) sftpHandlers() sftp.Handlers {
	return sftp.Handlers{FileGet: h, FilePut: h, FileCmd: h, FileList: h}
}

// Fileread opens a file for download.
func (h *handlers) Fileread(r *sftp.Request) (io.ReaderAt, error) {
	f, fi, err := h.fs.open(r.Filepath)
	if err != nil {
		h.log.Info("sftp open refused", "path", r.Filepath, "err", err)
		return nil, err
	}
	return &download{f: f, path: r.Filepath, size: fi.Size(), h: h}, nil
}

// Filewrite refuses uploads.
func (h *handlers) Filewrite(r *sftp.Request) (io.WriterAt, error) {
	h.log.Warn("sftp write refused", "path", r.Filepath)
	h.m.refused.WithLabelValues("write").Inc()
	return nil, errReadOnly("write", r.Filepath)
}

// Filecmd refuses every change: setstat, rename, remove, mkdir, links.
func (h *handlers) Filecmd(r *sftp.Request) error {
	h.log.Warn("sftp change refused", "op", r.Method, "path", r.Filepath, "target", r.Target)
	h.m.refused.WithLabelValues("change").Inc()
	return errReadOnly(strings.ToLower(r.Method), r.Filepath)
}

// PosixRename refuses the OpenSSH rename extension as well.
func (h *handlers) PosixRename(r *sftp.Request) error { return h.Filecmd(r) }

// Filelist serves directory listings and stat.
func (h *handlers) Filelist(r *sftp.Request) (sftp.ListerAt, error) {
	switch r.Method {
	case "List":
		fis, err := h.fs.list(r.Filepath)
		if err != nil {
			h.log.Info("sftp list refused", "path", r.Filepath, "err", err)
			return nil, err
		}
		return listerAt(fis), nil
	case "Stat":
		fi, err := h.fs.stat(r.Filepath, true)
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				h.log.Info("sftp stat refused", "path", r.Filepath, "err", err)
			}
			return nil, err
		}
		return listerAt{fi}, nil
	default:
		return nil, fmt.Errorf("%s %s: %w", r.Method, r.Filepath, sftp.ErrSSHFxOpUnsupported)
	}
}

// Lstat describes a symlink itself rather than its target.
func (h *handlers) Lstat(r *sftp.Request) (sftp.ListerAt, error) {
	fi, err := h.fs.stat(r.Filepath, false)
	if err != nil {
		return nil, err
	}
	return listerAt{fi}, nil
}

// Readlink answers for links that stay inside the archive.
func (h *handlers) Readlink(p string) (string, error) {
	t, err := h.fs.readlink(p)
	if err != nil {
		h.log.Info("sftp readlink refused", "path", p, "err", err)
	}
	return t, err
}

type listerAt []os.FileInfo

func (l listerAt) ListAt(ls []os.FileInfo, offset int64) (int, error) {
	if offset >= int64(len(l)) {
		return 0, io.EOF
	}
	n := copy(ls, l[offset:])
	if n < len(ls) {
		return n, io.EOF
	}
	return n, nil
}

// download counts what a client reads from one file and logs it on close.
type download struct {
	f    archive.File
	path string
	size int64
	h    *handlers
	sent atomic.Int64
}

func (d *download) ReadAt(p []byte, off int64) (int, error) {
	n, err := d.f.ReadAt(p, off)
	d.sent.Add(int64(n))
	d.h.m.bytes.Add(float64(n))
	return n, err
}

func (d *download) Close() error {
	sent := d.sent.Load()
	d.h.st.files.Add(1)
	d.h.st.bytes.Add(sent)
	d.h.m.files.Inc()
	d.h.log.Info("sftp file sent", "path", d.path, "bytes", sent, "size", d.size)
	if d.h.record != nil {
		d.h.record(d.path, sent, d.size)
	}
	return d.f.Close()
}
