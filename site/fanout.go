package site

import (
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/kuzet/kuzet/media"
)

// outlet is one consumer's queue within a session.
type outlet struct {
	c       *media.Consumer
	ch      chan *media.Unit
	sink    media.Sink
	dropped atomic.Uint64
	behind  atomic.Bool // a drop happened since the queue last drained
}

// fanout delivers units to every outlet without ever blocking the caller.
type fanout struct {
	outlets []*outlet
	wg      sync.WaitGroup
	log     *slog.Logger
}

// add gives c its own queue of c.Queue units, drained into sink.
func (f *fanout) add(c *media.Consumer, sink media.Sink) {
	f.outlets = append(f.outlets, &outlet{c: c, ch: make(chan *media.Unit, c.Queue), sink: sink})
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
