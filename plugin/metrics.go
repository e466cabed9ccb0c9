package plugin

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the plugins' Prometheus series.
type Metrics struct {
	Up            *prometheus.GaugeVec
	Restarts      *prometheus.CounterVec
	FramesSent    *prometheus.CounterVec
	FramesDropped *prometheus.CounterVec
	Events        *prometheus.CounterVec
	Refused       *prometheus.CounterVec
}

// NewMetrics creates the series and registers them with reg (if not nil).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Up: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "kuzet_plugin_up", Help: "1 while the plugin's process runs."}, []string{"plugin"}),
		Restarts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kuzet_plugin_restarts_total", Help: "Times the plugin was started again after it exited."}, []string{"plugin"}),
		FramesSent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kuzet_plugin_frames_sent_total", Help: "Frames sent to the plugin."}, []string{"plugin"}),
		FramesDropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kuzet_plugin_frames_dropped_total", Help: "Frames decoded for the plugin but not sent: it had not read the last ones."}, []string{"plugin"}),
		Events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kuzet_plugin_events_total", Help: "Events the plugin posted that were stored."}, []string{"plugin"}),
		Refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kuzet_plugin_events_refused_total", Help: "Events the plugin posted that were refused, by reason (rate, malformed, snapshot)."}, []string{"plugin", "reason"}),
	}
	if reg != nil {
		reg.MustRegister(m.Up, m.Restarts, m.FramesSent, m.FramesDropped, m.Events, m.Refused)
	}
	return m
}
