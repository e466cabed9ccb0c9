package checkpoint

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/kuzet/kuzet/event"
)

// deskCursor is the log position of the last event the desk acted on.
const deskCursor = "desk"

// Run acts on the node's log until ctx ends: a visit opened at an entry
// takes the token presented there before its plates were read, a vehicle
// at a barrier's zone is let out or held, the last failed attempt of a
// case blocks its token; and silent readers and barriers whose controller
// failed are looked at every CheckEvery. Each act checks what the index
// holds first, so that after a kill at any step the events since the
// cursor are acted on again without doing anything twice.
func (d *Desk) Run(ctx context.Context, logger *slog.Logger) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	wake, stop := d.log.Watch(16)
	defer stop()
	d.log.HoldCursor(deskCursor)
	pos, err := d.log.Cursor(deskCursor)
	if err != nil {
		logger.Error("checkpoint desk", "err", err)
	}
	tick := time.NewTicker(d.cfg.CheckEvery)
	defer tick.Stop()
	for {
		n, next, err := d.step(pos)
		if err != nil {
			logger.Error("checkpoint desk", "err", err)
		}
		pos = next
		if n > 0 && err == nil {
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-tick.C:
			if err := d.check(); err != nil {
				logger.Error("checkpoint desk check", "err", err)
			}
		}
	}
}

// step acts on the next batch of the log after pos.
func (d *Desk) step(pos uint64) (int, uint64, error) {
	batch, err := d.log.Range(pos, 128)
	if err != nil || len(batch) == 0 {
		return 0, pos, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.idx.Sync(d.log); err != nil {
		return 0, pos, err
	}
	for _, e := range batch {
		if e.Origin == d.site {
			if err := d.act(e); err != nil {
				var r *Refusal
				if !asRefusal(err, &r) { // a failed controller is filed and alarmed already
					return 0, pos, err
				}
			}
		}
		pos = e.Pos
	}
	return len(batch), pos, d.log.SetCursor(deskCursor, pos)
}

// act is the desk's part in one of the node's own events. Called with
// d.mu held.
func (d *Desk) act(e event.Event) error {
	switch e.Kind {
	case KindVisitOpened, KindVisitPassage:
		var st Step
		if json.Unmarshal(e.Payload, &st) != nil {
			return nil
		}
		if err := d.settleLate(st); err != nil {
			return err
		}
		if e.Kind == KindVisitOpened && st.ZoneKind == ZoneEntry {
			return d.bindPending(st)
		}
	case KindVisitClosed:
		var st Step
		if json.Unmarshal(e.Payload, &st) != nil || st.Reason != "" {
			return nil
		}
		if b, ok := d.atZone[st.Zone]; ok {
			return d.atBarrier(b, st)
		}
	case KindCaseAttempt:
		var cs CaseStep
		if json.Unmarshal(e.Payload, &cs) != nil || cs.Attempt == nil || cs.Attempt.OK {
			return nil
		}
		return d.block(cs.Case)
	}
	return nil
}

// bindPending binds the oldest token presented at the entry's reader
// within the bind window to a visit just opened there. Called with d.mu
// held.
func (d *Desk) bindPending(st Step) error {
	v, ok, err := d.idx.Visit(st.Visit)
	if err != nil || !ok || v.Token != "" || !v.Open() {
		return err
	}
	pending, err := d.idx.Pending(d.site, st.Zone, st.Time.Add(-d.cfg.BindWindow))
	if err != nil {
		return err
	}
	for _, p := range pending {
		if p.Time.After(st.Time.Add(d.cfg.BindWindow)) {
			break
		}
		t, _, err := d.idx.TokenOf(d.site, p.Token)
		if err != nil {
			return err
		}
		if t.Blocked {
			continue
		}
		if t.Visit != "" && t.Visit != v.ID {
			if bv, ok, err := d.idx.Visit(t.Visit); err != nil {
				return err
			} else if ok && bv.Open() {
				continue // bound meanwhile
			}
		}
		_, err = d.bind(Presented{Token: p.Token, Reader: p.Reader, Zone: p.Zone}, v, st.Time)
		return err
	}
	return nil
}

// settleLate settles a case opened before anything was read at its zone
// when the card's own vehicle is read there within the match window: a
// camera's read may reach the log seconds after the card reached the
// reader. It is the case's first attempt, a re-read by the desk itself;
// a read of another vehicle changes nothing. Called with d.mu held.
func (d *Desk) settleLate(st Step) error {
	open, err := d.idx.Cases(d.site, CaseOpen, 0)
	if err != nil {
		return err
	}
	read := Plates{Tractor: st.Tractor, Trailer: st.Trailer}
	for _, c := range open {
		if c.Zone != st.Zone || c.Visit != st.Visit || !c.Read.Empty() || len(c.Attempts) > 0 ||
			absDur(st.Time.Sub(c.Opened)) > d.cfg.MatchWindow || !read.Matches(c.Bound) {
			continue
		}
		a := Attempt{N: 1, Of: d.cfg.Attempts, Action: ActionReread, Read: read, Sighting: st.Sighting, OK: true, User: "desk",
			Comment: "read at the zone after the card", Time: d.cfg.Now()}
		cs := CaseStep{Case: c.ID, Token: c.Token, Visit: c.Visit, Reader: c.Reader, Zone: c.Zone, Bound: c.Bound, Attempt: &a, Time: a.Time}
		if err := d.append(KindCaseAttempt, "", event.SeverityInfo, cs); err != nil {
			return err
		}
	}
	return nil
}

// check raises reader_silent for readers not heard for longer than they
// may be (and clears it when they are heard again), and tries again the
// barriers whose controller failed.
func (d *Desk) check() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.idx.Sync(d.log); err != nil {
		return err
	}
	now := d.cfg.Now()
	for id, r := range d.readers {
		if r.MaxSilence <= 0 {
			continue
		}
		key := AlarmReaderSilent + ":" + id
		if silent := now.Sub(d.heard[id]); silent > r.MaxSilence {
			msg := fmt.Sprintf("reader %s at zone %s has not been heard for %v (it may be silent %v)", id, r.Zone, silent.Round(time.Second), r.MaxSilence)
			if err := raiseOnce(d.log, d.idx, Site{Severity: d.cfg.Severity}, AlarmReaderSilent, key, "", event.SeverityMedium, msg); err != nil {
				return err
			}
			continue
		}
		if err := d.clear(key, AlarmReaderSilent, "reader "+id+" is heard again"); err != nil {
			return err
		}
	}
	for id, b := range d.barriers {
		st, ok, err := d.idx.BarrierOf(d.site, id)
		if err != nil {
			return err
		}
		if ok && st.State == BarrierFailed && st.Visit != "" {
			if err := d.decide(b, st.Visit, st.Read); err != nil && !asRefusal(err, new(*Refusal)) {
				return err
			}
		}
	}
	return nil
}
