package playback

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"net/http"
	"path"
	"sort"
	"strconv"

	"github.com/kuzet/kuzet/archive"
)

// file serves one archive file as it is on disk, with Range support.
func (h *Handler) file(w http.ResponseWriter, r *http.Request) {
	f, st, aerr := h.openRequested(r)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	defer f.Close()
	w.Header().Set("Content-Type", "video/mp4")
	http.ServeContent(w, r, path.Base(r.PathValue("path")), st.ModTime(), f)
}

// media serves an archive file with every fragment's decode time moved by
// {shift} ticks, so that the files of a playlist form one continuous
// timeline. The bytes are the same size and at the same offsets as on
// disk: a playlist's byte ranges hold for both.
func (h *Handler) media(w http.ResponseWriter, r *http.Request) {
	shift, err := strconv.ParseInt(r.PathValue("shift"), 10, 64)
	if err != nil {
		writeError(w, badParam("shift", "%q is not a whole number of ticks", r.PathValue("shift")))
		return
	}
	h.serveMedia(w, r, r.PathValue("path"), shift, nil)
}

// serveMedia serves the file rel shifted; check, if set, may refuse the
// request once the size of the body is known.
func (h *Handler) serveMedia(w http.ResponseWriter, r *http.Request, rel string, shift int64, check func(size int64) *apiError) {
	f, st, fi, ok := h.openScanned(w, rel, h.unplayableLogged)
	if !ok {
		return
	}
	defer f.Close()
	if check != nil {
		if aerr := check(st.Size()); aerr != nil {
			writeError(w, aerr)
			return
		}
	}
	sr, err := newShiftedReader(f, st.Size(), fi.Fragments, shift, nil)
	if err != nil {
		writeError(w, badParam("shift", "%v", err))
		return
	}
	w.Header().Set("Content-Type", "video/mp4")
	http.ServeContent(w, r, path.Base(rel), st.ModTime(), sr)
}

// openScanned opens the archive file rel and scans its fragments,
// answering the request itself when either fails.
func (h *Handler) openScanned(w http.ResponseWriter, rel string, bad func(string, error) *apiError) (archive.File, fs.FileInfo, *fileIndex, bool) {
	f, st, aerr := h.openArchive(rel)
	if aerr != nil {
		writeError(w, aerr)
		return nil, nil, nil, false
	}
	fi, err := h.scan(f, rel, st)
	if err != nil {
		f.Close()
		writeError(w, bad(rel, err))
		return nil, nil, nil, false
	}
	return f, st, fi, true
}

func unplayable(rel string, err error) *apiError {
	return &apiError{Code: http.StatusUnprocessableEntity, Param: "path",
		Msg: fmt.Sprintf("path: %s cannot be played: %v", rel, err)}
}

func (h *Handler) unplayableLogged(rel string, err error) *apiError {
	h.o.Logger.Warn("archive file cannot be played", "path", rel, "err", err)
	return unplayable(rel, err)
}

// openRequested opens the archive file named by the {path...} wildcard.
func (h *Handler) openRequested(r *http.Request) (archive.File, fs.FileInfo, *apiError) {
	return h.openArchive(r.PathValue("path"))
}

// openArchive opens the archive file rel through the archive (the local
// disk, or the object store for a replica kept there).
func (h *Handler) openArchive(rel string) (archive.File, fs.FileInfo, *apiError) {
	f, st, err := openArchiveFile(h.o.Archive, rel)
	switch {
	case err == nil:
		return f, st, nil
	case errors.Is(err, archive.ErrBadPath):
		return nil, nil, badParam("path", "%v", err)
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil, &apiError{Code: http.StatusNotFound, Param: "path", Msg: fmt.Sprintf("path: no archive file %q", rel)}
	}
	// the store holding it does not answer: say so, the file may be back
	h.o.Logger.Warn("archive file unreadable", "path", rel, "err", err)
	return nil, nil, &apiError{Code: http.StatusServiceUnavailable, Param: "path", Msg: fmt.Sprintf("path: archive file %q cannot be read now: %v", rel, err)}
}

// patch replaces bytes of a file as they are read.
type patch struct {
	off int64
	b   []byte
}

// shiftedReader reads a file with patches laid over it (decode times,
// sequence numbers). It implements io.ReadSeeker for http.ServeContent.
type shiftedReader struct {
	r       io.ReaderAt
	size    int64
	pos     int64
	patches []patch // sorted by offset, not overlapping
}

// newShiftedReader moves the decode time of every fragment by shift
// ticks; seq, if not nil, gives fragment i the sequence number seq(i).
// A time that would fall below zero is clamped there: only fragments a
// playlist leaves out can be shifted that far.
func newShiftedReader(r io.ReaderAt, size int64, frs []fragment, shift int64, seq func(int) uint32) (*shiftedReader, error) {
	s := &shiftedReader{r: r, size: size, patches: make([]patch, 0, len(frs))}
	for i, fr := range frs {
		v := shiftTime(fr.BaseTime, shift)
		if fr.TfdtV1 {
			s.patches = append(s.patches, patch{fr.TfdtPos, binary.BigEndian.AppendUint64(nil, v)})
		} else {
			if v > math.MaxUint32 {
				return nil, fmt.Errorf("decode time %d+%d does not fit the 32-bit tfdt at %d", fr.BaseTime, shift, fr.TfdtPos)
			}
			s.patches = append(s.patches, patch{fr.TfdtPos, binary.BigEndian.AppendUint32(nil, uint32(v))})
		}
		if seq != nil {
			s.patches = append(s.patches, patch{fr.SeqPos, binary.BigEndian.AppendUint32(nil, seq(i))})
		}
	}
	sort.Slice(s.patches, func(i, j int) bool { return s.patches[i].off < s.patches[j].off })
	return s, nil
}

// shiftTime adds shift to t, saturating at 0 and at the top.
func shiftTime(t uint64, shift int64) uint64 {
	if shift < 0 {
		d := uint64(-shift)
		if shift == math.MinInt64 {
			d = 1 << 63
		}
		if d > t {
			return 0
		}
		return t - d
	}
	if v := t + uint64(shift); v >= t {
		return v
	}
	return math.MaxUint64
}

func (s *shiftedReader) Read(p []byte) (int, error) {
	if s.pos >= s.size {
		return 0, io.EOF
	}
	if rem := s.size - s.pos; int64(len(p)) > rem {
		p = p[:rem]
	}
	n, err := s.r.ReadAt(p, s.pos)
	if n > 0 {
		applyPatches(p[:n], s.pos, s.patches)
	}
	s.pos += int64(n)
	if errors.Is(err, io.EOF) && n > 0 {
		err = nil
	}
	return n, err
}

// applyPatches overlays the patches touching [at, at+len(b)).
func applyPatches(b []byte, at int64, patches []patch) {
	end := at + int64(len(b))
	i := sort.Search(len(patches), func(i int) bool { return patches[i].off+int64(len(patches[i].b)) > at })
	for ; i < len(patches) && patches[i].off < end; i++ {
		p := patches[i]
		src, dst := p.b, p.off-at
		if dst < 0 {
			src, dst = src[-dst:], 0
		}
		copy(b[dst:], src)
	}
}

// ReadAt reads like the underlying file, patched.
func (s *shiftedReader) ReadAt(p []byte, off int64) (int, error) {
	if off >= s.size {
		return 0, io.EOF
	}
	short := false
	if rem := s.size - off; int64(len(p)) > rem {
		p, short = p[:rem], true
	}
	n, err := s.r.ReadAt(p, off)
	applyPatches(p[:n], off, s.patches)
	if err == nil && short {
		err = io.EOF
	}
	return n, err
}

func (s *shiftedReader) Seek(off int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		off += s.pos
	case io.SeekEnd:
		off += s.size
	default:
		return s.pos, fmt.Errorf("seek: bad whence %d", whence)
	}
	if off < 0 {
		return s.pos, fmt.Errorf("seek to %d: before the start", off)
	}
	s.pos = off
	return off, nil
}
