package plugin

import (
	"context"
	"encoding/json"
	"fmt"
	"image"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kuzet/kuzet/decode"
	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/internal/httpjson"
)

// FrameHeader precedes each frame's pixels on a /v1/frames stream.
type FrameHeader struct {
	Camera  string    `json:"camera"`
	Time    time.Time `json:"time"`
	Width   int       `json:"width"`
	Height  int       `json:"height"`
	Format  string    `json:"format"`
	Seq     uint64    `json:"seq"`
	Dropped uint64    `json:"dropped"`
	Bytes   int       `json:"bytes"`
}

// frames streams a granted camera's decoded frames for as long as the
// plugin reads. They come from the camera's shared decoder (decoders.go),
// fed from its running stream like a live viewer; between decoder and
// socket sits a one-frame mailbox, so a plugin that does not read only
// loses frames.
func (r *runner) frames(w http.ResponseWriter, req *http.Request) {
	cam := req.URL.Query().Get("camera")
	if !r.spec.grants(cam) {
		httpjson.Error(w, http.StatusForbidden, "camera: "+cam+" is not granted to this plugin")
		return
	}
	release, ok := r.hold(w, "frames", &r.frameStreams, r.spec.maxFrameStreams())
	if !ok {
		return
	}
	defer release()
	box := &mailbox{sig: make(chan struct{}, 1)}
	var unread atomic.Int64 // frames dropped since the last one sent
	_, _, gone, stop, err := r.m.dec.follow(cam, r.spec.Frames, box, func() {
		r.m.o.Metrics.FramesDropped.WithLabelValues(r.spec.Name).Inc()
		r.update(func(s *Status) { s.FramesDropped++ })
		unread.Add(1)
	})
	if err != nil {
		httpjson.Error(w, http.StatusServiceUnavailable, "camera: "+cam+" is not streaming now: "+err.Error())
		return
	}
	defer stop()
	ctx := req.Context()
	var lastSent atomic.Int64 // unix nanoseconds
	lastSent.Store(r.m.o.Now().UnixNano())
	go r.watchStall(ctx, cam, &lastSent, &unread)

	w.Header().Set("Content-Type", "application/x-kuzet-frames")
	w.WriteHeader(http.StatusOK)
	fl, _ := w.(http.Flusher)
	if fl != nil {
		fl.Flush()
	}
	var seq uint64
	var pix []byte
	for {
		select {
		case <-ctx.Done():
			return
		case <-gone:
			return // the camera's stream ended: the plugin asks again
		case <-box.sig:
		}
		f, dropped, ok := box.take()
		if !ok {
			continue
		}
		pix = pixels(pix[:0], f.Img, r.spec.Frames.Format)
		seq++
		at := f.Time
		if at.IsZero() {
			at = r.m.o.Now()
		}
		b := f.Img.Bounds()
		h, _ := json.Marshal(FrameHeader{Camera: cam, Time: at.UTC(), Width: b.Dx(), Height: b.Dy(),
			Format: r.spec.Frames.Format, Seq: seq, Dropped: dropped, Bytes: len(pix)})
		if _, err := w.Write(append(h, '\n')); err != nil {
			return
		}
		if _, err := w.Write(pix); err != nil {
			return
		}
		if fl != nil {
			fl.Flush()
		}
		r.m.o.Metrics.FramesSent.WithLabelValues(r.spec.Name).Inc()
		r.update(func(s *Status) { s.FramesSent++ })
		lastSent.Store(r.m.o.Now().UnixNano())
		unread.Store(0)
	}
}

// watchStall raises plugin_stalled when a plugin has held a frame stream
// open for Stall without reading one of the frames offered (a slow one,
// which takes some, only loses the rest), and clears it once it reads.
func (r *runner) watchStall(ctx context.Context, cam string, lastSent, unread *atomic.Int64) {
	tick := time.NewTicker(max(r.m.o.Stall/4, 10*time.Millisecond))
	defer tick.Stop()
	raised := false
	defer func() {
		if raised {
			r.stall(cam, false, "its frame stream of "+cam+" ended")
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		idle := r.m.o.Now().Sub(time.Unix(0, lastSent.Load()))
		switch {
		case !raised && idle >= r.m.o.Stall && unread.Load() > 0:
			raised = true
			r.stall(cam, true, fmt.Sprintf("plugin %s has not read a frame of %s for %v (%d dropped meanwhile); recording is not affected",
				r.spec.Name, cam, idle.Round(time.Second), unread.Load()))
		case raised && idle < r.m.o.Stall:
			raised = false
			r.stall(cam, false, "plugin "+r.spec.Name+" reads the frames of "+cam+" again")
		}
	}
}

// stall raises or clears plugin_stalled:<name>:<camera>.
func (r *runner) stall(cam string, raise bool, msg string) {
	key := AlarmStalled + ":" + r.spec.Name + ":" + cam
	if raise {
		r.update(func(s *Status) { s.LastError = "stalled: " + msg })
		r.m.emit(event.New(event.KindAlarmRaised, cam, event.SeverityMinor, event.Alarm{Key: key, Type: AlarmStalled, Message: msg}))
		return
	}
	r.m.emit(event.New(event.KindAlarmCleared, cam, event.SeverityInfo, event.Alarm{Key: key, Type: AlarmStalled, Message: msg}))
}

// mailbox holds the newest frame not yet sent.
type mailbox struct {
	mu      sync.Mutex
	f       *decode.Frame
	dropped uint64
	sig     chan struct{}
}

// put leaves f for the writer; replaced reports that an unsent frame was
// dropped for it.
func (m *mailbox) put(f decode.Frame) (replaced bool) {
	m.mu.Lock()
	replaced = m.f != nil
	if replaced {
		m.dropped++
	}
	m.f = &f
	m.mu.Unlock()
	select {
	case m.sig <- struct{}{}:
	default:
	}
	return replaced
}

func (m *mailbox) take() (decode.Frame, uint64, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.f == nil {
		return decode.Frame{}, m.dropped, false
	}
	f := *m.f
	m.f = nil
	return f, m.dropped, true
}

// fit scales w x h to fit within mw x mh, keeping its shape; never up,
// and even for the scaler.
func fit(w, h, mw, mh int) (int, int) {
	s := min(1, float64(mw)/float64(w), float64(mh)/float64(h))
	ow, oh := int(float64(w)*s)&^1, int(float64(h)*s)&^1
	return max(ow, 2), max(oh, 2)
}

// pixels turns a frame into the wire format: 8-bit luma, or R, G, B.
func pixels(dst []byte, img *image.RGBA, format string) []byte {
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		row := img.Pix[(y-b.Min.Y)*img.Stride:]
		for x := 0; x < b.Dx(); x++ {
			p := row[4*x : 4*x+3]
			if format == FormatRGB24 {
				dst = append(dst, p[0], p[1], p[2])
				continue
			}
			// BT.601 luma, as image/color's gray
			dst = append(dst, uint8((19595*uint32(p[0])+38470*uint32(p[1])+7471*uint32(p[2])+1<<15)>>16))
		}
	}
	return dst
}
