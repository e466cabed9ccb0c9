// Package playback serves the archive over HTTP: the segments and gaps of
// a camera by time, downloads of single files with byte ranges, any time
// range as an HLS VOD playlist over the recorded files, and a time range
// exported as one MP4 file (remuxed, never re-encoded) — and, for a
// browser that cannot play the recorded codec, a range transcoded to H.264.
//
// It imports archive, media (the transcoding settings) and decode
// (ffmpeg's error output) only; who may download what is the route table's
// and the agent's audit wrappers' business.
package playback

import (
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kuzet/kuzet/archive"
	"github.com/kuzet/kuzet/media"
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
	// Caller names who makes a request (a user name; "" without logins).
	// A playlist's media links are bound to the caller it was made for.
	Caller func(*http.Request) string
	// LinkKey signs the media links of playlists; nil: a random key, so
	// links end when the process does.
	LinkKey []byte
	// LinkTTL is how long a playlist's media links stay valid beyond the
	// length of its range; default 12h.
	LinkTTL time.Duration
	// OnDownload, if set, is told about every response that hands archive
	// video out as a file (files, media, cut, export) once it has ended,
	// with the bytes actually sent; playlists' media links are playback
	// and are not reported.
	OnDownload func(*http.Request, Download)
	// Transcode limits ranges played as H.264 for browsers that cannot
	// play the recorded codec (transcode.mp4).
	Transcode  media.Transcode
	Logger     *slog.Logger
	Registerer prometheus.Registerer // nil: metrics are not registered
}

// Download is one response that handed archive video out.
type Download struct {
	Route    string        // files, media, cut or export
	Object   string        // the file's archive path, or "CAMERA FROM..TO" of an export
	Range    string        // the request's Range header ("" for the whole body)
	Status   int           // the HTTP status answered
	Bytes    int64         // body bytes sent
	Length   int64         // the body length announced (Content-Length); -1 if none
	Header   http.Header   // the response headers (Content-Range, X-Archive-*)
	Duration time.Duration // from the request to the response's end
	Aborted  bool          // the response was cut short (the client left or a read failed)
}

// Handler is the archive's HTTP face. It holds no state between requests
// beyond its options, metrics and the fragment indexes of files it
// scanned (valid while a file keeps its size and time); every request
// reads the index and the files afresh.
type Handler struct {
	o     Options
	m     *metrics
	mux   *http.ServeMux
	key   []byte // signs media links
	scans scanCache

	transcodes atomic.Int32 // ranges being transcoded
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
	if o.LinkTTL == 0 {
		o.LinkTTL = 12 * time.Hour
	}
	if o.LinkTTL < 0 {
		return nil, fmt.Errorf("playback: link TTL %v must be positive", o.LinkTTL)
	}
	key := o.LinkKey
	if key == nil {
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, fmt.Errorf("playback: link key: %w", err)
		}
	}
	if len(key) < 16 {
		return nil, errors.New("playback: link key shorter than 16 bytes")
	}
	o.Transcode = o.Transcode.WithDefaults()
	h := &Handler{o: o, m: newMetrics(o.Registerer), key: key}
	p := o.Prefix
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+p+"/cameras", h.route("cameras", h.cameras))
	mux.HandleFunc("GET "+p+"/segments", h.route("segments", h.segments))
	mux.HandleFunc("GET "+p+"/gaps", h.route("gaps", h.gaps))
	mux.HandleFunc("GET "+p+"/cameras/{camera}/segments", h.route("segments", h.segments))
	mux.HandleFunc("GET "+p+"/cameras/{camera}/gaps", h.route("gaps", h.gaps))
	pathOf := func(r *http.Request) string { return r.PathValue("path") }
	mux.HandleFunc("GET "+p+"/files/{path...}", h.route("files", h.download("files", pathOf, h.file)))
	mux.HandleFunc("GET "+p+"/media/{shift}/{path...}", h.route("media", h.download("media", func(r *http.Request) string {
		return fmt.Sprintf("%s shift %s", r.PathValue("path"), r.PathValue("shift"))
	}, h.media)))
	mux.HandleFunc("GET "+p+"/cut/{shift}/{until}/{path...}", h.route("media", h.download("cut", func(r *http.Request) string {
		return fmt.Sprintf("%s shift %s until %s", r.PathValue("path"), r.PathValue("shift"), r.PathValue("until"))
	}, h.cut)))
	mux.HandleFunc("GET "+p+"/vod/{link}/{path...}", h.route("vod", h.vod))
	mux.HandleFunc("GET "+p+"/play.m3u8", h.route("play", h.play))
	mux.HandleFunc("GET "+p+"/transcode.mp4", h.route("transcode", h.transcode))
	mux.HandleFunc("GET "+p+"/export.mp4", h.route("export", h.download("export", func(r *http.Request) string {
		q := r.URL.Query()
		return q.Get("camera") + " " + q.Get("from") + ".." + q.Get("to")
	}, h.export)))
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

// download reports a response of route to Options.OnDownload when it has
// ended, however it ends (an interrupted export panics).
func (h *Handler) download(route string, object func(*http.Request) string, fn http.HandlerFunc) http.HandlerFunc {
	if h.o.OnDownload == nil {
		return fn
	}
	return func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec, ok := w.(*recorder)
		if !ok {
			rec = &recorder{ResponseWriter: w, code: http.StatusOK}
		}
		done := false
		defer func() {
			d := Download{Route: route, Object: object(r), Range: r.Header.Get("Range"), Status: rec.code, Bytes: rec.n,
				Length: -1, Header: rec.Header().Clone(), Duration: time.Since(start)}
			if n, err := strconv.ParseInt(d.Header.Get("Content-Length"), 10, 64); err == nil {
				d.Length = n
			}
			d.Aborted = !done || (d.Length >= 0 && d.Bytes < d.Length && r.Method != http.MethodHead)
			h.o.OnDownload(r, d)
		}()
		fn(rec, r)
		done = true
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
