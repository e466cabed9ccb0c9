package record

import (
	"fmt"
	"time"

	"github.com/kuzet/kuzet/media"
)

// Recorder is what a Gate feeds: the archive's recorder.
type Recorder interface {
	media.Sink
	// Suspend closes the current file; the next keyframe written starts
	// a new one, and the hole between is a gap giving reason.
	Suspend(reason string) error
}

// maxBuffer bounds a pre-event buffer whatever the stream's bitrate.
const maxBuffer = 64 << 20

// Gate is one camera session's recording sink: it passes the stream to
// the recorder while the camera must be recorded and keeps the last
// pre-event seconds otherwise. One goroutine drives it (the session's).
type Gate struct {
	rec    Recorder
	camera string
	codec  media.Codec
	t      *Triggers

	buf       []*media.Unit // from a keyframe, the units not recorded yet
	keys      []int         // indexes of buf's keyframes
	bytes     int
	recording bool
	last      time.Time // the newest unit written while recording
}

// Gate wraps the recorder of one session of camera.
func (t *Triggers) Gate(camera string, codec media.Codec, rec Recorder) *Gate {
	return &Gate{rec: rec, camera: camera, codec: codec, t: t}
}

// WriteUnit records u, holds it, or drops it.
func (g *Gate) WriteUnit(u *media.Unit) error {
	on, why := g.t.active(g.camera, u.Time)
	if on {
		if !g.recording {
			g.recording = true
			g.t.met.recording.WithLabelValues(g.camera).Set(1)
			if why != ModeContinuous {
				held := time.Duration(0)
				if len(g.buf) > 0 {
					held = u.Time.Sub(g.buf[0].Time)
				}
				g.t.log.Info("recording", "camera", g.camera, "cause", why, "pre_event", held.Round(100*time.Millisecond))
			}
			if err := g.flush(); err != nil {
				return err
			}
		}
		g.last = u.Time
		return g.rec.WriteUnit(u)
	}
	if g.recording {
		g.recording = false
		g.t.met.recording.WithLabelValues(g.camera).Set(0)
		g.t.log.Info("recording suspended", "camera", g.camera)
		if err := g.rec.Suspend(fmt.Sprintf("event recording: nothing to record after %s",
			g.last.In(g.t.loc).Format("15:04:05"))); err != nil {
			return err
		}
	}
	g.hold(u)
	return nil
}

// hold keeps u in the pre-event buffer: whole GOPs, the oldest dropped once
// the next one starts at least pre before u.
func (g *Gate) hold(u *media.Unit) {
	key := u.RandomAccess(g.codec)
	if len(g.buf) == 0 && !key {
		return // a buffer starts at a keyframe
	}
	if key {
		g.keys = append(g.keys, len(g.buf))
	}
	g.buf = append(g.buf, u)
	g.bytes += u.Size
	pre := min(g.t.Policy(g.camera).Pre, MaxPre)
	for len(g.keys) >= 2 && (!g.buf[g.keys[1]].Time.After(u.Time.Add(-pre)) || g.bytes > maxBuffer) {
		g.drop(g.keys[1])
	}
	g.t.met.buffered.WithLabelValues(g.camera).Set(float64(g.bytes))
}

// drop removes buf[:n].
func (g *Gate) drop(n int) {
	for _, u := range g.buf[:n] {
		g.bytes -= u.Size
	}
	g.buf = append(g.buf[:0:0], g.buf[n:]...)
	keys := g.keys[:0]
	for _, k := range g.keys {
		if k >= n {
			keys = append(keys, k-n)
		}
	}
	g.keys = keys
}

// flush hands the buffer to the recorder.
func (g *Gate) flush() error {
	buf := g.buf
	g.buf, g.keys, g.bytes = nil, nil, 0
	g.t.met.buffered.WithLabelValues(g.camera).Set(0)
	for _, u := range buf {
		if err := g.rec.WriteUnit(u); err != nil {
			return err
		}
	}
	return nil
}

// Close closes the recorder; what the buffer holds was never to be kept.
func (g *Gate) Close() error {
	g.buf, g.keys = nil, nil
	g.t.met.recording.WithLabelValues(g.camera).Set(0)
	g.t.met.buffered.WithLabelValues(g.camera).Set(0)
	return g.rec.Close()
}
