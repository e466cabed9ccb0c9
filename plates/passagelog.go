package plates

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/kuzet/kuzet/event"
)

// passageCursor is the log position before the oldest read that may still
// be waiting for its partner.
const passageCursor = "passages"

// RunPassages pairs node's own plate reads in the log into plate.passage
// events (UA-3.3.1) until ctx ends. The log is its only state: after a
// restart it replays the reads after its cursor, skipping those a stored
// passage already holds, so a passage is neither lost nor emitted twice.
func RunPassages(ctx context.Context, events *event.Log, node string, rules []PassageRule, log *slog.Logger) {
	if len(rules) == 0 {
		return
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	pr := NewPairer(rules)
	events.HoldCursor(passageCursor)
	pos, err := events.Cursor(passageCursor)
	if err != nil {
		log.Error("read passage cursor", "err", err)
		return
	}
	// reads after the cursor that a stored passage already holds
	done := map[string]bool{}
	for after := pos; ; {
		batch, err := events.Range(after, 256)
		if err != nil {
			log.Error("read events", "err", err)
			return
		}
		if len(batch) == 0 {
			break
		}
		for _, e := range batch {
			after = e.Pos
			var ps Passage
			if e.Kind == KindPassage && e.Origin == node && json.Unmarshal(e.Payload, &ps) == nil {
				for _, r := range ps.Reads() {
					done[r.ID] = true
				}
			}
		}
	}
	posOf := map[string]uint64{} // waiting read ID -> its log position
	emit := func(ps Passage) {
		e := event.New(KindPassage, ps.Reads()[0].Camera, event.SeverityInfo, ps)
		e.Time = ps.Time
		if _, err := events.Append(e); err != nil {
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
			if err := events.SetCursor(passageCursor, c); err != nil {
				log.Error("store passage cursor", "err", err)
			}
		}
	}
	wake, stop := events.Watch(16)
	defer stop()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	next := pos
	for {
		batch, err := events.Range(next, 256)
		if err != nil {
			log.Error("read events", "err", err)
			return
		}
		for _, e := range batch {
			next = e.Pos
			if e.Origin != node || e.Kind != KindPlateRead || !pr.Takes(e.Camera) || done[e.ID()] {
				continue
			}
			var r PlateRead
			if json.Unmarshal(e.Payload, &r) != nil {
				continue
			}
			posOf[e.ID()] = e.Pos
			ps, ok := pr.Add(PassageRead{ID: e.ID(), Camera: e.Camera, Plate: r.Plate, Confidence: r.Confidence,
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
