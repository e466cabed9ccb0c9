package site

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	up             *prometheus.GaugeVec
	framesReceived *prometheus.CounterVec
	bytesReceived  *prometheus.CounterVec
	framesDropped  *prometheus.CounterVec
	framesUntimed  *prometheus.CounterVec
	packetsLost    *prometheus.CounterVec
	decodeErrors   *prometheus.CounterVec
	reconnects     *prometheus.CounterVec
	fps            *prometheus.GaugeVec
	bitrate        *prometheus.GaugeVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	cam := []string{"camera"}
	m := &metrics{
		up: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "kuzet_camera_up", Help: "1 while the camera session is streaming."}, cam),
		framesReceived: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kuzet_camera_frames_received_total", Help: "Access units received from the camera."}, cam),
		bytesReceived: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kuzet_camera_bytes_received_total", Help: "RTP payload bytes received from the camera."}, cam),
		framesDropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kuzet_camera_frames_dropped_total", Help: "Access units a consumer could not take in time."},
			[]string{"camera", "consumer"}),
		framesUntimed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kuzet_camera_frames_before_sync_total", Help: "Access units received before the first keyframe gave the stream a timeline; not recordable."}, cam),
		packetsLost: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kuzet_camera_packets_lost_total", Help: "RTP packets lost on the way from the camera."}, cam),
		decodeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kuzet_camera_decode_errors_total", Help: "RTP packets that could not be decoded."}, cam),
		reconnects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kuzet_camera_reconnects_total", Help: "Camera sessions that ended and were retried."}, cam),
		fps: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "kuzet_camera_fps", Help: "Frames per second received, smoothed."}, cam),
		bitrate: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "kuzet_camera_bitrate_bps", Help: "Video bits per second received, smoothed."}, cam),
	}
	if reg != nil {
		reg.MustRegister(m.up, m.framesReceived, m.bytesReceived, m.framesDropped, m.framesUntimed, m.packetsLost,
			m.decodeErrors, m.reconnects, m.fps, m.bitrate)
	}
	return m
}
