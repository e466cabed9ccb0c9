package playback

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/kuzet/kuzet/archive"
)

// apiError is a refused request: the status and a reason naming the
// parameter that was wrong.
type apiError struct {
	Code     int        `json:"-"`
	Msg      string     `json:"error"`
	Param    string     `json:"param,omitempty"`
	ChangeAt *time.Time `json:"change_at,omitempty"`
}

func (e *apiError) Error() string { return e.Msg }

func badParam(param, format string, args ...any) *apiError {
	return &apiError{Code: http.StatusBadRequest, Param: param, Msg: param + ": " + fmt.Sprintf(format, args...)}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, e *apiError) { writeJSON(w, e.Code, e) }

// rangeQuery is a camera and a time range from a request.
type rangeQuery struct {
	Camera   string
	From, To time.Time
	Quality  string // QualityBest, QualityMain or QualitySub
}

const maxCameraLen = 256

// parseRange reads the camera (a path segment, '/' escaped as %2F, or
// ?camera=) and ?from=&to= (RFC 3339, both required, from before to).
// limit > 0 caps the span. The camera must have recordings on this node.
func (h *Handler) parseRange(r *http.Request, limit time.Duration) (rangeQuery, *apiError) {
	var q rangeQuery
	vals := r.URL.Query()
	cam := r.PathValue("camera")
	if qc := vals.Get("camera"); qc != "" {
		if cam != "" && cam != qc {
			return q, badParam("camera", "the path names %q and the query %q", cam, qc)
		}
		cam = qc
	}
	if cam == "" {
		return q, badParam("camera", "missing (a camera ID; a parent's replica of a child's camera is ORIGIN/CAMERA)")
	}
	if len(cam) > maxCameraLen || !utf8.ValidString(cam) || slices.ContainsFunc([]rune(cam), unicode.IsControl) {
		return q, badParam("camera", "%q is not a camera ID", cam)
	}
	q.Camera = cam
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"from", &q.From}, {"to", &q.To}} {
		v := vals.Get(p.name)
		if v == "" {
			return q, badParam(p.name, "missing (an RFC 3339 time such as 2025-08-18T14:05:00Z)")
		}
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return q, badParam(p.name, "%q is not an RFC 3339 time", v)
		}
		*p.dst = t
	}
	if !q.To.After(q.From) {
		return q, badParam("to", "%s is not after from (%s)", q.To.Format(time.RFC3339Nano), q.From.Format(time.RFC3339Nano))
	}
	switch q.Quality = vals.Get("quality"); q.Quality {
	case "":
		q.Quality = QualityBest
	case QualityBest, QualityMain, QualitySub:
	default:
		return q, badParam("quality", "%q is not best, main or sub", q.Quality)
	}
	if span := q.To.Sub(q.From); limit > 0 && span > limit {
		return q, badParam("to", "the range of %v is longer than the %v limit; ask for less", span, limit)
	}
	cams, err := h.o.Archive.Index().Cameras()
	if err != nil {
		return q, &apiError{Code: http.StatusInternalServerError, Msg: fmt.Sprintf("read cameras: %v", err)}
	}
	// a camera whose first file is still being written is not indexed yet;
	// an event-recorded one may have only its sub-stream so far
	if !h.recorded(cams, cam, q.To) && !h.recorded(cams, cam+archive.SubSuffix, q.To) {
		return q, &apiError{Code: http.StatusNotFound, Param: "camera", Msg: fmt.Sprintf("camera: %q has no recordings on this node", cam)}
	}
	return q, nil
}

// recorded reports whether key has files on this node, indexed or being
// written at before.
func (h *Handler) recorded(indexed []string, key string, before time.Time) bool {
	_, _, open := h.o.Archive.Locate(key, before.Add(-time.Nanosecond))
	return open || slices.Contains(indexed, key)
}
