package topology

import (
	"errors"
	"time"

	"github.com/hashicorp/raft"
	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	reg           prometheus.Registerer
	collectors    []prometheus.Collector
	writes        *prometheus.CounterVec
	writeSeconds  *prometheus.HistogramVec
	leaderChanges prometheus.Counter
}

func newMetrics(r *Replica, reg prometheus.Registerer) *metrics {
	m := &metrics{
		reg: reg,
		writes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kuzet_topology_writes_total",
			Help: "Catalogue writes received by this replica, by result (ok or an error code).",
		}, []string{"result"}),
		writeSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "kuzet_topology_write_seconds",
			Help:    "Time from receiving a catalogue write to its acknowledgement, by path (local on the leader, or forwarded).",
			Buckets: []float64{.001, .002, .005, .01, .02, .05, .1, .2, .5, 1, 2, 5, 10},
		}, []string{"path"}),
		leaderChanges: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kuzet_topology_leader_changes_total",
			Help: "Leader changes seen by this replica (including losing the leader).",
		}),
	}
	gauge := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f)
	}
	m.collectors = []prometheus.Collector{
		m.writes, m.writeSeconds, m.leaderChanges,
		gauge("kuzet_topology_is_leader", "1 if this replica leads the catalogue's Raft group.", func() float64 {
			if r.raft.State() == raft.Leader {
				return 1
			}
			return 0
		}),
		gauge("kuzet_topology_has_leader", "1 if this replica knows a leader (0: election or no quorum).", func() float64 {
			if addr, _ := r.raft.LeaderWithID(); addr != "" {
				return 1
			}
			return 0
		}),
		gauge("kuzet_topology_term", "Current Raft term.", func() float64 { return float64(r.raft.CurrentTerm()) }),
		gauge("kuzet_topology_revision", "Catalogue revision (Raft index of the last change) applied here.", func() float64 {
			return float64(r.fsm.catalogue().revision)
		}),
		gauge("kuzet_topology_commit_index", "Raft commit index known here.", func() float64 { return float64(r.raft.CommitIndex()) }),
	}
	if reg != nil {
		for _, c := range m.collectors {
			if err := reg.Register(c); err != nil {
				var are prometheus.AlreadyRegisteredError
				if !errors.As(err, &are) {
					r.log.Warn("catalogue metric not registered", "err", err)
				}
			}
		}
	}
	return m
}

func (m *metrics) observeWrite(start time.Time, forwarded bool, err error) {
	result := "ok"
	if err != nil {
		result = string(CodeOf(err))
	}
	m.writes.WithLabelValues(result).Inc()
	if err == nil {
		path := "local"
		if forwarded {
			path = "forwarded"
		}
		m.writeSeconds.WithLabelValues(path).Observe(time.Since(start).Seconds())
	}
}

// unregister lets a replica reopened in the same process register again.
func (m *metrics) unregister() {
	if m.reg == nil {
		return
	}
	for _, c := range m.collectors {
		m.reg.Unregister(c)
	}
}
