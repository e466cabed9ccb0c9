package federation

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/kuzet/kuzet/event"
)

// shipEvents sends the event log over one events stream, receiver-driven:
// the parent first states how far it holds every origin incarnation this
// node offers, and the child sends from there, whichever replica it
// reached. Nothing is skipped on the child's say-so: the position it
// keeps (the "upstream" cursor) only measures the backlog, and is rewound
// to whatever the parent of this session lacks.
func (c *Client) shipEvents(ctx context.Context, conn *quic.Conn) error {
	str, err := conn.OpenStreamSync(ctx)
	if err != nil {
		return fmt.Errorf("open events stream: %w", err)
	}
	defer finish(str)
	if err := WriteFrame(str, MsgOpen, Open{Kind: StreamEvents}); err != nil {
		return err
	}
	mine, err := c.o.Log.Marks()
	if err != nil {
		return fmt.Errorf("read own marks: %w", err)
	}
	dropped, err := c.o.Log.Dropped()
	if err != nil {
		return fmt.Errorf("read dropped marks: %w", err)
	}
	if err := WriteFrame(str, MsgOffer, Offer{Marks: mine, Dropped: dropped}); err != nil {
		return fmt.Errorf("send offer: %w", err)
	}
	_ = str.SetReadDeadline(time.Now().Add(30 * time.Second))
	var h Holdings
	if err := Expect(str, MsgHoldings, &h); err != nil {
		return fmt.Errorf("parent holdings: %w", err)
	}
	sh := &shipper{c: c, held: map[string]uint64{}, skip: map[string]bool{}}
	for _, m := range h.Marks {
		sh.held[m.Key()] = m.Seq
	}
	for _, r := range h.Refused {
		c.o.Logger.Error("parent refuses events of an origin this node forwards", "origin", r.Origin, "reason", r.Reason)
		sh.holdBack(r.Origin, 0, true, "refused by the parent: "+r.Reason)
	}
	cursor, err := sh.start()
	if err != nil {
		return err
	}
	c.o.Logger.Debug("events resume", "parent_holds", h.Marks, "from_pos", cursor)
	wake, stop := c.o.Log.Watch(1)
	defer stop()
	tick := time.NewTicker(time.Second) // a missed wake-up costs at most this
	defer tick.Stop()
	for {
		events, err := c.o.Log.Range(cursor, shipBatch)
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
		send := events[:0:0]
		for _, e := range events {
			k := markKey(e)
			if !sh.skip[k] && !sh.skip[e.Origin] && e.Seq > sh.heldOf(e) {
				send = append(send, e)
			}
		}
		through := events[len(events)-1].Pos
		if len(send) > 0 {
			ack, err := c.deliver(str, Events{Events: send, Dropped: sh.saying(send)})
			if err != nil {
				return err
			}
			for _, m := range ack.Marks {
				sh.held[m.Key()] = m.Seq
			}
			for _, r := range ack.Refused {
				c.o.Logger.Error("parent refused events", "origin", r.Origin, "reason", r.Reason)
				sh.holdBack(r.Origin, 0, true, "refused by the parent: "+r.Reason)
			}
			c.o.Logger.Debug("events delivered", "sent", len(send), "stored", ack.Stored, "gaps", ack.Gaps)
			if len(ack.Gaps) > 0 {
				// the parent lacks something before these: send it first
				for _, g := range ack.Gaps {
					sh.held[g.Key()] = g.Seq
				}
				if cursor, err = sh.start(); err != nil {
					return err
				}
				continue
			}
		}
		cursor = through
		if err := c.o.Log.SetCursor(c.outbox.Name, cursor); err != nil {
			return fmt.Errorf("advance cursor: %w", err)
		}
	}
}

// shipBatch is how many log entries one events frame carries at most.
const shipBatch = 256

// deliver sends one batch and waits until the parent has stored it.
func (c *Client) deliver(str *quic.Stream, b Events) (Ack, error) {
	batch := b.Events
	if err := WriteFrame(str, MsgEvents, b); err != nil {
		return Ack{}, fmt.Errorf("send events: %w", err)
	}
	_ = str.SetReadDeadline(time.Now().Add(30 * time.Second))
	var ack Ack
	if err := Expect(str, MsgAck, &ack); err != nil {
		return Ack{}, fmt.Errorf("events not acknowledged: %w", err)
	}
	if ack.Through != batch[len(batch)-1].Pos {
		return Ack{}, errors.New("acknowledgement does not match the batch sent")
	}
	c.o.Metrics.EventsSent.Add(float64(ack.Stored))
	return ack, nil
}

// shipper is one session's view of what the parent holds.
type shipper struct {
	c     *Client
	held  map[string]uint64 // mark key -> seq the parent holds
	skip  map[string]bool   // origins or mark keys not sent this session
	forgo []event.Mark      // dropped here and lacking at the parent: said with the next batch
}

func markKey(e event.Event) string { return event.MarkOf(e).Key() }

// saying takes from the pending forgone marks those of incarnations the
// batch carries: the parent takes them only beside events that follow.
func (sh *shipper) saying(batch []event.Event) []event.Mark {
	if len(sh.forgo) == 0 {
		return nil
	}
	in := map[string]bool{}
	for _, e := range batch {
		in[markKey(e)] = true
	}
	var say, keep []event.Mark
	for _, m := range sh.forgo {
		if in[m.Key()] {
			say = append(say, m)
		} else {
			keep = append(keep, m)
		}
	}
	sh.forgo = keep
	return say
}

func (sh *shipper) heldOf(e event.Event) uint64 {
	if s, ok := sh.held[markKey(e)]; ok {
		return s
	}
	return e.Inc // the parent holds none of this incarnation
}

// HeldBack is an origin (or one incarnation of it) a child does not send
// on its current link, and why.
type HeldBack struct {
	Origin string `json:"origin"`
	Inc    uint64 `json:"inc,omitempty"`
	Reason string `json:"reason"`
}

// holdBack stops sending an origin (inc 0 and all: every incarnation)
// for this session and says so in the link status.
func (sh *shipper) holdBack(origin string, inc uint64, all bool, reason string) {
	if all {
		sh.skip[origin] = true
	} else {
		sh.skip[event.Mark{Origin: origin, Inc: inc}.Key()] = true
	}
	sh.c.mu.Lock()
	sh.c.st.HeldBack = append(sh.c.st.HeldBack, HeldBack{Origin: origin, Inc: inc, Reason: reason})
	sh.c.mu.Unlock()
}

// start finds the log position just before the first event the parent
// lacks, over every incarnation this node holds, and rewinds the backlog
// cursor there.
func (sh *shipper) start() (uint64, error) {
	l := sh.c.o.Log
	// marks and position from one read: an event stored meanwhile lies
	// after from and is scanned, never skipped as already held
	mine, from, err := l.MarksAt()
	if err != nil {
		return 0, fmt.Errorf("read own marks: %w", err)
	}
	dropped := map[string]uint64{}
	ds, err := l.Dropped()
	if err != nil {
		return 0, fmt.Errorf("read dropped marks: %w", err)
	}
	for _, d := range ds {
		dropped[d.Key()] = d.Seq
	}
	sh.forgo = nil
	for _, m := range mine {
		k := m.Key()
		if sh.skip[k] || sh.skip[m.Origin] {
			continue
		}
		held, ok := sh.held[k]
		if !ok {
			held = m.Inc
		}
		if m.Seq <= held {
			continue
		}
		pos, ok, err := l.PosOf(m.Origin, m.Inc, held+1)
		if err != nil {
			return 0, err
		}
		if d := dropped[k]; !ok && d > held && d < m.Seq {
			// retention dropped what the parent lacks: it is told so with
			// the next batch, which starts after the dropped ones
			if pos, ok, err = l.PosOf(m.Origin, m.Inc, d+1); err != nil {
				return 0, err
			}
			if ok {
				sh.forgo = append(sh.forgo, event.Mark{Origin: m.Origin, Inc: m.Inc, Seq: d})
			}
		}
		if !ok {
			// this node never held what the parent needs next: it cannot
			// fill the gap, and sending later events would only be refused
			sh.c.o.Logger.Error("cannot send an origin upstream: the parent needs events this node does not hold",
				"origin", m.Origin, "incarnation", m.Inc, "parent_holds", held, "this_node_holds_up_to", m.Seq)
			sh.holdBack(m.Origin, m.Inc, false, fmt.Sprintf("the parent holds up to seq %d and this node does not hold %d", held, held+1))
			continue
		}
		from = min(from, pos-1)
	}
	if err := l.SetCursor(sh.c.outbox.Name, from); err != nil {
		return 0, fmt.Errorf("rewind cursor: %w", err)
	}
	return from, nil
}

// shipAlarms sends grave and medium alarms on their own stream the moment
// they are stored here — raised on this node or arrived from a child — so
// they never wait behind a backlog of ordinary events (UA-3.19, NVMS-7.1).
// The ordered stream still delivers them in sequence later.
func (c *Client) shipAlarms(ctx context.Context, conn *quic.Conn) error {
	urgent, stopUrgent := c.o.Log.WatchUrgent(256)
	defer stopUrgent()
	str, err := conn.OpenStreamSync(ctx)
	if err != nil {
		return fmt.Errorf("open alarm stream: %w", err)
	}
	defer finish(str)
	if err := WriteFrame(str, MsgOpen, Open{Kind: StreamAlarms}); err != nil {
		return err
	}
	send := func(e event.Event) error {
		if err := WriteFrame(str, MsgEvents, Events{Events: []event.Event{e}}); err != nil {
			return fmt.Errorf("send alarm: %w", err)
		}
		_ = str.SetReadDeadline(time.Now().Add(10 * time.Second))
		var ack Ack
		if err := Expect(str, MsgAck, &ack); err != nil {
			return fmt.Errorf("alarm not acknowledged: %w", err)
		}
		c.o.Metrics.UrgentSent.Inc()
		return nil
	}
	// alarms stored while the link was down go first, ahead of the
	// backlog the events stream is about to replay
	if err := c.pendingAlarms(ctx, send); err != nil {
		return err
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case e := <-urgent:
			if err := send(e); err != nil {
				return err
			}
		}
	}
}

// pendingAlarms sends the urgent events the parent has not acknowledged.
func (c *Client) pendingAlarms(ctx context.Context, send func(event.Event) error) error {
	after, err := c.o.Log.Cursor(c.outbox.Name)
	if err != nil {
		return err
	}
	for ctx.Err() == nil {
		page, err := c.o.Log.Range(after, 1024)
		if err != nil || len(page) == 0 {
			return err
		}
		for _, e := range page {
			if event.Urgent(e) {
				if err := send(e); err != nil {
					return err
				}
			}
		}
		after = page[len(page)-1].Pos
	}
	return ctx.Err()
}
