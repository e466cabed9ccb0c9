package playback

import (
	"bytes"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4/seekablebuffer"
)

// export streams a time range as one fragmented MP4 file: the first
// file's init section, then the range's fragments with their decode times
// rebased onto one continuous timeline and their sequence numbers
// renumbered from 1. The last fragment is cut at to; the start is the
// keyframe at or before from. Files with different codec parameters in
// the range are refused with 409: one MP4 has one sample description.
func (h *Handler) export(w http.ResponseWriter, r *http.Request) {
	q, pl, ok := h.rangePlan(w, r, "export", true)
	if !ok {
		return
	}
	if aerr := sameParameters(pl); aerr != nil {
		writeError(w, aerr)
		return
	}
	ex, err := h.prepareExport(pl)
	if err != nil {
		h.o.Logger.Error("prepare export", "camera", q.Camera, "err", err)
		writeError(w, &apiError{Code: http.StatusInternalServerError, Msg: fmt.Sprintf("prepare export of %s: %v", q.Camera, err)})
		return
	}

	hd := w.Header()
	hd.Set("Content-Type", "video/mp4")
	hd.Set("Content-Length", strconv.FormatInt(ex.length, 10))
	hd.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": exportName(q)}))
	last := pl.Pieces[len(pl.Pieces)-1]
	hd.Set("X-Archive-Start", pl.Pieces[0].Start.UTC().Format(time.RFC3339Nano))
	hd.Set("X-Archive-End", ex.end.UTC().Format(time.RFC3339Nano))
	hd.Set("X-Archive-Holes", strconv.Itoa(pl.Holes))
	hd.Set("X-Archive-Skipped", strconv.Itoa(len(pl.Skipped)))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	if err := ex.write(r, w); err != nil {
		// the length is announced: a short body tells the client it failed
		h.o.Logger.Warn("export interrupted", "camera", q.Camera, "last_file", last.Seg.Path, "err", err)
		panic(http.ErrAbortHandler)
	}
	h.o.Logger.Info("exported", "camera", q.Camera, "from", q.From, "to", q.To, "bytes", ex.length, "files", len(pl.Pieces))
}

// sameParameters refuses a plan whose files differ in time scale or
// sample description, naming where the parameters change.
func sameParameters(pl *plan) *apiError {
	first := pl.Pieces[0]
	for _, p := range pl.Pieces[1:] {
		if p.Index.TimeScale == first.Index.TimeScale && bytes.Equal(p.Index.SampleEnt, first.Index.SampleEnt) {
			continue
		}
		at := p.Start.UTC()
		return &apiError{Code: http.StatusConflict, Param: "to", ChangeAt: &at, Msg: fmt.Sprintf(
			"to: the video changes codec parameters at %s (%s %s, then %s %s in %s); export the ranges before and after it separately",
			at.Format(time.RFC3339Nano), first.Index.Codec, describe(first), p.Index.Codec, describe(p), p.Seg.Path)}
	}
	return nil
}

func describe(p piece) string {
	if p.Seg.Width > 0 {
		return fmt.Sprintf("%dx%d", p.Seg.Width, p.Seg.Height)
	}
	return "(size unknown)"
}

// exportName is the download's file name: camera and range, no '/'.
func exportName(q rangeQuery) string {
	const f = "20060102T150405Z"
	cam := strings.NewReplacer("/", "_", "\\", "_", "\"", "_").Replace(q.Camera)
	return fmt.Sprintf("%s_%s-%s.mp4", cam, q.From.UTC().Format(f), q.To.UTC().Format(f))
}

// exportJob is an export with its size known. Files are opened one at a
// time while writing: a day of short segments would be too many at once.
type exportJob struct {
	h      *Handler
	pl     *plan
	seqs   []uint32 // sequence number of each piece's first fragment
	tail   []byte   // the last fragment cut at to, or nil
	length int64
	end    time.Time // wall clock where the output ends
}

func (h *Handler) prepareExport(pl *plan) (*exportJob, error) {
	ex := &exportJob{h: h, pl: pl}
	ex.length = pl.Pieces[0].Index.InitEnd
	seq := uint32(1)
	for i := range pl.Pieces {
		p := &pl.Pieces[i]
		ex.seqs = append(ex.seqs, seq)
		frs := p.fragments()
		seq += uint32(len(frs))
		ex.length += frs[len(frs)-1].Offset + frs[len(frs)-1].Size - frs[0].Offset
		ex.end = p.Start.Add(p.Duration)
	}
	// cut the last fragment at to
	li := len(pl.Pieces) - 1
	lp := &pl.Pieces[li]
	lf := lp.fragments()[len(lp.fragments())-1]
	if until := lp.untilTicks(pl.To); lf.End() > until {
		err := h.withPiece(lp, ex.seqs[li], func(sr *shiftedReader) error {
			last := seq - 1
			tail, endTicks, err := cutFragment(sr, lf, until, &last)
			if err != nil {
				return err
			}
			ex.tail, ex.end = tail, lp.wallAt(endTicks)
			ex.length += int64(len(tail)) - lf.Size
			return nil
		})
		if err != nil {
			// keep the whole fragment: a little more than asked beats failing
			h.o.Logger.Warn("cannot cut the last fragment of an export", "path", lp.Seg.Path, "err", err)
		}
	}
	return ex, nil
}

// withPiece opens a piece's file and reads it rebased onto the output
// timeline, its fragments numbered from seq.
func (h *Handler) withPiece(p *piece, seq uint32, fn func(*shiftedReader) error) error {
	f, st, err := openArchiveFile(h.o.Archive, p.Seg.Path)
	if err != nil {
		return err
	}
	defer f.Close()
	sr, err := newShiftedReader(f, st.Size(), p.fragments(), p.Shift, func(k int) uint32 { return seq + uint32(k) })
	if err != nil {
		return fmt.Errorf("rebase %s: %w", p.Seg.Path, err)
	}
	return fn(sr)
}

// cutFragment rewrites fragment fr, read through r, keeping the samples
// that start before decode time until (at least one). seq, if not nil,
// replaces its sequence number. It returns the bytes and the decode time
// where the kept samples end.
func cutFragment(r io.ReaderAt, fr fragment, until uint64, seq *uint32) ([]byte, uint64, error) {
	raw := make([]byte, fr.Size)
	if _, err := r.ReadAt(raw, fr.Offset); err != nil {
		return nil, 0, fmt.Errorf("read fragment at %d: %w", fr.Offset, err)
	}
	var parts fmp4.Parts
	if err := parts.Unmarshal(raw); err != nil {
		return nil, 0, fmt.Errorf("parse fragment at %d: %w", fr.Offset, err)
	}
	if len(parts) != 1 || len(parts[0].Tracks) != 1 {
		return nil, 0, fmt.Errorf("fragment at %d is not one part of one track", fr.Offset)
	}
	tr := parts[0].Tracks[0]
	t := fr.BaseTime // the file's own timeline, where until is counted
	keep := 0
	for _, s := range tr.Samples {
		if keep > 0 && t >= until {
			break
		}
		t += uint64(s.Duration)
		keep++
	}
	tr.Samples = tr.Samples[:keep]
	if seq != nil {
		parts[0].SequenceNumber = *seq
	}
	var buf seekablebuffer.Buffer
	if err := parts[0].Marshal(&buf); err != nil {
		return nil, 0, fmt.Errorf("write cut fragment: %w", err)
	}
	return buf.Bytes(), t, nil
}

// write streams the export: init, then each piece's fragments.
func (ex *exportJob) write(r *http.Request, w io.Writer) error {
	buf := make([]byte, 256<<10)
	for i := range ex.pl.Pieces {
		if err := r.Context().Err(); err != nil {
			return err
		}
		p := &ex.pl.Pieces[i]
		last := i == len(ex.pl.Pieces)-1
		err := ex.h.withPiece(p, ex.seqs[i], func(sr *shiftedReader) error {
			if i == 0 {
				// the init has no decode times: the file's own bytes
				if _, err := io.CopyBuffer(w, io.NewSectionReader(sr, 0, p.Index.InitEnd), buf); err != nil {
					return fmt.Errorf("write init: %w", err)
				}
			}
			frs := p.fragments()
			start, end := frs[0].Offset, frs[len(frs)-1].Offset+frs[len(frs)-1].Size
			if last && ex.tail != nil {
				end = frs[len(frs)-1].Offset
			}
			n, err := io.CopyBuffer(w, io.NewSectionReader(sr, start, end-start), buf)
			if err != nil {
				return fmt.Errorf("copy %s: %w", p.Seg.Path, err)
			}
			if n != end-start {
				return fmt.Errorf("copy %s: the file shrank (%d of %d bytes)", p.Seg.Path, n, end-start)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	if ex.tail != nil {
		if _, err := w.Write(ex.tail); err != nil {
			return fmt.Errorf("write last fragment: %w", err)
		}
	}
	return nil
}
