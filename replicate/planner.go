package replicate

import (
	"context"
	"encoding/json"
	"log/slog"

	"github.com/kuzet/kuzet/archive"
	"github.com/kuzet/kuzet/event"
)

// Policies for a child's segment files.
const (
	PolicyAll  = "all"  // every segment goes up
	PolicyNone = "none" // only on demand
)

// Planner turns the segment.closed events that children send up into
// fetches. It reads the log from its own durable cursor, so a fetch is
// planned exactly once even across restarts, and segments recorded while
// a link was down are planned when their events arrive (back-fill).
type Planner struct {
	Log    *event.Log
	Queue  *Queue
	Policy func(child string) string
	Logger *slog.Logger
}

// Run plans until ctx ends.
func (p *Planner) Run(ctx context.Context) error {
	if p.Logger == nil {
		p.Logger = slog.New(slog.DiscardHandler)
	}
	self := p.Log.Origin()
	ob := &Outbox{
		Name: "fetch-planner", Log: p.Log, Logger: p.Logger,
		Filter: func(e event.Event) bool {
			return e.Kind == event.KindSegmentClosed && e.Origin != self && len(e.Path) >= 2
		},
	}
	return ob.Run(ctx, func(_ context.Context, batch []event.Event) error {
		var fs []Fetch
		for _, e := range batch {
			child := e.Path[len(e.Path)-2] // the link it arrived on
			if p.Policy(child) != PolicyAll {
				continue
			}
			var s archive.Segment
			if err := json.Unmarshal(e.Payload, &s); err != nil || archive.CheckRel(s.Path) != nil || s.SHA256 == "" {
				p.Logger.Warn("segment event without a usable segment", "id", e.ID(), "err", err)
				continue
			}
			fs = append(fs, Fetch{Child: child, Origin: e.Origin, Camera: s.Camera, Start: s.Start, End: s.End,
				Path: s.Path, Bytes: s.Bytes, SHA256: s.SHA256})
		}
		return p.Queue.Add(fs...)
	})
}
