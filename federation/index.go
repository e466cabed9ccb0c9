package federation

import (
	"context"
	"fmt"
	"time"

	"github.com/quic-go/quic-go"
)

// indexBatch bounds one index frame.
const indexBatch = 500

// requestIndex asks a child for the segments it holds that started at or
// after since, in batches of at most indexBatch.
func (s *Server) requestIndex(ctx context.Context, conn *quic.Conn, since time.Time) ([]IndexEntry, error) {
	str, err := conn.OpenStreamSync(ctx)
	if err != nil {
		return nil, fmt.Errorf("open index stream: %w", err)
	}
	defer finish(str)
	if err := WriteFrame(str, MsgOpen, Open{Kind: StreamIndex}); err != nil {
		return nil, err
	}
	if err := WriteFrame(str, MsgIndexReq, IndexReq{Since: since.UnixNano()}); err != nil {
		return nil, err
	}
	_ = str.Close() // the request is all the parent sends
	var out []IndexEntry
	for {
		_ = str.SetReadDeadline(time.Now().Add(time.Minute))
		var b IndexBatch
		if err := Expect(str, MsgIndex, &b); err != nil {
			return nil, err
		}
		out = append(out, b.Segments...)
		if !b.More {
			return out, nil
		}
	}
}

func (c *Client) serveIndex(str *quic.Stream) error {
	var req IndexReq
	if err := expectLimit(str, MsgIndexReq, &req, maxRequestFrame); err != nil {
		return err
	}
	if c.o.Index == nil {
		return WriteFrame(str, MsgIndex, IndexBatch{})
	}
	all, err := c.o.Index(time.Unix(0, req.Since))
	if err != nil {
		_ = WriteFrame(str, MsgError, ErrorMsg{Message: "index unreadable"})
		return err
	}
	for len(all) > indexBatch {
		if err := WriteFrame(str, MsgIndex, IndexBatch{Segments: all[:indexBatch], More: true}); err != nil {
			return err
		}
		all = all[indexBatch:]
	}
	return WriteFrame(str, MsgIndex, IndexBatch{Segments: all})
}
