package federation

import (
	"context"
	"fmt"
	"time"

	"github.com/quic-go/quic-go"
)

// Configuration flows down the links: a parent that keeps the catalogue
// sends each child its slice after every link-up and whenever it changes;
// the child stores it durably before acknowledging, so it can start its
// cameras from it while the parent is unreachable (NVMS-6.18).

// SliceSource returns a child's current slice and its revision; ok is
// false when the catalogue knows nothing for that child.
type SliceSource func(child string) (revision uint64, slice []byte, ok bool)

// NotifyConfig tells every linked child's config loop to look again.
func (s *Server) NotifyConfig() {
	s.cfgMu.Lock()
	defer s.cfgMu.Unlock()
	for _, ch := range s.cfgWake {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// configLoop keeps a child's slice current until the link ends.
func (s *Server) configLoop(ctx context.Context, conn *quic.Conn, child string) {
	wake := make(chan struct{}, 1)
	s.cfgMu.Lock()
	s.cfgWake[conn] = wake
	s.cfgMu.Unlock()
	defer func() {
		s.cfgMu.Lock()
		delete(s.cfgWake, conn)
		s.cfgMu.Unlock()
	}()
	var acked uint64
	for {
		rev, slice, ok := s.o.Slices(child)
		if ok && rev != acked {
			if err := s.sendConfig(ctx, conn, rev, slice); err != nil {
				if ctx.Err() != nil {
					return
				}
				s.o.Logger.Warn("catalogue slice not delivered", "child", child, "revision", rev, "err", err)
			} else {
				acked = rev
				s.o.Logger.Info("catalogue slice delivered", "child", child, "revision", rev)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-time.After(30 * time.Second):
		}
	}
}

func (s *Server) sendConfig(ctx context.Context, conn *quic.Conn, rev uint64, slice []byte) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	str, err := conn.OpenStreamSync(ctx)
	if err != nil {
		return fmt.Errorf("open config stream: %w", err)
	}
	defer finish(str)
	if err := WriteFrame(str, MsgOpen, Open{Kind: StreamConfig}); err != nil {
		return err
	}
	if err := WriteFrame(str, MsgConfig, Config{Revision: rev, Slice: slice}); err != nil {
		return err
	}
	_ = str.Close() // the slice is all the parent sends
	_ = str.SetReadDeadline(time.Now().Add(30 * time.Second))
	var ack Ack
	if err := Expect(str, MsgAck, &ack); err != nil {
		return err
	}
	if ack.Through != rev {
		return fmt.Errorf("child acknowledged revision %d, sent %d", ack.Through, rev)
	}
	return nil
}

// serveConfig stores a slice from the parent, then acknowledges it.
func (c *Client) serveConfig(str *quic.Stream) error {
	var cfg Config
	if err := Expect(str, MsgConfig, &cfg); err != nil {
		return err
	}
	if c.o.OnConfig == nil {
		return WriteFrame(str, MsgError, ErrorMsg{Message: "this node takes no catalogue slices"})
	}
	if err := c.o.OnConfig(cfg.Revision, cfg.Slice); err != nil {
		_ = WriteFrame(str, MsgError, ErrorMsg{Message: "slice refused: " + err.Error()})
		return err
	}
	return WriteFrame(str, MsgAck, Ack{Through: cfg.Revision})
}
