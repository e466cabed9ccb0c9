package sftpd

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	sessions      prometheus.Gauge
	loggingIn     prometheus.Gauge
	logins        prometheus.Counter
	loginFailures *prometheus.CounterVec
	refused       *prometheus.CounterVec
	files         prometheus.Counter
	bytes         prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		sessions: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "kuzet_sftp_sessions", Help: "Logged-in SFTP sessions open now."}),
		loggingIn: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "kuzet_sftp_logging_in", Help: "SFTP connections open now that have not logged in yet."}),
		logins: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kuzet_sftp_logins_total", Help: "Successful SFTP logins."}),
		loginFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kuzet_sftp_login_failures_total", Help: "Refused SFTP login attempts, by reason."}, []string{"reason"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kuzet_sftp_refused_total", Help: "SFTP requests and connections refused: write, change, session_limit, address, login_limit, login_limit_address."}, []string{"what"}),
		files: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kuzet_sftp_files_sent_total", Help: "Files opened and closed by SFTP clients."}),
		bytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kuzet_sftp_sent_bytes_total", Help: "File bytes read by SFTP clients."}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.sessions, m.loggingIn, m.logins, m.loginFailures, m.refused, m.files, m.bytes} {
			if err := reg.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}
