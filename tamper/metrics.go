package tamper

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	frames    *prometheus.CounterVec
	dropped   *prometheus.CounterVec
	active    *prometheus.GaugeVec
	sharpness *prometheus.GaugeVec
	match     *prometheus.GaugeVec
	seconds   *prometheus.CounterVec
}

// newMetrics builds the tamper series; reg nil leaves them unregistered.
func newMetrics(reg prometheus.Registerer) *metrics {
	cam := []string{"camera"}
	m := &metrics{
		frames: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kuzet_tamper_frames_total", Help: "Frames analysed for tampering."}, cam),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kuzet_tamper_units_dropped_total", Help: "Access units not decoded because tamper analysis was behind."}, cam),
		active: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "kuzet_tamper_alarm", Help: "1 while a tamper alarm of this kind is raised for the camera."},
			[]string{"camera", "kind"}),
		sharpness: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "kuzet_tamper_sharpness_ratio", Help: "Sharpness of the last judged frame over the camera's baseline."}, cam),
		match: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "kuzet_tamper_match_ratio", Help: "Share of the reference scene matched by the last judged frame, over its usual level."}, cam),
		seconds: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kuzet_tamper_analysis_seconds_total", Help: "Time spent judging frames, decoding excluded."}, cam),
	}
	if reg != nil {
		reg.MustRegister(m.frames, m.dropped, m.active, m.sharpness, m.match, m.seconds)
	}
	return m
}
