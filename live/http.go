package live

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/kuzet/kuzet/media"
)

const (
	viewerCookie = "kuzet_live"
	media1s      = media.ClockRate // one second in ticks
)

// ServeHTTP serves {Prefix}{camera}/index.m3u8 and the init sections,
// segments and parts it lists.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method "+r.Method+" not allowed: live view is read-only", http.StatusMethodNotAllowed)
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, s.o.Prefix)
	// a descendant's camera is keyed "origin/Camera1": the file is the last
	// element, the camera everything before it
	i := strings.LastIndexByte(rest, '/')
	id, name := rest[:max(i, 0)], rest[i+1:]
	if !ok || i < 0 || id == "" || strings.Count(id, "/") > 1 || strings.Contains(id, "..") {
		http.Error(w, fmt.Sprintf("no such live URL %q: the playlist of a camera is %s{camera}/index.m3u8",
			r.URL.Path, s.o.Prefix), http.StatusNotFound)
		return
	}
	c := s.camera(id, false)
	if base, ok := strings.CutSuffix(id, TranscodeSuffix); ok && c == nil {
		if b := s.camera(base, false); b != nil {
			c = s.transcodeView(b)
		}
	}
	if c == nil {
		http.Error(w, fmt.Sprintf("unknown camera %q", id), http.StatusNotFound)
		return
	}
	rw := &countingWriter{ResponseWriter: w, code: http.StatusOK}
	kind, n, err := parseFile(name)
	if err != nil {
		http.Error(rw, fmt.Sprintf("camera %s: %v", id, err), http.StatusNotFound)
	} else if kind == filePlaylist {
		s.servePlaylist(rw, r, c)
	} else {
		s.serveMedia(rw, r, c, kind, n)
	}
	s.met.requests.WithLabelValues(id, kind.String(), strconv.Itoa(rw.code)).Inc()
	s.met.bytes.WithLabelValues(id).Add(float64(rw.n))
}

func (s *Server) servePlaylist(w http.ResponseWriter, r *http.Request, c *camera) {
	d, err := parseDirectives(r.URL.RawQuery)
	if err != nil {
		http.Error(w, fmt.Sprintf("camera %s: %v", c.id, err), http.StatusBadRequest)
		return
	}
	if c.base != nil {
		if codec, _ := c.base.codec.Load().(media.Codec); codec == media.H264 {
			http.Error(w, fmt.Sprintf("camera %s streams H.264: play %s%s/index.m3u8, no transcoding needed", c.base.id, s.o.Prefix, c.base.id),
				http.StatusBadRequest)
			return
		}
		if err := s.ensureTranscoder(c); err != nil {
			w.Header().Set("Retry-After", "30")
			http.Error(w, fmt.Sprintf("camera %s: %v", c.base.id, err), http.StatusServiceUnavailable)
			return
		}
	} else if codec, _ := c.codec.Load().(media.Codec); codec != "" && codec != media.H264 && codec != media.H265 {
		http.Error(w, fmt.Sprintf("camera %s streams %s, which browsers do not play as HLS: play %s%s%s/index.m3u8",
			c.id, codec.Name(), s.o.Prefix, c.id, TranscodeSuffix), http.StatusUnsupportedMediaType)
		return
	}
	m, release := s.acquire(c, true)
	if m == nil {
		http.Error(w, "live view is shutting down", http.StatusServiceUnavailable)
		return
	}
	defer release()
	s.noteViewer(w, r, c)
	ctx := r.Context()

	notStreaming := func() bool {
		if c.base != nil {
			return !m.hasContent() && c.base.sessions.Load() == 0
		}
		return !m.hasContent() && c.sessions.Load() == 0
	}
	err = m.await(ctx, s.o.StartTimeout, func() bool { return m.hasContent() || notStreaming() })
	switch {
	case err == nil && notStreaming():
		http.Error(w, fmt.Sprintf("camera %s is not streaming", c.id), http.StatusServiceUnavailable)
		return
	case errors.Is(err, errTimeout):
		http.Error(w, fmt.Sprintf("camera %s sent no complete segment within %v (is it sending keyframes?)",
			c.id, s.o.StartTimeout), http.StatusServiceUnavailable)
		return
	case err != nil:
		s.waitFailed(w, c, err)
		return
	}

	if d.hasMSN {
		m.mu.Lock()
		err = errStopped
		if !m.closed {
			err = m.checkAdvance(d)
		}
		m.mu.Unlock()
		if errors.Is(err, errStopped) {
			s.waitFailed(w, c, err)
			return
		}
		if err != nil {
			http.Error(w, fmt.Sprintf("camera %s: %v", c.id, err), http.StatusBadRequest)
			return
		}
		if err := m.await(ctx, m.holdTimeout(), func() bool { return m.has(d.msn, d.part, d.hasPart) }); err != nil {
			s.waitFailed(w, c, err)
			return
		}
	}
	m.mu.Lock()
	var b []byte
	if !m.closed {
		b = m.renderPlaylist()
	}
	m.mu.Unlock()
	if b == nil {
		s.waitFailed(w, c, errStopped) // stopped since the wait
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/vnd.apple.mpegurl")
	h.Set("Cache-Control", "no-cache")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	_, _ = w.Write(b)
}

// checkAdvance refuses requests too far past the live edge (RFC 8216bis
// 6.2.5.2); the lock must be held.
func (m *muxer) checkAdvance(d directives) error {
	last := m.lastListed()
	if d.msn > last.msn+2 {
		return fmt.Errorf("_HLS_msn=%d is more than two segments past the last one (%d)", d.msn, last.msn)
	}
	if !d.hasPart {
		return nil
	}
	pt := m.partTarget()
	limit := uint64(3)
	if pt < media1s {
		limit = uint64((3*media1s + pt - 1) / pt)
	}
	var ahead uint64
	switch {
	case d.msn == last.msn && !last.complete && d.part >= uint64(len(last.parts)):
		ahead = d.part + 1 - uint64(len(last.parts))
	case d.msn > last.msn:
		ahead = d.part + 1
	}
	if ahead > limit {
		return fmt.Errorf("_HLS_part=%d of segment %d is %d parts past the last one (limit %d)", d.part, d.msn, ahead, limit)
	}
	return nil
}

func (s *Server) serveMedia(w http.ResponseWriter, r *http.Request, c *camera, kind fileKind, n uint64) {
	m, release := s.acquire(c, false)
	if m == nil {
		http.Error(w, fmt.Sprintf("live view of %s is not running: load %s%s/index.m3u8 first", c.id, s.o.Prefix, c.id),
			http.StatusNotFound)
		return
	}
	defer release()
	var data [][]byte
	var err error
	switch kind {
	case fileInit:
		data, err = m.initData(n)
	case fileSegment:
		data, err = m.segmentData(r.Context(), n)
	case filePart:
		data, err = m.partData(r.Context(), n)
	}
	if err != nil {
		var nf notFound
		if errors.As(err, &nf) {
			http.Error(w, fmt.Sprintf("camera %s: %v", c.id, err), http.StatusNotFound)
			return
		}
		s.waitFailed(w, c, err)
		return
	}
	size := 0
	for _, b := range data {
		size += len(b)
	}
	h := w.Header()
	h.Set("Content-Type", "video/mp4")
	h.Set("Cache-Control", "no-cache")
	h.Set("Content-Length", strconv.Itoa(size))
	if r.Method == http.MethodHead {
		return
	}
	bufs := net.Buffers(data)
	_, _ = bufs.WriteTo(w)
}

// waitFailed answers a request whose wait ended without a result.
func (s *Server) waitFailed(w http.ResponseWriter, c *camera, err error) {
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		// the client left; nobody reads the answer
		w.(*countingWriter).code = 499
	case errors.Is(err, errStopped):
		http.Error(w, fmt.Sprintf("live view of %s stopped", c.id), http.StatusServiceUnavailable)
	case errors.Is(err, errTimeout):
		http.Error(w, fmt.Sprintf("camera %s: no new video in time (is it streaming?)", c.id), http.StatusServiceUnavailable)
	default:
		http.Error(w, fmt.Sprintf("camera %s: %v", c.id, err), http.StatusInternalServerError)
	}
}

// notFound is a request for something that is not (or no longer) there.
type notFound string

func (e notFound) Error() string { return string(e) }

func (m *muxer) initData(v uint64) ([][]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.init != nil && m.init.version == v {
		return [][]byte{m.init.data}, nil
	}
	for _, s := range m.segs {
		if s.init.version == v {
			return [][]byte{s.init.data}, nil
		}
	}
	return nil, notFound(fmt.Sprintf("init section %d is not in the playlist", v))
}

// segmentData returns the parts of segment msn, waiting for it to complete
// when it is the one being written or the next.
func (m *muxer) segmentData(ctx context.Context, msn uint64) ([][]byte, error) {
	var out [][]byte
	var missing error
	err := m.await(ctx, m.holdTimeout(), func() bool {
		s := m.segment(msn)
		switch {
		case s != nil && s.complete:
			out = make([][]byte, len(s.parts))
			for i, p := range s.parts {
				out[i] = p.data
			}
			return true
		case s == nil && msn != m.cnt.msn:
			missing = notFound(fmt.Sprintf("segment %d is not in the playlist", msn))
			return true
		}
		return false
	})
	if err == nil && missing != nil {
		return nil, missing
	}
	return out, err
}

// partData returns part id, waiting for it when it is the next one or the
// one after (the preload hint of a slightly stale playlist).
func (m *muxer) partData(ctx context.Context, id uint64) ([][]byte, error) {
	var out [][]byte
	var missing error
	err := m.await(ctx, m.holdTimeout(), func() bool {
		switch {
		case id >= m.cnt.part+2:
			missing = notFound(fmt.Sprintf("part %d does not exist yet (next is %d)", id, m.cnt.part))
			return true
		case id >= m.cnt.part:
			return false
		}
		p := m.findPart(id)
		if p == nil {
			missing = notFound(fmt.Sprintf("part %d is no longer available", id))
			return true
		}
		out = [][]byte{p.data}
		return true
	})
	if err == nil && missing != nil {
		return nil, missing
	}
	return out, err
}

// noteViewer counts the player behind r: by a cookie when it keeps one
// (browsers), by its connection otherwise.
func (s *Server) noteViewer(w http.ResponseWriter, r *http.Request, c *camera) {
	key := "addr:" + r.RemoteAddr
	if ck, err := r.Cookie(viewerCookie); err == nil && ck.Value != "" && len(ck.Value) <= 64 {
		key = "cookie:" + ck.Value
	} else {
		var b [8]byte
		_, _ = rand.Read(b[:])
		http.SetCookie(w, &http.Cookie{Name: viewerCookie, Value: hex.EncodeToString(b[:]), Path: s.o.Prefix,
			HttpOnly: true, SameSite: http.SameSiteLaxMode})
	}
	c.mu.Lock()
	c.viewers[key] = time.Now()
	c.mu.Unlock()
}

// countingWriter records the status and body size for the metrics.
type countingWriter struct {
	http.ResponseWriter
	code int
	n    int
}

func (w *countingWriter) WriteHeader(code int) {
	w.code = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *countingWriter) Write(b []byte) (int, error) {
	n, err := w.ResponseWriter.Write(b)
	w.n += n
	return n, err
}
