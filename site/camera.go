package site

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kuzet/kuzet/config"
	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/media"
)

// State of a camera session.
type State string

// States.
const (
	StateConnecting State = "connecting"
	StateStreaming  State = "streaming"
	StateFailed     State = "failed"
	StateStopped    State = "stopped"
	StateDisabled   State = "disabled"
)

// Status is what an operator sees of one camera.
type Status struct {
	ID           string    `json:"id"`
	State        State     `json:"state"`
	Reason       string    `json:"reason,omitempty"` // why it failed
	Since        time.Time `json:"since"`
	Codec        string    `json:"codec,omitempty"`
	Width        int       `json:"width,omitempty"`
	Height       int       `json:"height,omitempty"`
	FPS          float64   `json:"fps"`
	BitrateKbps  float64   `json:"bitrate_kbps"`
	Frames       uint64    `json:"frames"`
	Dropped      uint64    `json:"frames_dropped"`
	Reconnects   uint64    `json:"reconnects"`
	LastMedia    time.Time `json:"last_media,omitzero"`
	Offline      bool      `json:"offline"` // silent longer than offline_after
	NextAttempt  time.Time `json:"next_attempt,omitzero"`
	Transport    string    `json:"transport"`
	OfflineAfter string    `json:"offline_after"`
	// Sub is the session of the sub-stream recorded beside an
	// event-recorded main stream (record.sub).
	Sub *Status `json:"sub,omitempty"`
}

// Camera runs the sessions of one configured camera.
type Camera struct {
	cfg       config.Camera
	consumers []media.Consumer
	events    event.Emitter
	log       *slog.Logger
	m         *metrics
	backoff   [2]time.Duration

	lastPacket atomic.Int64 // unix nanoseconds
	frames     atomic.Uint64
	bytes      atomic.Uint64
	dropCount  atomic.Uint64
	packets    atomic.Uint64 // RTP packets received
	lost       atomic.Uint64 // RTP packets lost (sequence gaps)
	sessions   atomic.Uint64 // sessions started

	q             quality // the watch goroutine's
	qualityWindow time.Duration

	mu         sync.Mutex
	st         Status
	offline    bool
	behindSent bool
	codecAlarm string
	rateFrames uint64
	rateBytes  uint64
	rateAt     time.Time
}

func newCamera(cfg config.Camera, o *Options, m *metrics) *Camera {
	c := &Camera{
		cfg: cfg, consumers: consumersOf(cfg.ID, o.Consumers), events: o.Events, m: m,
		log:           o.Logger.With("camera", cfg.ID),
		backoff:       [2]time.Duration{o.BackoffMin, o.BackoffMax},
		qualityWindow: o.QualityWindow,
	}
	if c.qualityWindow <= 0 {
		c.qualityWindow = defaultQualityWindow
	}
	c.st = Status{ID: cfg.ID, State: StateConnecting, Since: time.Now(), Transport: cfg.Transport,
		OfflineAfter: cfg.OfflineAfter.Std().String()}
	if cfg.Disabled {
		c.st.State = StateDisabled
	}
	return c
}

// consumersOf is what a session feeds: a recorded sub-stream only the
// consumers that take sub-streams (the recorder), a camera all of them.
func consumersOf(id string, all []media.Consumer) []media.Consumer {
	if !isSub(id) {
		return all
	}
	var out []media.Consumer
	for _, c := range all {
		if c.SubStreams {
			out = append(out, c)
		}
	}
	return out
}

// run keeps a session up with capped exponential backoff until ctx ends.
func (c *Camera) run(ctx context.Context) {
	if c.cfg.Disabled {
		return
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		c.watch(ctx)
	}()
	defer wg.Wait()

	reason := "node was not recording (restart or outage)"
	backoff := c.backoff[0]
	for {
		c.setState(StateConnecting, "")
		flowed, err := c.session(ctx, reason)
		if ctx.Err() != nil {
			c.setState(StateStopped, "")
			return
		}
		c.setState(StateFailed, err.Error())
		c.log.Warn("camera session failed", "err", err, "retry_in", backoff)
		c.m.reconnects.WithLabelValues(c.cfg.ID).Inc()
		var uc *UnsupportedCodecError
		if errors.As(err, &uc) {
			c.raiseOnce(event.AlarmUnsupportedCodec, event.SeverityMedium, err.Error())
		}
		reason = "camera stream lost: " + err.Error()
		if flowed > 30*time.Second {
			backoff = c.backoff[0]
		}
		// jitter spreads reconnects of many cameras behind one failed switch
		wait := backoff/2 + rand.N(backoff/2+1)
		c.mu.Lock()
		c.st.Reconnects++
		c.st.NextAttempt = time.Now().Add(wait)
		c.mu.Unlock()
		select {
		case <-ctx.Done():
			c.setState(StateStopped, "")
			return
		case <-time.After(wait):
		}
		backoff = min(backoff*2, c.backoff[1])
	}
}

// watch raises camera-offline after offline_after of silence and clears it
// when media flows again; it also refreshes the rate figures.
func (c *Camera) watch(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	start := time.Now()
	silence := c.cfg.OfflineAfter.Std()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			c.updateRates(now)
			c.judgeQuality(now)
			last := time.Unix(0, c.lastPacket.Load())
			if c.lastPacket.Load() == 0 {
				last = start
			}
			c.mu.Lock()
			streaming := c.st.State == StateStreaming
			reason := c.st.Reason
			wasOffline := c.offline
			offline := now.Sub(last) > silence && !streaming
			c.offline, c.st.Offline = offline, offline
			c.mu.Unlock()
			if offline && !wasOffline {
				msg := fmt.Sprintf("camera %s offline: no video for more than %v", c.cfg.ID, silence)
				if reason != "" {
					msg += " (" + reason + ")"
				}
				c.alarm(event.KindAlarmRaised, event.AlarmCameraOffline, event.SeverityMedium, msg)
			}
		}
	}
}

func (c *Camera) updateRates(now time.Time) {
	frames, bytes := c.frames.Load(), c.bytes.Load()
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.rateAt.IsZero() {
		dt := now.Sub(c.rateAt).Seconds()
		if dt > 0 {
			fps := float64(frames-c.rateFrames) / dt
			kbps := float64(bytes-c.rateBytes) * 8 / 1000 / dt
			// smooth over a few seconds so the figure does not flicker;
			// the first reading of a session is taken as is
			if c.st.FPS == 0 || fps == 0 {
				c.st.FPS, c.st.BitrateKbps = fps, kbps
			} else {
				c.st.FPS = 0.6*c.st.FPS + 0.4*fps
				c.st.BitrateKbps = 0.6*c.st.BitrateKbps + 0.4*kbps
			}
			c.m.fps.WithLabelValues(c.cfg.ID).Set(c.st.FPS)
			c.m.bitrate.WithLabelValues(c.cfg.ID).Set(c.st.BitrateKbps * 1000)
		}
	}
	c.rateFrames, c.rateBytes, c.rateAt = frames, bytes, now
}

// streaming marks the first access unit of a session.
func (c *Camera) streaming(tr media.Track) {
	w, h, _ := tr.Resolution()
	c.mu.Lock()
	wasOffline := c.offline
	c.offline = false
	c.st.Offline = false
	c.st.Codec, c.st.Width, c.st.Height = string(tr.Codec), w, h
	c.behindSent = false
	c.codecAlarm = ""
	c.mu.Unlock()
	c.setState(StateStreaming, "")
	c.log.Info("camera streaming", "codec", tr.Codec, "width", w, "height", h)
	if wasOffline {
		c.alarm(event.KindAlarmCleared, event.AlarmCameraOffline, event.SeverityInfo,
			fmt.Sprintf("camera %s is streaming again", c.cfg.ID))
	}
}

// dropped is called from the ingest goroutine when a consumer's queue is full.
func (c *Camera) dropped(o *outlet) {
	c.dropCount.Add(1)
	c.m.framesDropped.WithLabelValues(c.cfg.ID, o.c.Name).Inc()
	if !o.c.Critical || o.behind.Swap(true) {
		return
	}
	c.mu.Lock()
	send := !c.behindSent
	c.behindSent = true
	c.mu.Unlock()
	if send {
		c.alarm(event.KindAlarmRaised, event.AlarmRecorderBehind, event.SeverityGrave,
			fmt.Sprintf("%s of camera %s is falling behind: its queue of %d units is full and video is being lost",
				o.c.Name, c.cfg.ID, o.c.Queue))
	}
}

func (c *Camera) raiseOnce(typ string, sev event.Severity, msg string) {
	c.mu.Lock()
	dup := c.codecAlarm == msg
	c.codecAlarm = msg
	c.mu.Unlock()
	if !dup {
		c.alarm(event.KindAlarmRaised, typ, sev, msg)
	}
}

func (c *Camera) alarm(kind, typ string, sev event.Severity, msg string) {
	if c.events == nil {
		return
	}
	e := event.New(kind, c.cfg.ID, sev, event.Alarm{Key: typ + ":" + c.cfg.ID, Type: typ, Message: msg})
	if _, err := c.events.Append(e); err != nil {
		c.log.Error("store alarm", "type", typ, "err", err)
	}
}

func (c *Camera) setState(s State, reason string) {
	c.mu.Lock()
	if s == StateConnecting && reason == "" && c.st.State == StateFailed {
		reason = c.st.Reason // a retry keeps showing why the last attempt failed
	}
	changed := c.st.State != s || c.st.Reason != reason
	if changed {
		c.st.State, c.st.Reason, c.st.Since = s, reason, time.Now()
	}
	codec := c.st.Codec
	if s == StateConnecting || s == StateStreaming {
		c.st.NextAttempt = time.Time{}
	}
	c.mu.Unlock()
	up := 0.0
	if s == StateStreaming {
		up = 1
	}
	c.m.up.WithLabelValues(c.cfg.ID).Set(up)
	if changed && c.events != nil && s != StateConnecting {
		payload := map[string]string{"state": string(s)}
		if reason != "" {
			payload["reason"] = reason
		}
		if c.cfg.SubPath != "" {
			payload["sub"] = "true" // ancestors' consoles play it in small tiles
		}
		if s == StateStreaming && codec != "" {
			payload["codec"] = codec // ancestors' consoles choose native or transcoded play
		}
		if _, err := c.events.Append(event.New(event.KindCameraState, c.cfg.ID, event.SeverityInfo, payload)); err != nil {
			c.log.Error("store camera state", "err", err)
		}
	}
}

// Status returns a snapshot.
func (c *Camera) Status() Status {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.st
	s.Frames = c.frames.Load()
	s.Dropped = c.dropCount.Load()
	if lp := c.lastPacket.Load(); lp != 0 {
		s.LastMedia = time.Unix(0, lp).UTC()
	}
	return s
}
