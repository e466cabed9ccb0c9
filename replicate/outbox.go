package replicate

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/kuzet/kuzet/event"
)

// Deliver sends a batch and returns once the receiver has stored it.
type Deliver func(ctx context.Context, batch []event.Event) error

// Outbox delivers the event log to one sink from its durable cursor. A
// batch is acknowledged by the receiver only after it is stored; only then
// does the cursor move, so a crash or a cut link replays, never loses.
type Outbox struct {
	Name  string // cursor name, e.g. "upstream"
	Log   *event.Log
	Batch int // events per batch (default 256)
	// Filter, if set, drops events this sink does not take (the cursor
	// still moves past them).
	Filter func(event.Event) bool
	Logger *slog.Logger
}

// Backlog is how many log positions the sink has not acknowledged.
func (o *Outbox) Backlog() (uint64, error) {
	c, err := o.Log.Cursor(o.Name)
	if err != nil {
		return 0, err
	}
	return o.Log.Last() - c, nil
}

// Run delivers until ctx ends or deliver fails; it returns that error so
// the caller can reconnect and call Run again.
func (o *Outbox) Run(ctx context.Context, deliver Deliver) error {
	batch := o.Batch
	if batch <= 0 {
		batch = 256
	}
	o.Log.HoldCursor(o.Name) // retention keeps what this sink has not taken
	wake, stop := o.Log.Watch(1)
	defer stop()
	tick := time.NewTicker(time.Second) // a missed wake-up costs at most this
	defer tick.Stop()
	for {
		cursor, err := o.Log.Cursor(o.Name)
		if err != nil {
			return fmt.Errorf("read cursor %s: %w", o.Name, err)
		}
		events, err := o.Log.Range(cursor, batch)
		if err != nil {
			return fmt.Errorf("read log after %d: %w", cursor, err)
		}
		if len(events) == 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-wake:
			case <-tick.C:
			}
			continue
		}
		through := events[len(events)-1].Pos
		send := events
		if o.Filter != nil {
			send = send[:0:0]
			for _, e := range events {
				if o.Filter(e) {
					send = append(send, e)
				}
			}
		}
		if len(send) > 0 {
			if err := deliver(ctx, send); err != nil {
				return err
			}
		}
		if err := o.Log.SetCursor(o.Name, through); err != nil {
			return fmt.Errorf("advance cursor %s: %w", o.Name, err)
		}
	}
}
