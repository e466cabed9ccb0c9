package agent

import (
	"net/http"
	"time"

	"github.com/kuzet/kuzet/internal/httpjson"
	"github.com/kuzet/kuzet/timesync"
)

// openClock checks the node's clock against the configured NTP servers
// (time.ntp; NVMS-6.2), beside the parent's heartbeat offset.
func (a *Agent) openClock() error {
	t := a.cfg.Time
	if len(t.NTP) == 0 {
		return nil
	}
	a.clock = timesync.New(timesync.Options{Servers: t.NTP, Interval: t.Interval.Std(), MaxOffset: t.MaxOffset.Std(),
		Events: a.events, Logger: a.log.With("component", "clock"), Registerer: a.reg,
		Standing: func() bool { return a.alarms != nil && a.alarms.Active(a.cfg.Node.ID, timesync.AlarmUnsynchronised) }})
	a.life.loop("clock", a.clock.Run)
	return nil
}

// ClockStatus is GET /api/v1/time: the node's clock, as NTP and the
// parent see it.
type ClockStatus struct {
	Now time.Time `json:"now"`
	// NTP is absent when no servers are configured (time.ntp).
	NTP *timesync.Status `json:"ntp,omitempty"`
	// ParentOffset is the parent's clock minus this node's at the last
	// heartbeat (absent without a parent link).
	ParentOffset *float64 `json:"parent_offset_ms,omitempty"`
}

func (a *Agent) clockStatus(w http.ResponseWriter, _ *http.Request) {
	st := ClockStatus{Now: time.Now().UTC()}
	if a.clock != nil {
		s := a.clock.Status()
		st.NTP = &s
	}
	if a.fedCli != nil {
		if l := a.fedCli.Status(); l.Connected {
			ms := float64(l.ClockOffset) / 1e6
			st.ParentOffset = &ms
		}
	}
	httpjson.Write(w, http.StatusOK, st)
}
