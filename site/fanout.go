package site

import (
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/kuzet/kuzet/media"
)

// Sink receives one camera session's access units, in order, from its own
// goroutine.
type Sink interface {
	WriteUnit(u *media.Unit) error
	Close() error
}

// Consumer is something fed by every camera session: the recorder, live
// muxers, analytics.
type Consumer struct {
	Name string
	// Queue is how many units may wait; when full, units are dropped and
	// counted so that ingest never stalls.
	Queue int
	// Critical consumers must never fall behind (the recorder): a drop
	// raises an alarm.
	Critical bool
	// Open starts the consumer for one session. reason explains why the
	// session starts (node start, reconnect) for gap records. A nil Sink
	// means the consumer does not take this camera.
	Open func(camera string, track media.Track, reason string) (Sink, error)
}

// outlet is one consumer's queue within a session.
type outlet struct {
	c       *Consumer
	ch      chan *media.Unit
	sink    Sink
	dropped atomic.Uint64
	behind  atomic.Bool // a drop happened since the queue last drained
}

// fanout delivers units to every outlet without ever blocking the caller.
type fanout struct {
	outlets []*outlet
	wg      sync.WaitGroup
	log     *slog.Logger
}

func (f *fanout) start() {
	for _, o := range f.outlets {
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			for u := range o.ch {
				if err := o.sink.WriteUnit(u); err != nil {
					f.log.Error("consumer write failed", "consumer", o.c.Name, "err", err)
				}
				if len(o.ch) == 0 {
					o.behind.Store(false)
				}
			}
			if err := o.sink.Close(); err != nil {
				f.log.Error("consumer close failed", "consumer", o.c.Name, "err", err)
			}
		}()
	}
}

// publish offers u to every outlet; it returns outlets that dropped it.
func (f *fanout) publish(u *media.Unit, dropped func(o *outlet)) {
	for _, o := range f.outlets {
		select {
		case o.ch <- u:
		default:
			o.dropped.Add(1)
			dropped(o)
		}
	}
}

// stop lets every consumer drain its queue and close.
func (f *fanout) stop() {
	for _, o := range f.outlets {
		close(o.ch)
	}
	f.wg.Wait()
}
