package agent

import (
	"context"
	"encoding/json"
	"time"

	"github.com/kuzet/kuzet/anpr"
	"github.com/kuzet/kuzet/event"
)

// passageCursor is the log position before the oldest read that may still
// be waiting for its partner.
const passageCursor = "passages"

// runPassages pairs this node's plate reads into plate.passage events
// (UA-3.3.1). The log is its only state: after a restart it replays the
// reads after its cursor, skipping those a stored passage already holds,
// so a passage is neither lost nor emitted twice.
func (a *Agent) runPassages(ctx context.Context) {
	var rules []anpr.PassageRule
	for _, p := range a.cfg.ANPR.Passages {
		rules = append(rules, anpr.PassageRule{Front: p.Front, Rear: p.Rear, Window: p.Window.Std()})
	}
	if len(rules) == 0 {
		return
	}
	log := a.log.With("component", "passages")
	pr := anpr.NewPairer(rules)
	pos, err := a.events.Cursor(passageCursor)
	if err != nil {
		log.Error("read passage cursor", "err", err)
		return
	}
	// reads after the cursor that a stored passage already holds
	done := map[string]bool{}
	for after := pos; ; {
		batch, err := a.events.Range(after, 256)
		if err != nil {
			log.Error("read events", "err", err)
			return
		}
		if len(batch) == 0 {
			break
		}
		for _, e := range batch {
			after = e.Pos
			var ps anpr.Passage
			if e.Kind == anpr.KindPassage && e.Origin == a.cfg.Node.ID && json.Unmarshal(e.Payload, &ps) == nil {
				for _, r := range ps.Reads() {
					done[r.ID] = true
				}
			}
		}
	}
	posOf := map[string]uint64{} // waiting read ID -> its log position
	emit := func(ps anpr.Passage) {
		e := event.New(anpr.KindPassage, ps.Reads()[0].Camera, event.SeverityInfo, ps)
		e.Time = ps.Time
		if _, err := a.events.Append(e); err != nil {
			log.Error("store passage", "err", err)
		}
		for _, r := range ps.Reads() {
			delete(posOf, r.ID)
		}
	}
	advance := func(last uint64) {
		c := last
		for _, p := range posOf {
			if p-1 < c {
				c = p - 1
			}
		}
		if c > pos {
			pos = c
			if err := a.events.SetCursor(passageCursor, c); err != nil {
				log.Error("store passage cursor", "err", err)
			}
		}
	}
	wake, stop := a.events.Watch(16)
	defer stop()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	next := pos
	for {
		batch, err := a.events.Range(next, 256)
		if err != nil {
			log.Error("read events", "err", err)
			return
		}
		for _, e := range batch {
			next = e.Pos
			if e.Origin != a.cfg.Node.ID || e.Kind != anpr.KindPlateRead || !pr.Takes(e.Camera) || done[e.ID()] {
				continue
			}
			var r anpr.PlateRead
			if json.Unmarshal(e.Payload, &r) != nil {
				continue
			}
			posOf[e.ID()] = e.Pos
			ps, ok := pr.Add(anpr.PassageRead{ID: e.ID(), Camera: e.Camera, Plate: r.Plate, Confidence: r.Confidence,
				Time: r.First, Direction: r.Direction, Archive: r.Archive, Offset: r.Offset})
			if ok {
				emit(ps)
			}
		}
		if len(batch) == 256 {
			continue
		}
		for _, ps := range pr.Expire(time.Now()) {
			emit(ps)
		}
		advance(next)
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-tick.C:
		}
	}
}
