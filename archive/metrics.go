package archive

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the archive's Prometheus series.
type Metrics struct {
	SegmentsClosed *prometheus.CounterVec
	BytesWritten   *prometheus.CounterVec
	FramesWritten  *prometheus.CounterVec
	FramesSkipped  *prometheus.CounterVec
	Gaps           *prometheus.CounterVec
	Repaired       prometheus.Counter
	Purged         *prometheus.CounterVec
	FsyncSeconds   prometheus.Histogram
	WriteErrors    *prometheus.CounterVec
	StoreErrors    *prometheus.CounterVec
	StoreSynced    prometheus.Counter
}

// NewMetrics creates the series and registers them with reg (if not nil).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		SegmentsClosed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kuzet_archive_segments_closed_total", Help: "Segments closed and indexed."}, []string{"camera"}),
		BytesWritten: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kuzet_archive_bytes_written_total", Help: "Bytes written to segment files."}, []string{"camera"}),
		FramesWritten: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kuzet_recorder_frames_written_total", Help: "Access units written to the archive."}, []string{"camera"}),
		FramesSkipped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kuzet_recorder_frames_skipped_total", Help: "Access units not recorded, by reason (waiting for a keyframe, bad timestamp)."}, []string{"camera", "reason"}),
		Gaps: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kuzet_archive_gaps_total", Help: "Gaps recorded in the timeline."}, []string{"camera"}),
		Repaired: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kuzet_archive_repaired_total", Help: "Files repaired after an unclean shutdown."}),
		Purged: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kuzet_archive_purged_total", Help: "Segments deleted, by reason (retention, disk_floor)."}, []string{"reason"}),
		FsyncSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "kuzet_archive_fsync_seconds", Help: "Duration of one grouped fsync round.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)}),
		WriteErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kuzet_archive_write_errors_total", Help: "Failed writes to segment files."}, []string{"camera"}),
		StoreErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kuzet_archive_store_errors_total", Help: "Failed operations on the shared archive store, by operation."}, []string{"op"}),
		StoreSynced: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kuzet_archive_store_synced_total", Help: "Replicas indexed from the shared store that other replicas of the tier pulled."}),
	}
	if reg != nil {
		reg.MustRegister(m.SegmentsClosed, m.BytesWritten, m.FramesWritten, m.FramesSkipped, m.Gaps,
			m.Repaired, m.Purged, m.FsyncSeconds, m.WriteErrors, m.StoreErrors, m.StoreSynced)
	}
	return m
}
