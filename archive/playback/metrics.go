package playback

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	requests     *prometheus.CounterVec
	bytes        *prometheus.CounterVec
	skipped      prometheus.Counter
	transcodes   prometheus.Gauge
	transcodeCPU prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kuzet_playback_requests_total", Help: "Archive playback requests, by endpoint and HTTP status."},
			[]string{"route", "code"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kuzet_playback_bytes_total", Help: "Response body bytes sent by archive playback, by endpoint."},
			[]string{"route"}),
		skipped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kuzet_playback_files_skipped_total", Help: "Archive files left out of a playlist or export because they could not be read."}),
		transcodes: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "kuzet_playback_transcodes", Help: "Archive ranges being transcoded to H.264 for browsers right now."}),
		transcodeCPU: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kuzet_playback_transcode_cpu_seconds_total", Help: "CPU time (user and system) ffmpeg used transcoding archive ranges, counted when each ends."}),
	}
	if reg != nil {
		reg.MustRegister(m.requests, m.bytes, m.skipped, m.transcodes, m.transcodeCPU)
	}
	return m
}
