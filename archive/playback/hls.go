package playback

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"path"
	"slices"
	"strconv"
	"time"
)

// play answers an HLS VOD playlist of a time range: per file an
// EXT-X-MAP (its ftyp+moov by byte range) and media segments that are
// byte ranges of whole fragments, each starting at a keyframe; a
// discontinuity at every file change.
func (h *Handler) play(w http.ResponseWriter, r *http.Request) {
	q, pl, ok := h.rangePlan(w, r, "playback", false)
	if !ok {
		return
	}
	var tail *tailCut
	if pl.Growing {
		if pl.lastOpen {
			pl.withholdLast(h.o.HLSSegment)
		}
		if len(pl.Pieces) == 0 {
			w.Header().Set("Retry-After", "2")
			writeError(w, &apiError{Code: http.StatusServiceUnavailable, Param: "from",
				Msg: fmt.Sprintf("from: camera %q is still recording the start of this range; ask again in a few seconds", q.Camera)})
			return
		}
	} else {
		var err error
		tail, err = h.playlistTail(pl)
		if err != nil {
			// the whole last fragment plays instead: up to one more second
			h.o.Logger.Warn("cannot cut the last fragment of a playlist", "camera", q.Camera, "err", err)
		}
	}
	w.Header().Set("Content-Type", "application/vnd.apple.mpegurl")
	w.Header().Set("Cache-Control", "no-cache") // a range reaching into the present grows
	// the media links stay valid for playing the range through, and then some
	exp := time.Now().Add(h.o.LinkTTL + q.To.Sub(q.From))
	caller := h.caller(r)
	links := func(p *piece, segs []hlsSegment, tail *tailCut) (string, string) {
		return h.mediaLinks(caller, exp, p, segs, tail)
	}
	bw := bufio.NewWriter(w)
	writePlaylist(bw, pl, h.o.HLSSegment, tail, links)
	_ = bw.Flush()
}

func noVideo(q rangeQuery) *apiError {
	return &apiError{Code: http.StatusNotFound, Param: "from", Msg: fmt.Sprintf("from: camera %q has no video between %s and %s",
		q.Camera, q.From.Format(time.RFC3339Nano), q.To.Format(time.RFC3339Nano))}
}

// tailCut is the playlist's last fragment cut at the range's end: it is
// served from cut/{shift}/{until}/{path}, the file up to that fragment
// followed by the fragment rewritten with fewer samples.
type tailCut struct {
	until uint64 // decode time of the file where the range ends
	size  int64  // of the rewritten fragment
	dur   uint64 // of the rewritten fragment, ticks
}

// playlistTail cuts the plan's last fragment at To, if it reaches past it.
func (h *Handler) playlistTail(pl *plan) (*tailCut, error) {
	lp := &pl.Pieces[len(pl.Pieces)-1]
	lf := lp.fragments()[len(lp.fragments())-1]
	until := lp.untilTicks(pl.To)
	if lf.End() <= until {
		return nil, nil
	}
	f, _, err := openArchiveFile(h.o.Archive, lp.Seg.Path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, end, err := cutFragment(f, lf, until, nil)
	if err != nil {
		return nil, err
	}
	return &tailCut{until: until, size: int64(len(b)), dur: end - lf.BaseTime}, nil
}

// withholdLast drops the fragments of a growing plan's last media segment
// (and the piece, if that leaves it empty): fragments written later would
// still lengthen that segment, while an EVENT playlist may only grow by
// new segments. Segments are cut by what comes before them alone
// (groupFragments), so every segment listed keeps its place and bytes in
// each later playlist of the range, and in the final one.
func (pl *plan) withholdLast(target time.Duration) {
	lp := &pl.Pieces[len(pl.Pieces)-1]
	segs := groupFragments(lp, target, nil)
	last := segs[len(segs)-1]
	keep := lp.First
	for keep < lp.Last && lp.Index.Fragments[keep].Offset < last.off {
		keep++
	}
	if keep == lp.First {
		pl.Pieces = pl.Pieces[:len(pl.Pieces)-1]
		return
	}
	var ticks uint64
	for _, fr := range lp.Index.Fragments[lp.First:keep] {
		ticks += fr.Duration
	}
	lp.Last, lp.Duration = keep, ticksToDur(ticks, lp.Index.TimeScale)
}

// hlsSegment is a run of fragments of one file played as one media segment.
type hlsSegment struct {
	off, size   int64
	dur         time.Duration
	independent bool
	cut         bool // ends with the cut last fragment
}

// groupFragments cuts a piece's fragments into media segments of about
// target: a new segment begins at a fragment starting with a keyframe once
// the current one is long enough, or at any fragment when a stream's
// keyframes are so rare that it would grow past three times the target.
// tail, if not nil, replaces the piece's last fragment.
func groupFragments(p *piece, target time.Duration, tail *tailCut) []hlsSegment {
	var out []hlsSegment
	ts := p.Index.TimeScale
	frs := p.fragments()
	for i, fr := range frs {
		size, ticks, cut := fr.Size, fr.Duration, false
		if tail != nil && i == len(frs)-1 {
			size, ticks, cut = tail.size, tail.dur, true
		}
		d := ticksToDur(ticks, ts)
		if n := len(out); n > 0 {
			cur := &out[n-1]
			if !(cur.dur >= target && fr.SyncStart) && cur.dur+d <= 3*target {
				// boxes between fragments, if any, go along: they are still MP4
				cur.size = fr.Offset + size - cur.off
				cur.dur += d
				cur.cut = cut
				continue
			}
		}
		out = append(out, hlsSegment{off: fr.Offset, size: size, dur: d, independent: fr.SyncStart, cut: cut})
	}
	return out
}

// writePlaylist writes the playlist of a plan. links makes a group's
// media URIs, relative to the playlist's own URL: one for the init and the
// whole fragments, one for the cut end.
func writePlaylist(w io.Writer, pl *plan, target time.Duration, tail *tailCut,
	links func(p *piece, segs []hlsSegment, tail *tailCut) (media, cut string)) {
	type group struct {
		p    *piece
		segs []hlsSegment
		tail *tailCut
	}
	groups := make([]group, 0, len(pl.Pieces))
	maxDur, independent := time.Duration(0), true
	for i := range pl.Pieces {
		p := &pl.Pieces[i]
		var t *tailCut
		if i == len(pl.Pieces)-1 {
			t = tail
		}
		g := group{p: p, segs: groupFragments(p, target, t), tail: t}
		for _, s := range g.segs {
			maxDur = max(maxDur, s.dur)
			independent = independent && s.independent
		}
		groups = append(groups, g)
	}
	fmt.Fprintf(w, "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:%d\n", max(1, int(math.Round(maxDur.Seconds()))))
	if pl.Growing {
		fmt.Fprint(w, "#EXT-X-PLAYLIST-TYPE:EVENT\n#EXT-X-MEDIA-SEQUENCE:0\n")
	} else {
		fmt.Fprint(w, "#EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-MEDIA-SEQUENCE:0\n")
	}
	if independent {
		fmt.Fprint(w, "#EXT-X-INDEPENDENT-SEGMENTS\n")
	}
	for i, g := range groups {
		if i > 0 {
			fmt.Fprint(w, "#EXT-X-DISCONTINUITY\n")
		}
		media, cut := links(g.p, g.segs, g.tail)
		fmt.Fprintf(w, "#EXT-X-MAP:URI=\"%s\",BYTERANGE=\"%d@0\"\n", media, g.p.Index.InitEnd)
		fmt.Fprintf(w, "#EXT-X-PROGRAM-DATE-TIME:%s\n", g.p.Start.UTC().Format("2006-01-02T15:04:05.000Z07:00"))
		for _, s := range g.segs {
			uri := media
			if s.cut {
				uri = cut
			}
			fmt.Fprintf(w, "#EXTINF:%.3f,\n#EXT-X-BYTERANGE:%d@%d\n%s\n", s.dur.Seconds(), s.size, s.off, uri)
		}
	}
	if !pl.Growing {
		fmt.Fprint(w, "#EXT-X-ENDLIST\n")
	}
}

// cut serves media/{shift}/{path} up to the fragment holding decode time
// {until}, followed by that fragment cut before until.
func (h *Handler) cut(w http.ResponseWriter, r *http.Request) {
	shift, err := strconv.ParseInt(r.PathValue("shift"), 10, 64)
	if err != nil {
		writeError(w, badParam("shift", "%q is not a whole number of ticks", r.PathValue("shift")))
		return
	}
	until, err := strconv.ParseUint(r.PathValue("until"), 10, 64)
	if err != nil {
		writeError(w, badParam("until", "%q is not a whole number of ticks", r.PathValue("until")))
		return
	}
	h.serveCut(w, r, r.PathValue("path"), shift, until, nil)
}

// serveCut serves the file rel shifted and cut at until; check, if set,
// may refuse the request once the size of the body is known.
func (h *Handler) serveCut(w http.ResponseWriter, r *http.Request, rel string, shift int64, until uint64, check func(size int64) *apiError) {
	f, st, fi, ok := h.openScanned(w, rel, unplayable)
	if !ok {
		return
	}
	defer f.Close()
	k := slices.IndexFunc(fi.Fragments, func(fr fragment) bool { return fr.BaseTime <= until && fr.End() > until })
	if k < 0 {
		writeError(w, badParam("until", "decode time %d is not inside a fragment of %s", until, rel))
		return
	}
	sr, err := newShiftedReader(f, st.Size(), fi.Fragments, shift, nil)
	if err != nil {
		writeError(w, badParam("shift", "%v", err))
		return
	}
	fr := fi.Fragments[k]
	tail, _, err := cutFragment(sr, fr, until, nil)
	if err != nil {
		writeError(w, unplayable(rel, err))
		return
	}
	size := fr.Offset + int64(len(tail))
	if check != nil {
		if aerr := check(size); aerr != nil {
			writeError(w, aerr)
			return
		}
	}
	body := io.NewSectionReader(concatReaderAt{a: sr, aLen: fr.Offset, b: tail}, 0, size)
	w.Header().Set("Content-Type", "video/mp4")
	http.ServeContent(w, r, path.Base(rel), st.ModTime(), body)
}

// concatReaderAt reads a's first aLen bytes followed by b.
type concatReaderAt struct {
	a    io.ReaderAt
	aLen int64
	b    []byte
}

func (c concatReaderAt) ReadAt(p []byte, off int64) (int, error) {
	n := 0
	if off < c.aLen {
		k := min(int64(len(p)), c.aLen-off)
		m, err := c.a.ReadAt(p[:k], off)
		n += m
		if err != nil && !(errors.Is(err, io.EOF) && int64(m) == k) {
			return n, err
		}
		p, off = p[k:], c.aLen
	}
	if len(p) == 0 {
		return n, nil
	}
	i := off - c.aLen
	if i >= int64(len(c.b)) {
		return n, io.EOF
	}
	m := copy(p, c.b[i:])
	n += m
	if m < len(p) {
		return n, io.EOF
	}
	return n, nil
}
