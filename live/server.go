// Package live serves every camera as low-latency HLS (LL-HLS, fMP4 parts)
// at /live/{camera}/index.m3u8, fed by the node's own camera sessions. A
// camera's muxer starts on the first playlist request and stops after an
// idle period; until then its access units are dropped at once.
//
// It owns the muxers and their HTTP serving. It is fed as a media.Consumer
// and imports no ingest (site) and no node wiring (agent).
package live

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kuzet/kuzet/media"
)

// viewerWindow is how recently a player must have reloaded the playlist to
// count as a viewer.
const viewerWindow = 10 * time.Second

// Server is the live view of every camera: a site consumer and an
// http.Handler.
type Server struct {
	o   Options
	log *slog.Logger
	met *camMetrics

	sessions atomic.Uint64 // session numbers, unique within the server

	mu      sync.Mutex
	cams    map[string]*camera
	stopped bool

	transcodes atomic.Int32 // running transcoders, at most o.Transcode.Max
}

// camera is one camera's live state; its muxer exists only while watched.
type camera struct {
	id       string
	mux      atomic.Pointer[muxer]
	sessions atomic.Int32 // open sessions (sinks)
	lastReq  atomic.Int64 // unix ns of the last request's end

	codec atomic.Value               // media.Codec of the latest session
	tc    atomic.Pointer[transcoder] // fed this camera's units while its "~h264" view is watched
	base  *camera                    // of a "~h264" view: the camera it transcodes

	mu       sync.Mutex
	inflight int      // requests holding the muxer
	cnt      counters // carried from one muxer to the next
	viewers  map[string]time.Time
	trans    *transcoder // of a "~h264" view: running while its muxer does
}

// New checks the options; Run must run for idle muxers to stop.
func New(o Options) (*Server, error) {
	if err := o.setDefaults(); err != nil {
		return nil, err
	}
	met, err := newMetrics(o.Registerer)
	if err != nil {
		return nil, err
	}
	s := &Server{o: o, log: o.Logger, met: met, cams: map[string]*camera{}}
	for _, id := range o.Cameras {
		s.camera(id, true)
	}
	return s, nil
}

// Consumer is what the site feeds: one sink per camera session.
func (s *Server) Consumer() media.Consumer {
	return media.Consumer{Name: "live", Queue: s.o.Queue, Open: s.open}
}

// open never fails: an error would stop the session, and with it the
// recording, for the sake of the live view.
func (s *Server) open(camera string, track media.Track, _ string) (media.Sink, error) {
	if !track.Codec.Known() {
		s.log.Warn("no live view: codec not supported", "camera", camera, "codec", track.Codec)
		return nil, nil
	}
	c := s.camera(camera, true)
	c.codec.Store(track.Codec)
	c.sessions.Add(1)
	return &sink{cam: c, id: s.sessions.Add(1), track: track.Clone()}, nil
}

// camera returns the camera's state, creating it when create is set.
func (s *Server) camera(id string, create bool) *camera {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.cams[id]
	if c == nil && create {
		c = &camera{id: id, viewers: map[string]time.Time{}}
		s.cams[id] = c
		s.met.muxers.WithLabelValues(id).Set(0)
		s.met.viewers.WithLabelValues(id).Set(0)
	}
	return c
}

// Run stops idle muxers until ctx ends, then stops them all and refuses
// new ones.
func (s *Server) Run(ctx context.Context) {
	period := min(s.o.IdleStop/4, time.Second)
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			s.mu.Lock()
			s.stopped = true
			s.mu.Unlock()
			for _, c := range s.cameras() {
				s.stopMuxer(c)
			}
			return
		case now := <-t.C:
			for _, c := range s.cameras() {
				s.sweep(c, now)
			}
		}
	}
}

func (s *Server) cameras() []*camera {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*camera, 0, len(s.cams))
	for _, c := range s.cams {
		out = append(out, c)
	}
	return out
}

// sweep stops c's muxer when nobody asked for anything for IdleStop and
// updates its viewer count.
func (s *Server) sweep(c *camera, now time.Time) {
	c.mu.Lock()
	for k, seen := range c.viewers {
		if now.Sub(seen) > viewerWindow {
			delete(c.viewers, k)
		}
	}
	n := len(c.viewers)
	idle := c.inflight == 0 && now.Sub(time.Unix(0, c.lastReq.Load())) > s.o.IdleStop
	c.mu.Unlock()
	s.met.viewers.WithLabelValues(c.id).Set(float64(n))
	if idle {
		s.stopMuxer(c)
	}
}

func (s *Server) stopMuxer(c *camera) {
	c.mu.Lock()
	defer c.mu.Unlock()
	// idleness is judged again under the lock: a request (or a transcoder
	// started for one) since the sweep looked keeps the muxer
	if !s.isStopped() && (c.inflight > 0 || time.Since(time.Unix(0, c.lastReq.Load())) <= s.o.IdleStop) {
		return
	}
	if c.trans != nil {
		c.trans.stop()
		c.trans = nil
		s.transcodes.Add(-1)
	}
	if m := c.mux.Swap(nil); m != nil {
		c.cnt = m.stop()
		s.met.muxers.WithLabelValues(c.id).Set(0)
		s.log.Info("live muxer stopped", "camera", c.id)
	}
}

func (s *Server) isStopped() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stopped
}

// Transcoding is how many cameras the server transcodes now.
func (s *Server) Transcoding() int { return int(s.transcodes.Load()) }

// transcodeView returns the "~h264" view of base, creating it.
func (s *Server) transcodeView(base *camera) *camera {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := base.id + TranscodeSuffix
	c := s.cams[id]
	if c == nil {
		c = &camera{id: id, viewers: map[string]time.Time{}, base: base}
		s.cams[id] = c
		s.met.muxers.WithLabelValues(id).Set(0)
		s.met.viewers.WithLabelValues(id).Set(0)
	}
	return c
}

// errTranscodeLimit is a view refused because the node transcodes as
// many cameras as it may.
var errTranscodeLimit = errors.New("transcoding limit reached")

// ensureTranscoder starts transcoding for the view c unless it runs or
// the node's limit is reached.
func (s *Server) ensureTranscoder(c *camera) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.trans != nil {
		return nil
	}
	c.lastReq.Store(time.Now().UnixNano()) // not idle while its first request goes on
	if s.o.Transcode.Max < 0 {
		return fmt.Errorf("%w: live transcoding is off on this node (live.transcode.max: -1)", errTranscodeLimit)
	}
	if s.transcodes.Add(1) > int32(s.o.Transcode.Max) {
		s.transcodes.Add(-1)
		return fmt.Errorf("%w: this node transcodes %d cameras at most (live.transcode.max)", errTranscodeLimit, s.o.Transcode.Max)
	}
	c.trans = s.startTranscoder(c.base, c)
	return nil
}

// acquire returns c's muxer for one request, starting it when start is
// set; release must be called when the request ends.
func (s *Server) acquire(c *camera, start bool) (*muxer, func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.mux.Load()
	if m == nil {
		// checked under c.mu, so that Run's final stop cannot miss a muxer
		if !start || s.isStopped() {
			return nil, nil
		}
		m = newMuxer(c.id, &s.o, c.cnt, s.met, s.log.With("camera", c.id))
		c.mux.Store(m)
		s.met.muxers.WithLabelValues(c.id).Set(1)
		s.log.Info("live muxer started", "camera", c.id)
	}
	c.inflight++
	c.lastReq.Store(time.Now().UnixNano())
	return m, func() {
		c.mu.Lock()
		c.inflight--
		c.lastReq.Store(time.Now().UnixNano())
		c.mu.Unlock()
	}
}

// sink feeds one camera session to the camera's muxer, when there is one.
type sink struct {
	cam   *camera
	id    uint64
	track media.Track // kept current, so that a muxer starting mid-session has the parameters
}

func (k *sink) WriteUnit(u *media.Unit) error {
	k.track.UpdateParams(u)
	if tc := k.cam.tc.Load(); tc != nil {
		tc.push(&k.track, u)
	}
	m := k.cam.mux.Load()
	if m == nil {
		return nil
	}
	if u = u.WithoutEmpty(); u == nil {
		return nil
	}
	return m.write(k.id, &k.track, u)
}

func (k *sink) Close() error {
	k.cam.sessions.Add(-1)
	if m := k.cam.mux.Load(); m != nil {
		m.endSession(k.id)
	}
	return nil
}
