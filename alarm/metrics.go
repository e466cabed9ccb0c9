package alarm

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	open       *prometheus.GaugeVec
	unacked    *prometheus.GaugeVec
	changes    *prometheus.CounterVec
	deliveries *prometheus.CounterVec
	backlog    prometheus.Gauge
	downActs   *prometheus.CounterVec
	downQueue  prometheus.Gauge
}

// newMetrics builds the alarm series; reg nil leaves them unregistered.
func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		open: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "kuzet_alarms_open", Help: "Alarms raised and not cleared, by severity (this node's and its descendants')."},
			[]string{"severity"}),
		unacked: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "kuzet_alarms_unacknowledged", Help: "Open alarms nobody has acknowledged, by severity."},
			[]string{"severity"}),
		changes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kuzet_alarm_changes_total", Help: "Alarm state changes applied to the table."},
			[]string{"change"}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kuzet_alarm_webhook_deliveries_total", Help: "Alarm webhook attempts by result."},
			[]string{"result"}),
		backlog: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "kuzet_alarm_webhook_backlog", Help: "Alarm changes waiting for the webhook."}),
		downActs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kuzet_alarm_acts_down_total", Help: "Operators' acts on alarms below sent towards their origin, by result."},
			[]string{"result"}),
		downQueue: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "kuzet_alarm_acts_down_queued", Help: "Operators' acts on alarms below waiting to reach their origin."}),
	}
	if reg != nil {
		reg.MustRegister(m.open, m.unacked, m.changes, m.deliveries, m.backlog, m.downActs, m.downQueue)
	}
	return m
}
