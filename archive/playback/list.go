package playback

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/kuzet/kuzet/archive"
)

// listedSegment is an index record with the URL that downloads its file.
type listedSegment struct {
	archive.Segment
	URL string `json:"url"`
}

func (h *Handler) cameras(w http.ResponseWriter, _ *http.Request) {
	cams, err := h.o.Archive.Index().Cameras()
	if err != nil {
		writeError(w, &apiError{Code: http.StatusInternalServerError, Msg: fmt.Sprintf("read cameras: %v", err)})
		return
	}
	if cams == nil {
		cams = []string{}
	}
	writeJSON(w, http.StatusOK, cams)
}

func (h *Handler) segments(w http.ResponseWriter, r *http.Request) {
	q, aerr := h.parseRange(r, 0)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	segs, err := h.o.Archive.Index().Segments(q.Camera, q.From, q.To)
	if err != nil {
		writeError(w, &apiError{Code: http.StatusInternalServerError, Msg: fmt.Sprintf("list segments of %s: %v", q.Camera, err)})
		return
	}
	out := make([]listedSegment, 0, len(segs))
	for _, s := range segs {
		out = append(out, listedSegment{Segment: s, URL: h.o.Prefix + "/files/" + escapePath(s.Path)})
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
