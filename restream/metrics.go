package restream

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	readers *prometheus.GaugeVec
	errors  *prometheus.CounterVec
	refused *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		readers: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "kuzet_restream_readers", Help: "RTSP readers playing the camera from the node."}, []string{"camera"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kuzet_restream_units_dropped_total", Help: "Access units the RTSP packetizer refused."}, []string{"camera"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kuzet_restream_logins_refused_total", Help: "RTSP reader logins refused, by RTSP status (401, 403, 429)."}, []string{"status"}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.readers, m.errors, m.refused} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("register re-stream metrics: %w", err)
			}
		}
	}
	return m, nil
}
