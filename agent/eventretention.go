package agent

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kuzet/kuzet/archive"
	"github.com/kuzet/kuzet/audit"
	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/internal/httpjson"
)

const (
	// eventSweep is how often the event log's retention runs.
	eventSweep = time.Hour
	// eventSweepDelay lets every reader of the log (links, outboxes,
	// indexes) start and hold the floor before the first sweep.
	eventSweepDelay = time.Minute
)

// openEventRetention bounds events.db (events.retention_days): events past
// their retention that every reader has passed are dropped hourly, after
// the audit chain's anchors are checkpointed (audit.Checkpoint).
func (a *Agent) openEventRetention(o Options) {
	log := a.log.With("component", "event retention")
	a.eventKeep = &event.Retainer{
		Log: a.events, Keep: time.Duration(a.cfg.Events.RetentionDays) * 24 * time.Hour, Now: o.Now, Logger: log,
		BeforeDrop: func(through uint64) error {
			anchors, err := audit.AnchorsThrough(a.events, through)
			if err != nil {
				return err
			}
			return a.audit.Checkpoint(anchors, through)
		},
	}
	dropped := prometheus.NewCounter(prometheus.CounterOpts{Name: "kuzet_events_dropped_total",
		Help: "Events the event log's retention dropped."})
	path := filepath.Join(a.cfg.Node.DataDir, "events.db")
	a.reg.MustRegister(dropped,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "kuzet_events_file_bytes",
			Help: "Size of the event log's file (events.db)."}, func() float64 {
			st, err := os.Stat(path)
			if err != nil {
				return 0
			}
			return float64(st.Size())
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "kuzet_events_held_past_retention",
			Help: "1 while a reader of the event log keeps events past their retention (GET /api/v1/events/retention names it)."},
			func() float64 {
				if a.eventKeep.Last().HeldBy != "" {
					return 1
				}
				return 0
			}))
	diskFree := o.DiskFree
	if diskFree == nil {
		diskFree = archive.DiskFree
	}
	a.life.loop("data disk floor", func(ctx context.Context) { a.watchDataDisk(ctx, diskFree) })
	a.life.loop("event retention", func(ctx context.Context) {
		select {
		case <-ctx.Done():
			return
		case <-time.After(eventSweepDelay):
		}
		t := time.NewTicker(eventSweep)
		defer t.Stop()
		for {
			s, err := a.sweepEventLog()
			if err != nil {
				log.Error("event log retention", "err", err)
			}
			dropped.Add(float64(s.Dropped))
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	})
}

// EventRetention is GET /api/v1/events/retention: how far back the log
// reaches, and who holds events past their retention.
type EventRetention struct {
	RetentionDays int             `json:"retention_days"`
	First         uint64          `json:"first_position"`
	Last          uint64          `json:"last_position"`
	Oldest        time.Time       `json:"oldest,omitzero"` // time of the event at the first position
	FileBytes     int64           `json:"file_bytes"`
	Holders       []event.Holding `json:"holders"`
	LastSweep     event.Sweep     `json:"last_sweep"`
}

func (a *Agent) eventRetention(w http.ResponseWriter, _ *http.Request) {
	httpjson.Write(w, http.StatusOK, a.eventRetentionStatus())
}

func (a *Agent) eventRetentionStatus() EventRetention {
	st := EventRetention{RetentionDays: a.cfg.Events.RetentionDays, First: a.events.First(), Last: a.events.Last(),
		LastSweep: a.eventKeep.Last(), Holders: a.events.Holdings()}
	if evs, err := a.events.Get(st.First); err == nil && len(evs) == 1 {
		st.Oldest = evs[0].Time
	}
	if fi, err := os.Stat(filepath.Join(a.cfg.Node.DataDir, "events.db")); err == nil {
		st.FileBytes = fi.Size()
	}
	return st
}

// sweepEventLog runs the log's retention, then takes what it dropped out
// of the indexes built from it: the plate reads, and the visits closed
// before the same horizon.
func (a *Agent) sweepEventLog() (event.Sweep, error) {
	s, err := a.eventKeep.Sweep()
	if err != nil || s.Dropped == 0 {
		return s, err
	}
	if a.plates != nil {
		n, err := a.plates.Prune(s.First)
		if err != nil {
			return s, err
		}
		if n > 0 {
			a.log.Info("plate index: reads the event log no longer holds removed", "reads", n)
		}
	}
	if a.visits != nil {
		n, err := a.visits.PruneVisits(s.Before)
		if err != nil {
			return s, err
		}
		if n > 0 {
			a.log.Info("visit index: visits closed before the event log's horizon removed", "visits", n)
		}
	}
	return s, nil
}

// sweepEvents is POST /api/v1/events/retention: a sweep now (after a
// reader that held the floor was removed, or to see what one would do).
func (a *Agent) sweepEvents(w http.ResponseWriter, _ *http.Request) {
	s, err := a.sweepEventLog()
	if err != nil {
		httpjson.Error(w, http.StatusInternalServerError, "event log retention: "+err.Error())
		return
	}
	httpjson.Write(w, http.StatusOK, s)
}
