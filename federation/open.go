package federation

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/kuzet/kuzet/event"
)

// OpenFile is the file a camera is writing, as a node holds it: the
// origin's own file, or the part of it an intermediate node fetched.
type OpenFile struct {
	Local string    // where it is on this node's disk
	Path  string    // in the origin's layout: Camera1/2025/08/18/14/Camera1_2025_08_18_14_05.mp4
	Start time.Time // wall clock of its first frame
	Size  int64     // bytes of whole boxes, the part that may be served
}

// OpenSource resolves origin's open file of camera. A node between may
// fetch it from its own child first, so ctx bounds the wait.
type OpenSource func(ctx context.Context, origin, camera string) (OpenFile, error)

// OpenHead is a child's answer about an open file: the bytes [From, Size)
// of Path follow.
type OpenHead struct {
	Path       string
	Start      time.Time
	Size, From int64
}

// maxOpenFile bounds the size a child may announce for an open file: far
// above any segment (the recorder closes a file long before), far below
// what would fill a disk by a lie.
const maxOpenFile = 16 << 30

// FetchOpen asks the child leading to origin for the whole fragments of
// the file camera is writing. have names the open file of which this node
// holds offset bytes already ("" for none): the child then sends only what
// was written since, otherwise the file from its start. Closing the body
// finishes the request. What the child says is checked: the file must be
// camera's, and the bytes must start where this node can append them.
func (s *Server) FetchOpen(ctx context.Context, origin, camera, have string, offset int64) (OpenHead, io.ReadCloser, error) {
	var oh OpenHead
	conn, child, ok := s.route(origin)
	if !ok {
		return oh, nil, fmt.Errorf("open file of %s/%s: %w", origin, camera, ErrNoRoute)
	}
	str, err := conn.OpenStreamSync(ctx)
	if err != nil {
		return oh, nil, fmt.Errorf("open file via %s: %w", child, err)
	}
	if err := WriteFrame(str, MsgOpen, Open{Kind: StreamFetch}); err != nil {
		finish(str)
		return oh, nil, err
	}
	req := FetchReq{Origin: origin, Camera: camera, Path: have, Offset: offset, Kind: FetchOpen}
	if err := WriteFrame(str, MsgFetch, req); err != nil {
		finish(str)
		return oh, nil, err
	}
	_ = str.Close() // the request is all the parent sends
	// a node between may first fetch the file from its own child
	deadline := time.Now().Add(30 * time.Second)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	_ = str.SetReadDeadline(deadline)
	var head FetchHead
	if err := Expect(str, MsgFetchHead, &head); err != nil {
		finish(str)
		return oh, nil, fmt.Errorf("open file of %s/%s: %w", origin, camera, err)
	}
	_ = str.SetReadDeadline(time.Time{})
	if err := checkOpenHead(head, camera, have, offset); err != nil {
		finish(str)
		return oh, nil, fmt.Errorf("open file of %s/%s from %s: %w", origin, camera, child, err)
	}
	oh = OpenHead{Path: head.Path, Start: time.Unix(0, head.Start).UTC(), Size: head.Size, From: head.From}
	return oh, &idleReader{str: str}, nil
}

// checkOpenHead refuses an answer that names a file of another camera, a
// path outside the origin's layout, or bytes this node could not append.
func checkOpenHead(h FetchHead, camera, have string, offset int64) error {
	if err := event.CheckRel(h.Path); err != nil {
		return err
	}
	if cam, _, _ := strings.Cut(h.Path, "/"); cam != camera {
		return fmt.Errorf("the file %q is not camera %s's", h.Path, camera)
	}
	if h.Size < 0 || h.Size > maxOpenFile {
		return fmt.Errorf("an open file of %d bytes", h.Size)
	}
	if h.From != 0 && (h.Path != have || h.From != offset) {
		return fmt.Errorf("bytes from %d of %s, asked from %d of %q", h.From, h.Path, offset, have)
	}
	if h.From > h.Size {
		return fmt.Errorf("bytes from %d of a file of %d", h.From, h.Size)
	}
	return nil
}

// serveOpen answers a FetchOpen: the open file's head, then its whole
// fragments from where the parent's copy ends.
func (c *Client) serveOpen(str *quic.Stream, req FetchReq) error {
	if c.o.Open == nil {
		return WriteFrame(str, MsgError, ErrorMsg{Message: "this node serves no open files"})
	}
	ctx, cancel := context.WithTimeout(str.Context(), 25*time.Second)
	f, err := c.o.Open(ctx, req.Origin, req.Camera)
	cancel()
	if err != nil {
		return WriteFrame(str, MsgError, ErrorMsg{Message: err.Error()})
	}
	file, err := os.Open(f.Local)
	if err != nil {
		_ = WriteFrame(str, MsgError, ErrorMsg{Message: "open file unreadable"})
		return err
	}
	defer file.Close()
	var from int64
	if req.Path == f.Path && req.Offset >= 0 && req.Offset <= f.Size {
		from = req.Offset
	}
	head := FetchHead{Size: f.Size, Path: f.Path, Start: f.Start.UnixNano(), From: from}
	if err := WriteFrame(str, MsgFetchHead, head); err != nil {
		return err
	}
	_, err = io.Copy(str, io.NewSectionReader(file, from, f.Size-from))
	return err
}
