package whep

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	sessions prometheus.Gauge
	frames   prometheus.Counter
	dropped  prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		sessions: prometheus.NewGauge(prometheus.GaugeOpts{Name: "kuzet_webrtc_sessions", Help: "Open WebRTC live sessions."}),
		frames:   prometheus.NewCounter(prometheus.CounterOpts{Name: "kuzet_webrtc_frames_sent_total", Help: "Frames sent to WebRTC players."}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{Name: "kuzet_webrtc_frames_dropped_total",
			Help: "Frames a WebRTC player's queue had no room for (the player skips to the next keyframe)."}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.sessions, m.frames, m.dropped} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("register webrtc metrics: %w", err)
			}
		}
	}
	return m, nil
}
