package playback

import (
	"context"
	"fmt"
	"io/fs"
	"math"
	"math/bits"
	"net/http"
	"sort"
	"time"

	"github.com/kuzet/kuzet/archive"
)

// piece is the part of one segment file that a time range plays.
type piece struct {
	Seg         archive.Segment // Start is the wall clock of decode time 0
	Index       *fileIndex
	First, Last int           // selected fragments [First, Last)
	Shift       int64         // ticks added to the file's decode times on the output timeline
	Start       time.Time     // wall clock of the first selected fragment
	Duration    time.Duration // of the selected fragments
	Quality     string        // QualityMain or QualitySub
}

// fragments returns the selected fragments.
func (p *piece) fragments() []fragment { return p.Index.Fragments[p.First:p.Last] }

// wallAt is the wall clock of a decode time of the file.
func (p *piece) wallAt(ticks uint64) time.Time {
	return p.Seg.Start.Add(ticksToDur(ticks, p.Index.TimeScale))
}

// untilTicks is the decode time of the file at wall clock t.
func (p *piece) untilTicks(t time.Time) uint64 {
	return durToTicks(t.Sub(p.Seg.Start), p.Index.TimeScale)
}

// skipped is a file of the range that could not be read.
type skipped struct {
	Path   string `json:"path"`
	Reason string `json:"reason"`
}

// plan is a time range laid out as a continuous timeline over files: each
// piece's decode times are shifted to follow the previous piece's end, so
// the output plays without jumps (holes between files are closed up;
// their wall clock stays in the playlist's program date-times).
type plan struct {
	Camera   string
	From, To time.Time
	Pieces   []piece
	Holes    int // places where the next piece does not follow the previous one
	Skipped  []skipped
	// Growing: the range reaches past the end of a file still being
	// written (here, or a descendant's as fetched so far): a playlist of it
	// is an EVENT playlist that a player reloads until the range is whole.
	Growing  bool
	lastOpen bool            // the last piece is of the file being written
	open     map[string]bool // files of the range still being written
}

// holeTolerance is how far apart two pieces may be and still count as
// continuous: the archive's own tolerance for clock jitter.
const holeTolerance = 100 * time.Millisecond

// buildPlan lays out [from, to) of camera in one quality (main, or
// sub: the sub-stream recorded beside it as camera~sub) or the best of
// both: the main stream wherever it was recorded and the sub-stream in
// the holes between (an event-recorded camera). Each piece's decode times
// are shifted to follow the previous piece on one timeline.
func (h *Handler) buildPlan(ctx context.Context, camera string, from, to time.Time, quality string) (*plan, error) {
	pl := &plan{Camera: camera, From: from, To: to, open: map[string]bool{}}
	sub := camera + archive.SubSuffix
	var err error
	switch quality {
	case QualitySub:
		err = h.addPieces(ctx, pl, sub, QualitySub, from, to)
	case QualityMain:
		err = h.addPieces(ctx, pl, camera, QualityMain, from, to)
	default:
		if err = h.addPieces(ctx, pl, camera, QualityMain, from, to); err != nil {
			break
		}
		for _, hole := range uncovered(pl.Pieces, from, to) {
			if err = h.addPieces(ctx, pl, sub, QualitySub, hole[0], hole[1]); err != nil {
				break
			}
		}
	}
	if err != nil {
		return nil, err
	}
	pl.layOut()
	return pl, nil
}

// addPieces adds the pieces of key's files overlapping [from, to): for
// each, the fragments covering the range, from the last sync fragment at
// or before from (so it decodes from its first frame) to the fragment
// holding to.
func (h *Handler) addPieces(ctx context.Context, pl *plan, key, quality string, from, to time.Time) error {
	idx := h.o.Archive.Index()
	segs, err := idx.Segments(key, from, to)
	if err != nil {
		return fmt.Errorf("list segments of %s: %w", key, err)
	}
	// The file being written is not indexed yet: Locate names it.
	if rel, off, ok := h.o.Archive.Locate(key, to.Add(-time.Nanosecond)); ok {
		known := false
		for _, s := range segs {
			known = known || s.Path == rel
		}
		if !known {
			start := to.Add(-time.Nanosecond).Add(-off)
			segs = append(segs, archive.Segment{Camera: key, Start: start, Path: rel})
			pl.open[rel] = true
		}
	}
	for _, s := range segs {
		if err := ctx.Err(); err != nil {
			return err
		}
		fi, err := h.scanArchiveFile(s.Path)
		if err != nil && pl.open[s.Path] {
			continue // a file just created has no complete init yet
		}
		if err != nil {
			// a file retention removed meanwhile, or one that cannot be
			// read: play around it rather than refuse the whole range
			h.o.Logger.Warn("archive file left out of playback", "camera", key, "path", s.Path, "err", err)
			h.m.skipped.Inc()
			pl.Skipped = append(pl.Skipped, skipped{Path: s.Path, Reason: err.Error()})
			continue
		}
		p := piece{Seg: s, Index: fi, First: -1, Quality: quality}
		for i, fr := range fi.Fragments {
			fs, fe := p.wallAt(fr.BaseTime), p.wallAt(fr.End())
			if fs.Before(to) && fe.After(from) {
				if p.First < 0 {
					p.First = i
				}
				p.Last = i + 1
			}
		}
		if p.First < 0 {
			continue
		}
		for p.First > 0 && !fi.Fragments[p.First].SyncStart {
			p.First-- // a decoder needs the keyframe before from
		}
		var ticks uint64
		for _, fr := range p.fragments() {
			ticks += fr.Duration
		}
		p.Start = p.wallAt(fi.Fragments[p.First].BaseTime)
		p.Duration = ticksToDur(ticks, fi.TimeScale)
		pl.Pieces = append(pl.Pieces, p)
	}
	return nil
}

func sortPieces(ps []piece) {
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].Start.Before(ps[j].Start) })
}

// layOut orders the pieces by wall clock and places each on the output
// timeline after the previous one, counting the holes between.
func (pl *plan) layOut() {
	sortPieces(pl.Pieces)
	var tTicks uint64 // output timeline position, in tScale ticks
	var tScale uint32
	var prevEnd time.Time
	for i := range pl.Pieces {
		p := &pl.Pieces[i]
		if tScale != p.Index.TimeScale {
			tTicks = durToTicks(ticksToDur(tTicks, tScale), p.Index.TimeScale)
			tScale = p.Index.TimeScale
		}
		p.Shift = int64(tTicks) - int64(p.Index.Fragments[p.First].BaseTime)
		for _, fr := range p.fragments() {
			tTicks += fr.Duration
		}
		if i > 0 && absDur(p.Start.Sub(prevEnd)) > holeTolerance {
			pl.Holes++
		}
		prevEnd = p.Start.Add(p.Duration)
	}
	if n := len(pl.Pieces); n > 0 && len(pl.open) > 0 {
		// a file is still being written: what the range lacks may come
		pl.Growing = prevEnd.Before(pl.To)
		pl.lastOpen = pl.open[pl.Pieces[n-1].Seg.Path]
	}
}

// scanArchiveFile opens an archive-relative path through the archive and
// indexes it.
func (h *Handler) scanArchiveFile(rel string) (*fileIndex, error) {
	f, st, err := openArchiveFile(h.o.Archive, rel)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := h.scan(f, rel, st)
	if err != nil {
		return nil, fmt.Errorf("scan %s: %w", rel, err)
	}
	return fi, nil
}

// openArchiveFile opens rel with Archive.OpenFile, which refuses anything
// but a regular .mp4 file inside the archive (or a replica in its store).
func openArchiveFile(a *archive.Archive, rel string) (archive.File, fs.FileInfo, error) {
	f, err := a.OpenFile(rel)
	if err != nil {
		return nil, nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("archive file %s: %w", rel, err)
	}
	return f, st, nil
}

// ticksToDur converts ticks of a time scale to a duration without
// overflowing in between (a day of 90 kHz ticks times 1e9 does not fit).
func ticksToDur(ticks uint64, scale uint32) time.Duration {
	if scale == 0 {
		return 0
	}
	hi, lo := bits.Mul64(ticks, uint64(time.Second))
	if hi >= uint64(scale) {
		return time.Duration(math.MaxInt64)
	}
	q, _ := bits.Div64(hi, lo, uint64(scale))
	if q > math.MaxInt64 {
		return time.Duration(math.MaxInt64)
	}
	return time.Duration(q)
}

// durToTicks converts a non-negative duration to ticks, rounding down.
func durToTicks(d time.Duration, scale uint32) uint64 {
	if d <= 0 {
		return 0
	}
	hi, lo := bits.Mul64(uint64(d), uint64(scale))
	q, _ := bits.Div64(hi, lo, uint64(time.Second))
	return q
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

// rangePlan parses a request's range and plans it, answering the request
// itself when either fails or the range holds no video. oneFile plans
// for one MP4 (an export, a transcode): "best" then keeps to one quality
// when the two differ in codec parameters, the one with more video in the
// range, main on a tie.
func (h *Handler) rangePlan(w http.ResponseWriter, r *http.Request, what string, oneFile bool) (rangeQuery, *plan, bool) {
	q, aerr := h.parseRange(r, h.o.MaxSpan)
	if aerr != nil {
		writeError(w, aerr)
		return q, nil, false
	}
	fail := func(err error) (rangeQuery, *plan, bool) {
		writeError(w, &apiError{Code: http.StatusInternalServerError, Msg: fmt.Sprintf("plan %s of %s: %v", what, q.Camera, err)})
		return q, nil, false
	}
	pl, err := h.buildPlan(r.Context(), q.Camera, q.From, q.To, q.Quality)
	if err != nil {
		return fail(err)
	}
	if oneFile && q.Quality == QualityBest && len(pl.Pieces) > 0 && sameParameters(pl) != nil {
		if pl, err = h.buildPlan(r.Context(), q.Camera, q.From, q.To, QualityMain); err != nil {
			return fail(err)
		}
		sub, err := h.buildPlan(r.Context(), q.Camera, q.From, q.To, QualitySub)
		if err != nil {
			return fail(err)
		}
		if sub.covered() > pl.covered()+minFill {
			pl = sub
		}
	}
	if len(pl.Pieces) == 0 {
		writeError(w, noVideo(q))
		return q, nil, false
	}
	w.Header().Set("X-Archive-Quality", pl.qualities())
	return q, pl, true
}
