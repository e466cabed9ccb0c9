package record

import (
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Triggers holds each camera's recording policy and until when its main
// stream must be recorded. It outlives sessions: a trigger fired while the
// camera reconnects still holds when it is back.
type Triggers struct {
	log *slog.Logger
	loc *time.Location
	met *metrics

	mu     sync.Mutex
	policy map[string]Policy
	until  map[string]time.Time
}

// NewTriggers starts with no camera; loc is the time zone of schedules.
func NewTriggers(loc *time.Location, log *slog.Logger, reg prometheus.Registerer) *Triggers {
	if loc == nil {
		loc = time.UTC
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Triggers{log: log, loc: loc, met: newMetrics(reg), policy: map[string]Policy{}, until: map[string]time.Time{}}
}

// SetPolicy sets a camera's policy (a catalogue change takes effect at
// its next unit).
func (t *Triggers) SetPolicy(camera string, p Policy) {
	if p.Pre <= 0 {
		p.Pre = DefaultPre
	}
	if p.Post <= 0 {
		p.Post = DefaultPost
	}
	if p.On == nil {
		p.On = Causes
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.policy[camera] = p
}

// Policy returns a camera's policy; a camera never set records continuously.
func (t *Triggers) Policy(camera string) Policy {
	t.mu.Lock()
	defer t.mu.Unlock()
	p, ok := t.policy[camera]
	if !ok {
		return Policy{Mode: ModeContinuous}
	}
	return p
}

// Fire records that cause happened on camera at at: its main stream is
// recorded from its pre-event seconds to the post-event time after at.
// It reports false when the camera does not record on that cause.
func (t *Triggers) Fire(camera, cause string, at time.Time) bool {
	t.mu.Lock()
	p, ok := t.policy[camera]
	take := ok && !p.Continuous() && p.Takes(cause)
	if take {
		if end := at.Add(p.Post); end.After(t.until[camera]) {
			t.until[camera] = end
		}
	}
	t.mu.Unlock()
	if take {
		t.met.triggers.WithLabelValues(camera, cause).Inc()
	}
	return take
}

// active reports whether camera must be recorded at now, and why.
func (t *Triggers) active(camera string, now time.Time) (bool, string) {
	t.mu.Lock()
	p, until := t.policy[camera], t.until[camera]
	t.mu.Unlock()
	if p.Continuous() {
		return true, ModeContinuous
	}
	if now.Before(until) {
		return true, "event"
	}
	local := now.In(t.loc)
	for _, w := range p.Schedule {
		if w.Contains(local) {
			return true, CauseSchedule
		}
	}
	return false, ""
}

type metrics struct {
	triggers  *prometheus.CounterVec
	recording *prometheus.GaugeVec
	buffered  *prometheus.GaugeVec
	motion    *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		triggers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kuzet_record_triggers_total", Help: "Events that asked for a camera's main stream to be recorded, by cause."},
			[]string{"camera", "cause"}),
		recording: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "kuzet_record_recording", Help: "1 while the camera's main stream is being recorded (always, for a continuous camera)."},
			[]string{"camera"}),
		buffered: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "kuzet_record_buffer_bytes", Help: "Bytes held in the camera's pre-event buffer."}, []string{"camera"}),
		motion: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kuzet_record_motion_frames_total", Help: "Frames judged for motion, by result (still, motion)."},
			[]string{"camera", "result"}),
	}
	if reg != nil {
		m.triggers = register(reg, m.triggers)
		m.recording = register(reg, m.recording)
		m.buffered = register(reg, m.buffered)
		m.motion = register(reg, m.motion)
	}
	return m
}

// register registers c, or returns the collector registered before it
// (two nodes in one process, in tests, share a registry).
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		if are, ok := err.(prometheus.AlreadyRegisteredError); ok {
			if old, ok := are.ExistingCollector.(C); ok {
				return old
			}
		}
	}
	return c
}
