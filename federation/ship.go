package federation

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/kuzet/kuzet/event"
)

// shipEvents runs the durable outbox over one events stream.
func (c *Client) shipEvents(ctx context.Context, conn *quic.Conn) error {
	str, err := conn.OpenStreamSync(ctx)
	if err != nil {
		return fmt.Errorf("open events stream: %w", err)
	}
	defer str.Close()
	if err := WriteFrame(str, MsgOpen, Open{Kind: StreamEvents}); err != nil {
		return err
	}
	return c.outbox.Run(ctx, func(ctx context.Context, batch []event.Event) error {
		if err := WriteFrame(str, MsgEvents, Events{Events: batch}); err != nil {
			return fmt.Errorf("send events: %w", err)
		}
		_ = str.SetReadDeadline(time.Now().Add(30 * time.Second))
		var ack Ack
		if err := Expect(str, MsgAck, &ack); err != nil {
			return fmt.Errorf("events not acknowledged: %w", err)
		}
		last := batch[len(batch)-1].Pos
		if ack.Through != last {
			return errors.New("acknowledgement does not match the batch sent")
		}
		c.o.Metrics.EventsSent.Add(float64(len(batch)))
		return nil
	})
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
	defer str.Close()
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
