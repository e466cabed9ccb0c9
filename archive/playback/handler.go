// Package playback serves the archive over HTTP: the segments and gaps of
// a camera by time, downloads of single files with byte ranges, any time
// range as an HLS VOD playlist over the recorded files, and a time range
// exported as one MP4 file (remuxed, never re-encoded).
package playback

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kuzet/kuzet/archive"
)

// Options configure a Handler.
type Options struct {
	Archive *archive.Archive
	// Prefix is the path the handler is mounted at; default
	// "/api/v1/archive". Routes and the URLs in listings are below it.
	Prefix string
	// MaxSpan is the longest range a playlist or an export may cover;
	// default 24h.
	MaxSpan time.Duration
	// HLSSegment is the target length of a playlist's media segments
	// (runs of ~1 s fragments, each starting at a keyframe); default 4s.
	HLSSegment time.Duration
	Logger     *slog.Logger
	Registerer prometheus.Registerer // nil: metrics are not registered
}

// Handler is the archive's HTTP face. It holds no state between requests
// beyond its options and metrics; every request reads the index and the
// files afresh.
type Handler struct {
	o   Options
	m   *metrics
	mux *http.ServeMux
}

// New builds the handler. Mount it at Options.Prefix + "/".
func New(o Options) (*Handler, error) {
	if o.Archive == nil {
		return nil, errors.New("playback: archive not set")
	}
	if o.Prefix == "" {
		o.Prefix = "/api/v1/archive"
	}
	o.Prefix = strings.TrimSuffix(o.Prefix, "/")
	if !strings.HasPrefix(o.Prefix, "/") || strings.ContainsAny(o.Prefix, "{} ") {
		return nil, fmt.Errorf("playback: prefix %q must be a plain absolute path", o.Prefix)
	}
	if o.MaxSpan == 0 {
		o.MaxSpan = 24 * time.Hour
	}
	if o.MaxSpan < 0 {
		return nil, fmt.Errorf("playback: max span %v must be positive", o.MaxSpan)
	}
	if o.HLSSegment == 0 {
		o.HLSSegment = 4 * time.Second
	}
	if o.HLSSegment < time.Second || o.HLSSegment > time.Minute {
		return nil, fmt.Errorf("playback: HLS segment %v must be within 1s..1m", o.HLSSegment)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	h := &Handler{o: o, m: newMetrics(o.Registerer)}
	p := o.Prefix
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+p+"/cameras", h.route("cameras", h.cameras))
	mux.HandleFunc("GET "+p+"/segments", h.route("segments", h.segments))
	mux.HandleFunc("GET "+p+"/gaps", h.route("gaps", h.gaps))
	mux.HandleFunc("GET "+p+"/cameras/{camera}/segments", h.route("segments", h.segments))
	mux.HandleFunc("GET "+p+"/cameras/{camera}/gaps", h.route("gaps", h.gaps))
	mux.HandleFunc("GET "+p+"/files/{path...}", h.route("files", h.file))
	mux.HandleFunc("GET "+p+"/media/{shift}/{path...}", h.route("media", h.media))
	mux.HandleFunc("GET "+p+"/cut/{shift}/{until}/{path...}", h.route("media", h.cut))
	mux.HandleFunc("GET "+p+"/play.m3u8", h.route("play", h.play))
	mux.HandleFunc("GET "+p+"/export.mp4", h.route("export", h.export))
	mux.HandleFunc("GET "+p+"/", h.route("other", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, &apiError{Code: http.StatusNotFound, Msg: fmt.Sprintf("no archive endpoint %s %s", r.Method, r.URL.Path)})
	}))
	h.mux = mux
	return h, nil
}

// ServeHTTP implements http.Handler. A path with dot segments or empty
// elements (however escaped) is refused here, before routing would clean
// it into some other path.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if p := strings.TrimSuffix(r.URL.Path, "/"); p != "" && path.Clean(p) != p {
		h.m.requests.WithLabelValues("other", "400").Inc()
		writeError(w, badParam("path", "%q is not a clean path (no '.', '..' or empty elements)", p))
		return
	}
	h.mux.ServeHTTP(w, r)
}

// route counts requests and bytes per endpoint.
func (h *Handler) route(name string, fn http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		rec := &recorder{ResponseWriter: w, code: http.StatusOK}
		defer func() {
			h.m.requests.WithLabelValues(name, fmt.Sprint(rec.code)).Inc()
			h.m.bytes.WithLabelValues(name).Add(float64(rec.n))
		}()
		fn(rec, r)
	}
}

// recorder remembers the status and counts the body bytes of a response.
type recorder struct {
	http.ResponseWriter
	code        int
	n           int64
	wroteHeader bool
}

func (r *recorder) WriteHeader(code int) {
	if !r.wroteHeader {
		r.code, r.wroteHeader = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	r.wroteHeader = true
	n, err := r.ResponseWriter.Write(b)
	r.n += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the connection (flushes).
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
