package checkpoint

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/plates"
)

// visitCursor is the log position of the last sighting the tracker took.
const visitCursor = "visits"

// Site is what the tracker knows of the node's cameras.
type Site struct {
	// ZoneOf names a camera's zone and the zone's kind (ok false: the
	// camera is in no zone and its sightings are no visit's).
	ZoneOf func(camera string) (zone, kind string, ok bool)
	// Paired reports whether a camera is in a passage rule: its reads
	// come as plate.passage events and its plate.read events are skipped.
	Paired func(camera string) bool
	// Limit is how long a vehicle may stay in a zone before a
	// dwell_exceeded alarm (nil or 0: no limit).
	Limit func(zone string) time.Duration
	// Active reports whether the node's alarm for key is open (nil: the
	// tracker's own record decides).
	Active func(key string) bool
	// AllowedDirection is the direction of travel of a camera's lane
	// (entry | exit; "" or nil: either): a vehicle read going the other
	// way is a violation.
	AllowedDirection func(camera string) string
	// Measured reports whether a camera's reads carry the direction the
	// vehicle moved (direction: auto) rather than a fixed label; a label
	// counts for neither a lane's direction nor a reversal at the exit
	// (nil: every direction is measured).
	Measured func(camera string) bool
	// Forbidden reports whether a zone is forbidden: a vehicle seen there
	// is a violation (nil: none is).
	Forbidden func(zone string) bool
	// Expected lists the zones a vehicle must reach within a time of its
	// entry: one that has not is a violation (nil: none).
	Expected func() map[string]time.Duration
	// Severity is the node's severity rule for an alarm type ("" or nil:
	// the type's default), so that what travels up urgently is what the
	// node's alarm table shows.
	Severity func(alarmType string) event.Severity
	// Now is the clock (nil: time.Now); CheckEvery how often open visits
	// are held against the limits (0: every 10 s).
	Now        func() time.Time
	CheckEvery time.Duration
}

// AlarmDwellExceeded is the alarm type of a vehicle over its zone's limit.
const AlarmDwellExceeded = "dwell_exceeded"

// RunVisits turns the node's own sightings into visit events until ctx
// ends. idx must be the node's visit index: it is synced to the log first,
// then gives the visits still open and the sightings already filed, so
// that after a kill at any step nothing is lost or filed twice.
func RunVisits(ctx context.Context, log *event.Log, idx *Index, site Site, logger *slog.Logger) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	wake, stop := log.Watch(16)
	defer stop()
	log.HoldCursor(visitCursor)
	t, pos, err := startTracker(log, idx)
	for err != nil {
		logger.Error("visit tracker", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(5 * time.Second):
		}
		t, pos, err = startTracker(log, idx)
	}
	logger.Info("visit tracker", "open_visits", t.Open(), "from", pos)
	every := site.CheckEvery
	if every <= 0 {
		every = 10 * time.Second
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	verify := true // the first check asks the alarm table what still stands
	timers := func() {
		if err := checkTimers(log, idx, site, verify); err != nil {
			logger.Error("dwell and violation check", "err", err)
		} else {
			verify = false
		}
	}
	for {
		n, next, err := step(log, idx, t, site, pos, logger)
		if err != nil {
			logger.Error("visit tracker", "err", err)
		}
		pos = next
		if n > 0 && err == nil {
			select { // a busy log still gets its timers checked
			case <-tick.C:
				timers()
			default:
			}
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-tick.C:
			timers()
		}
	}
}

// checkTimers holds the open visits against the zones' dwell limits and
// the zones they must reach in time.
func checkTimers(log *event.Log, idx *Index, site Site, verify bool) error {
	now := time.Now()
	if site.Now != nil {
		now = site.Now()
	}
	open, err := idx.OpenVisits(log.Origin())
	if err != nil {
		return err
	}
	if err := checkAbsence(log, idx, site, open, now); err != nil {
		return err
	}
	return checkDwell(log, idx, site, open, now, verify)
}

// checkDwell raises dwell_exceeded for each open visit whose vehicle has
// been in its zone longer than the zone's limit, and clears it once the
// vehicle moved on or left. What it raised is recorded in the index before
// the event, so that a restart neither raises twice nor leaves an alarm
// standing for a vehicle that left meanwhile (verify: the first check of
// a run).
func checkDwell(log *event.Log, idx *Index, site Site, open []Visit, now time.Time, verify bool) error {
	if site.Limit == nil {
		return nil
	}
	raised, err := idx.raisedAlarms(AlarmDwellExceeded)
	if err != nil {
		return err
	}
	over := map[string]bool{}
	for _, v := range open {
		here, ok := v.Here()
		lim := site.Limit(here.Zone)
		if !ok || lim <= 0 || now.Sub(here.From) <= lim {
			continue
		}
		key := AlarmDwellExceeded + ":" + v.ID + "@" + here.Zone
		over[key] = true
		// after a restart, a raise recorded but never stored is made
		// again; an alarm an operator cleared is not raised again while
		// the same vehicle stays
		if raised[key] && (!verify || site.Active == nil || site.Active(key)) {
			continue
		}
		if err := idx.markAlarm(key, true); err != nil {
			return err
		}
		plate := v.Tractor
		if plate == "" {
			plate = v.Trailer
		}
		camera := v.Passages[len(v.Passages)-1].Camera
		msg := fmt.Sprintf("vehicle %s has been in zone %s for %v (limit %v)", plate, here.Zone, now.Sub(here.From).Round(time.Second), lim)
		if err := appendAlarm(log, event.KindAlarmRaised, AlarmDwellExceeded, key, camera, site.severity(AlarmDwellExceeded, event.SeverityMinor), msg); err != nil {
			return err
		}
	}
	for key := range raised {
		if over[key] {
			continue
		}
		if err := appendAlarm(log, event.KindAlarmCleared, AlarmDwellExceeded, key, "", event.SeverityInfo, "the vehicle moved on"); err != nil {
			return err
		}
		if err := idx.markAlarm(key, false); err != nil {
			return err
		}
	}
	return nil
}

func appendAlarm(log *event.Log, kind, typ, key, camera string, sev event.Severity, msg string) error {
	e := event.New(kind, camera, sev, event.Alarm{Key: key, Type: typ, Message: msg})
	if _, err := log.Append(e); err != nil {
		return fmt.Errorf("store %s alarm: %w", typ, err)
	}
	return nil
}

// severity is an alarm type's severity: the node's rule, else def.
func (s Site) severity(typ string, def event.Severity) event.Severity {
	if s.Severity != nil {
		if sev := s.Severity(typ); sev != "" {
			return sev
		}
	}
	return def
}

// startTracker restores the open visits of the node from the index, once
// it holds every visit event of the log.
func startTracker(log *event.Log, idx *Index) (*Tracker, uint64, error) {
	if err := idx.Sync(log); err != nil {
		return nil, 0, err
	}
	open, err := idx.OpenVisits(log.Origin())
	if err != nil {
		return nil, 0, err
	}
	t := NewTracker()
	for _, v := range open {
		t.Restore(v)
	}
	pos, err := log.Cursor(visitCursor)
	return t, pos, err
}

// step takes the next batch of the log after pos; it returns how many
// events it read and the position it reached.
func step(log *event.Log, idx *Index, t *Tracker, site Site, pos uint64, logger *slog.Logger) (int, uint64, error) {
	batch, err := log.Range(pos, 256)
	if err != nil || len(batch) == 0 {
		return 0, pos, err
	}
	for _, e := range batch {
		if err := checkDivider(log, idx, site, e); err != nil {
			return 0, pos, err
		}
		if s, ok := sightingOf(e, log.Origin(), site); ok {
			done, err := idx.Handled(s.ID)
			if err != nil {
				return 0, pos, err
			}
			if err := checkDirection(log, idx, site, s); err != nil {
				return 0, pos, err
			}
			if !done {
				emits := t.See(s)
				if len(emits) > 0 {
					// before the visit's step: a restart takes the sighting
					// again, and finds the violation recorded
					if err := checkForbidden(log, idx, site, s, emits[len(emits)-1].Step.Visit); err != nil {
						return 0, pos, err
					}
				}
				for _, em := range emits {
					ev := event.New(em.Kind, em.Step.Camera, event.SeverityInfo, em.Step)
					ev.Time = em.Step.Time
					if _, err := log.Append(ev); err != nil {
						// the sighting is taken again after a restart
						return 0, pos, err
					}
				}
			}
		}
		pos = e.Pos
	}
	if err := log.SetCursor(visitCursor, pos); err != nil {
		logger.Error("visit cursor", "err", err) // the index knows what was filed
	}
	return len(batch), pos, nil
}

// sightingOf reads a sighting from one of the node's own events.
func sightingOf(e event.Event, origin string, site Site) (Sighting, bool) {
	if e.Origin != origin {
		return Sighting{}, false
	}
	var s Sighting
	switch e.Kind {
	case plates.KindPassage:
		var ps plates.Passage
		if json.Unmarshal(e.Payload, &ps) != nil || len(ps.Reads()) == 0 {
			return Sighting{}, false
		}
		s = Sighting{Camera: ps.Reads()[0].Camera, Tractor: ps.Tractor, Trailer: ps.Trailer, Time: ps.Time, Direction: ps.Direction}
	case plates.KindPlateRead:
		if site.Paired != nil && site.Paired(e.Camera) {
			return Sighting{}, false
		}
		var pr plates.PlateRead
		if json.Unmarshal(e.Payload, &pr) != nil || pr.Plate == "" {
			return Sighting{}, false
		}
		s = Sighting{Camera: e.Camera, Tractor: pr.Plate, Time: e.Time, Direction: pr.Direction}
	default:
		return Sighting{}, false
	}
	// a camera in no zone still has a lane whose direction counts; its
	// sightings are no visit's (Tracker.See takes none without a zone)
	if site.Measured != nil && !site.Measured(s.Camera) {
		s.Direction = ""
	}
	s.Zone, s.ZoneKind, _ = site.ZoneOf(s.Camera)
	s.ID = e.ID()
	if s.Time.IsZero() {
		s.Time = e.Time
	}
	return s, true
}
