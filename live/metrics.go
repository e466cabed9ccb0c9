package live

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// camMetrics are the live view's Prometheus metrics, labelled by camera.
type camMetrics struct {
	muxers   *prometheus.GaugeVec
	viewers  *prometheus.GaugeVec
	requests *prometheus.CounterVec
	bytes    *prometheus.CounterVec
	parts    *prometheus.CounterVec
	skipped  *prometheus.CounterVec
	jumps    *prometheus.CounterVec

	transcodes      prometheus.Gauge
	transcodeFrames *prometheus.CounterVec
	transcodeCPU    *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*camMetrics, error) {
	cam := []string{"camera"}
	m := &camMetrics{
		muxers: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "kuzet_live_muxers", Help: "1 while the camera's live HLS muxer runs (it starts on the first request and stops when idle)."}, cam),
		viewers: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "kuzet_live_viewers", Help: "Players that reloaded the camera's live playlist within the last 10 s."}, cam),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kuzet_live_requests_total", Help: "Live HLS requests by file kind and HTTP status."},
			[]string{"camera", "file", "code"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kuzet_live_bytes_sent_total", Help: "Live HLS media and playlist bytes sent."}, cam),
		parts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kuzet_live_parts_total", Help: "Live HLS parts produced."}, cam),
		skipped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kuzet_live_frames_skipped_total", Help: "Access units the live muxer could not use, by reason."},
			[]string{"camera", "reason"}),
		jumps: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kuzet_live_timestamp_jumps_total", Help: "Camera timestamp jumps the live timeline smoothed over."}, cam),
		transcodes: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "kuzet_live_transcodes", Help: "Cameras transcoded to H.264 for browsers right now (while watched; at most live.transcode.max)."}),
		transcodeFrames: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kuzet_live_transcode_frames_total", Help: "Frames into the live transcoder, out of it, and dropped because it was behind."},
			[]string{"camera", "dir"}),
		transcodeCPU: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kuzet_live_transcode_cpu_seconds_total", Help: "CPU time the live transcoder of the view used (ffmpeg, user and system)."}, cam),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.muxers, m.viewers, m.requests, m.bytes, m.parts, m.skipped, m.jumps,
			m.transcodes, m.transcodeFrames, m.transcodeCPU} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("register live metrics: %w", err)
			}
		}
	}
	return m, nil
}
