package federation

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the links' Prometheus series.
type Metrics struct {
	LinkUp          *prometheus.GaugeVec
	EventsReceived  *prometheus.CounterVec
	EventsDuplicate *prometheus.CounterVec
	EventsRefused   *prometheus.CounterVec
	EventGaps       *prometheus.CounterVec
	EventsSent      prometheus.Counter
	UrgentReceived  *prometheus.CounterVec
	UrgentSent      prometheus.Counter
	RTT             prometheus.Gauge
	ClockOffset     prometheus.Gauge
}

// NewMetrics creates the series and registers them with reg (if not nil).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		LinkUp: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "kuzet_link_up", Help: "1 while the link to a peer is up."}, []string{"peer", "role"}),
		EventsReceived: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kuzet_link_events_received_total", Help: "Events stored from a child."}, []string{"child"}),
		EventsDuplicate: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kuzet_link_events_duplicate_total", Help: "Replayed events a child sent again and were discarded."}, []string{"child"}),
		EventsRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kuzet_link_events_refused_total", Help: "Events a child sent for an origin it may not speak for."}, []string{"child"}),
		EventGaps: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kuzet_link_event_gaps_total", Help: "Batches that did not follow on from what this node holds (the child resends)."}, []string{"child"}),
		EventsSent: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kuzet_link_events_sent_total", Help: "Events acknowledged by the parent."}),
		UrgentReceived: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kuzet_link_urgent_received_total", Help: "Grave and medium alarms received ahead of the ordered events."}, []string{"child"}),
		UrgentSent: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kuzet_link_urgent_sent_total", Help: "Grave and medium alarms sent ahead of the ordered events."}),
		RTT: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "kuzet_link_rtt_seconds", Help: "Round-trip time to the parent, last heartbeat."}),
		ClockOffset: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "kuzet_link_clock_offset_seconds", Help: "Parent clock minus this node's clock, last heartbeat."}),
	}
	if reg != nil {
		reg.MustRegister(m.LinkUp, m.EventsReceived, m.EventsDuplicate, m.EventsRefused, m.EventGaps, m.EventsSent, m.UrgentReceived, m.UrgentSent, m.RTT, m.ClockOffset)
	}
	return m
}
