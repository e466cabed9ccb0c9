package playback

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/kuzet/kuzet/archive"
)

// listedSegment is an index record with the URL that downloads its file
// and the quality it holds: the camera's main stream or its recorded
// sub-stream.
type listedSegment struct {
	archive.Segment
	URL     string `json:"url"`
	Quality string `json:"quality"`
}

func (h *Handler) cameras(w http.ResponseWriter, _ *http.Request) {
	cams, err := h.o.Archive.Index().Cameras()
	if err != nil {
		writeError(w, &apiError{Code: http.StatusInternalServerError, Msg: fmt.Sprintf("read cameras: %v", err)})
		return
	}
	// a recorded sub-stream is a quality of its camera, not a camera
	out := []string{}
	for _, c := range cams {
		main, isSub := strings.CutSuffix(c, archive.SubSuffix)
		if !isSub || !slices.Contains(cams, main) {
			out = append(out, main)
		}
	}
	slices.Sort(out)
	writeJSON(w, http.StatusOK, slices.Compact(out))
}

func (h *Handler) segments(w http.ResponseWriter, r *http.Request) {
	q, aerr := h.parseRange(r, 0)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	// both qualities unless one is asked for, each in time order
	out := []listedSegment{}
	for _, k := range []struct{ key, quality string }{{q.Camera, QualityMain}, {q.Camera + archive.SubSuffix, QualitySub}} {
		if q.Quality != QualityBest && q.Quality != k.quality {
			continue
		}
		segs, err := h.o.Archive.Index().Segments(k.key, q.From, q.To)
		if err != nil {
			writeError(w, &apiError{Code: http.StatusInternalServerError, Msg: fmt.Sprintf("list segments of %s: %v", k.key, err)})
			return
		}
		for _, s := range segs {
			out = append(out, listedSegment{Segment: s, URL: h.o.Prefix + "/files/" + escapePath(s.Path), Quality: k.quality})
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func (h *Handler) gaps(w http.ResponseWriter, r *http.Request) {
	q, aerr := h.parseRange(r, 0)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	gaps, err := h.o.Archive.Index().Gaps(q.Camera, q.From, q.To)
	if err != nil {
		writeError(w, &apiError{Code: http.StatusInternalServerError, Msg: fmt.Sprintf("list gaps of %s: %v", q.Camera, err)})
		return
	}
	if gaps == nil {
		gaps = []archive.Gap{}
	}
	writeJSON(w, http.StatusOK, gaps)
}

// escapePath escapes each element of a '/'-separated path for a URL.
func escapePath(rel string) string {
	parts := strings.Split(rel, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return strings.Join(parts, "/")
}
