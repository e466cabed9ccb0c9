package sftppush

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	files    prometheus.Counter
	bytes    prometheus.Counter
	failures prometheus.Counter
	skipped  prometheus.Counter
	failing  prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer, q *queue) (*metrics, error) {
	m := &metrics{
		files: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kuzet_sftp_push_files_total", Help: "Segments pushed to the SFTP target and renamed to their final name."}),
		bytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kuzet_sftp_push_sent_bytes_total", Help: "Segment bytes sent to the SFTP target, resends included."}),
		failures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kuzet_sftp_push_failures_total", Help: "Failed connection or upload attempts."}),
		skipped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kuzet_sftp_push_skipped_total", Help: "Queued segments deleted from the archive before they could be pushed."}),
		failing: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "kuzet_sftp_push_failing", Help: "1 while the sftp_push_failing alarm is raised."}),
	}
	if reg == nil {
		return m, nil
	}
	queueFiles := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "kuzet_sftp_push_queue_files", Help: "Segments waiting to be pushed."},
		func() float64 { n, _ := q.size(); return float64(n) })
	queueBytes := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "kuzet_sftp_push_queue_bytes", Help: "Bytes of the segments waiting to be pushed."},
		func() float64 { _, b := q.size(); return float64(b) })
	for _, c := range []prometheus.Collector{m.files, m.bytes, m.failures, m.skipped, m.failing, queueFiles, queueBytes} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
