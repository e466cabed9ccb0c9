package federation

import (
	"context"
	"fmt"
	"io"
	"time"
)

// maxSnapshot bounds a plate snapshot pulled over a link.
const maxSnapshot = 16 << 20

// FetchSnapshot copies one of origin's plate snapshots (a path relative to
// its plates directory) from the child leading to it into w. Snapshots are
// small and asked for by an operator, so they go outside the fetch queue.
func (s *Server) FetchSnapshot(ctx context.Context, origin, rel string, w io.Writer) error {
	conn, child, ok := s.route(origin)
	if !ok {
		return fmt.Errorf("snapshot %s of %s: %w", rel, origin, ErrNoRoute)
	}
	str, err := conn.OpenStreamSync(ctx)
	if err != nil {
		return fmt.Errorf("snapshot via %s: %w", child, err)
	}
	defer finish(str)
	if err := WriteFrame(str, MsgOpen, Open{Kind: StreamFetch}); err != nil {
		return err
	}
	if err := WriteFrame(str, MsgFetch, FetchReq{Origin: origin, Path: rel, Kind: FetchSnapshot}); err != nil {
		return err
	}
	_ = str.Close() // the request is all the parent sends
	_ = str.SetReadDeadline(time.Now().Add(30 * time.Second))
	var head FetchHead
	if err := Expect(str, MsgFetchHead, &head); err != nil {
		return fmt.Errorf("snapshot %s of %s: %w", rel, origin, err)
	}
	if head.Size < 0 || head.Size > maxSnapshot {
		return fmt.Errorf("snapshot %s of %s: %d bytes is not a snapshot", rel, origin, head.Size)
	}
	if _, err := io.CopyN(w, str, head.Size); err != nil {
		return fmt.Errorf("receive snapshot %s: %w", rel, err)
	}
	return nil
}
