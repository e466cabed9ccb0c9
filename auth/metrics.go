package auth

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	logins  *prometheus.CounterVec
	refused *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer, st *state) (*metrics, error) {
	m := &metrics{
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kuzet_auth_logins_total", Help: "Login attempts by result (ok, failed, throttled).",
		}, []string{"result"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kuzet_auth_refused_total", Help: "API requests refused by the authentication layer, by reason.",
		}, []string{"reason"}),
	}
	if reg == nil {
		return m, nil
	}
	sessions := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "kuzet_auth_sessions", Help: "Sessions currently held (including idle ones not yet swept).",
	}, func() float64 { return float64(st.sessionCount()) })
	for _, c := range []prometheus.Collector{m.logins, m.refused, sessions} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register auth metrics: %w", err)
		}
	}
	return m, nil
}
