// Package timesync checks the node's clock against NTP servers (NVMS-6.2).
// Every interval it asks each configured server for the clock's offset
// (SNTP, github.com/beevik/ntp), takes the median of those that answered
// as the node's offset, and shows both in /metrics and the API. While the
// offset is beyond the limit, or no server has answered for three rounds,
// the alarm clock_unsynchronised stands; it clears when the clock is back.
// The node never sets its clock itself: that is the system's time daemon's
// work, which this checks.
//
// It imports only event of the node's packages.
package timesync

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/beevik/ntp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kuzet/kuzet/event"
)

// AlarmUnsynchronised is the alarm's type and key.
const AlarmUnsynchronised = "clock_unsynchronised"

// Defaults of Options.
const (
	DefaultInterval  = time.Minute
	DefaultMaxOffset = 500 * time.Millisecond
	DefaultTimeout   = 5 * time.Second
	// silentRounds is how many rounds in a row without any answer make
	// the clock unsynchronised: a lost datagram is not an outage.
	silentRounds = 3
)

// Options configure a Watcher.
type Options struct {
	Servers   []string // host or host:port (port 123 by default)
	Interval  time.Duration
	MaxOffset time.Duration
	Timeout   time.Duration // per query
	Events    event.Emitter
	// Standing reports whether the alarm stands now (the node's alarm
	// table), so a restart neither repeats nor forgets it.
	Standing   func() bool
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// ServerStatus is one server: its last answer, and whether the last
// question was answered.
type ServerStatus struct {
	Server   string    `json:"server"`
	OK       bool      `json:"ok"` // the last question was answered
	Error    string    `json:"error,omitempty"`
	Asked    time.Time `json:"asked,omitzero"`
	Answered time.Time `json:"answered,omitzero"` // the last answer, and its figures:
	Offset   float64   `json:"offset_ms"`         // the server's time minus this node's clock
	RTT      float64   `json:"rtt_ms"`
	Stratum  int       `json:"stratum,omitempty"`
}

// Status is the node's clock as NTP sees it.
type Status struct {
	Servers      []ServerStatus `json:"servers"`
	Offset       float64        `json:"offset_ms"` // median of the last round's answers
	Synchronised bool           `json:"synchronised"`
	Reason       string         `json:"reason,omitempty"` // why not
	LastAnswer   time.Time      `json:"last_answer,omitzero"`
	MaxOffset    float64        `json:"max_offset_ms"`
}

// Watcher asks the servers in rounds.
type Watcher struct {
	o   Options
	log *slog.Logger
	m   metrics

	mu      sync.Mutex
	st      Status
	silent  int  // rounds in a row without an answer
	raised  bool // the alarm stands
	started bool // a round has run (Standing was asked)
}

type metrics struct {
	offset    prometheus.Gauge
	server    *prometheus.GaugeVec
	queries   *prometheus.CounterVec
	unsynched prometheus.Gauge
}

// New prepares a watcher; Run runs it.
func New(o Options) *Watcher {
	if o.Interval <= 0 {
		o.Interval = DefaultInterval
	}
	if o.MaxOffset <= 0 {
		o.MaxOffset = DefaultMaxOffset
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	w := &Watcher{o: o, log: o.Logger, m: metrics{
		offset: prometheus.NewGauge(prometheus.GaugeOpts{Name: "kuzet_clock_ntp_offset_seconds",
			Help: "NTP time minus this node's clock: the median of the servers that answered last."}),
		server: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "kuzet_clock_ntp_server_offset_seconds",
			Help: "One NTP server's time minus this node's clock, at its last answer."}, []string{"server"}),
		queries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kuzet_clock_ntp_queries_total",
			Help: "NTP queries by server and result (ok, failed)."}, []string{"server", "result"}),
		unsynched: prometheus.NewGauge(prometheus.GaugeOpts{Name: "kuzet_clock_unsynchronised",
			Help: "1 while the clock is beyond the limit or no NTP server answers."}),
	}}
	if o.Registerer != nil {
		o.Registerer.MustRegister(w.m.offset, w.m.server, w.m.queries, w.m.unsynched)
	}
	w.st = Status{Servers: make([]ServerStatus, len(o.Servers)), MaxOffset: ms(o.MaxOffset), Synchronised: true}
	for i, s := range o.Servers {
		w.st.Servers[i].Server = s
	}
	return w
}

// Run asks the servers now and then every interval until ctx ends.
func (w *Watcher) Run(ctx context.Context) {
	t := time.NewTicker(w.o.Interval)
	defer t.Stop()
	for {
		w.round(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Status is the last round's view.
func (w *Watcher) Status() Status {
	w.mu.Lock()
	defer w.mu.Unlock()
	st := w.st
	st.Servers = append([]ServerStatus(nil), w.st.Servers...)
	return st
}

// round asks every server at once and judges the clock.
func (w *Watcher) round(ctx context.Context) {
	res := make([]ServerStatus, len(w.o.Servers))
	var wg sync.WaitGroup
	for i, s := range w.o.Servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res[i] = w.ask(s)
		}()
	}
	wg.Wait()
	if ctx.Err() != nil {
		return
	}
	var offsets []float64
	var failed []string
	for _, r := range res {
		if r.OK {
			offsets = append(offsets, r.Offset)
		} else {
			failed = append(failed, r.Server+": "+r.Error)
		}
	}

	w.mu.Lock()
	now := time.Now()
	for i, r := range res {
		if !r.OK { // the last answer's figures stay, beside the error
			prev := w.st.Servers[i]
			r.Answered, r.Offset, r.RTT, r.Stratum = prev.Answered, prev.Offset, prev.RTT, prev.Stratum
		}
		w.st.Servers[i] = r
	}
	if !w.started && w.o.Standing != nil && w.o.Standing() {
		// raised before this start: a round without answers keeps it
		w.raised, w.st.Synchronised, w.st.Reason = true, false, "raised before the node started; no NTP answer since"
	}
	w.started = true
	reason := ""
	if len(offsets) > 0 {
		w.silent = 0
		w.st.Offset = median(offsets)
		w.st.LastAnswer = now
		w.m.offset.Set(w.st.Offset / 1000)
		if d := time.Duration(w.st.Offset * float64(time.Millisecond)); d > w.o.MaxOffset || d < -w.o.MaxOffset {
			reason = fmt.Sprintf("the clock differs from NTP time by %v (limit %v; %d of %d servers answered)",
				d.Round(time.Millisecond), w.o.MaxOffset, len(offsets), len(res))
		}
	} else {
		w.silent++
		if w.silent >= silentRounds {
			reason = fmt.Sprintf("no NTP server has answered for %d rounds (%s)", w.silent, strings.Join(failed, "; "))
		} else if !w.st.Synchronised {
			reason = w.st.Reason // a round without answers does not clear it
		}
	}
	w.st.Synchronised, w.st.Reason = reason == "", reason
	change := (reason != "") != w.raised
	w.raised = reason != ""
	offset := w.st.Offset
	w.mu.Unlock()

	if reason != "" {
		w.m.unsynched.Set(1)
	} else {
		w.m.unsynched.Set(0)
	}
	if change {
		w.alarm(reason, offset)
	}
}

// ask queries one server and counts it.
func (w *Watcher) ask(server string) ServerStatus {
	st := Ask(server, w.o.Timeout)
	if !st.OK {
		w.m.queries.WithLabelValues(server, "failed").Inc()
		return st
	}
	w.m.queries.WithLabelValues(server, "ok").Inc()
	w.m.server.WithLabelValues(server).Set(st.Offset / 1000)
	return st
}

// Ask queries one server once (kuzet check asks each configured one).
func Ask(server string, timeout time.Duration) ServerStatus {
	st := ServerStatus{Server: server, Asked: time.Now()}
	r, err := ntp.QueryWithOptions(server, ntp.QueryOptions{Timeout: timeout})
	if err == nil {
		err = r.Validate()
	}
	if err != nil {
		st.Error = err.Error()
		return st
	}
	st.OK, st.Answered, st.Offset, st.RTT, st.Stratum = true, time.Now(), ms(r.ClockOffset), ms(r.RTT), int(r.Stratum)
	return st
}

// alarm raises or clears clock_unsynchronised.
func (w *Watcher) alarm(reason string, offsetMS float64) {
	kind, sev := event.KindAlarmCleared, event.SeverityInfo
	msg := fmt.Sprintf("the clock agrees with NTP time again (offset %v)", time.Duration(offsetMS*float64(time.Millisecond)).Round(time.Millisecond))
	if reason != "" {
		kind, sev, msg = event.KindAlarmRaised, event.SeverityMedium, reason+": check the time daemon (chrony, systemd-timesyncd)"
	}
	w.log.Warn("clock", "alarm", kind, "message", msg)
	if w.o.Events == nil {
		return
	}
	e := event.New(kind, "", sev, event.Alarm{Key: AlarmUnsynchronised, Type: AlarmUnsynchronised, Message: msg})
	if _, err := w.o.Events.Append(e); err != nil {
		w.log.Error("store the clock alarm", "err", err)
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
