package replicate

import "github.com/prometheus/client_golang/prometheus"

// PullMetrics are the puller's Prometheus series, per child link.
type PullMetrics struct {
	Fragments     *prometheus.CounterVec
	FragmentBytes *prometheus.CounterVec
}

// NewPullMetrics creates the series and registers them with reg (if not
// nil).
func NewPullMetrics(reg prometheus.Registerer) *PullMetrics {
	m := &PullMetrics{
		Fragments: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kuzet_link_fragments_total", Help: "Segment files pulled from a child and verified."}, []string{"child"}),
		FragmentBytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kuzet_link_fragment_bytes_total", Help: "Segment bytes received from a child."}, []string{"child"}),
	}
	if reg != nil {
		reg.MustRegister(m.Fragments, m.FragmentBytes)
	}
	return m
}
