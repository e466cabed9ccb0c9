package federation

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/kuzet/kuzet/replicate"
)

// FileSource opens a file a child serves: a segment, its own or a
// replica (which the node may keep in object storage rather than on its
// disk), or a plate snapshot.
type FileSource func(origin, rel string) (ServedFile, error)

// ServedFile is a file opened for a parent's fetch (*os.File, or an
// archive file read from object storage).
type ServedFile interface {
	io.ReaderAt
	io.Closer
	Stat() (fs.FileInfo, error)
}

// OpenLocal opens a file on the local disk to be served. Its error does
// not name the path: the parent reads it.
func OpenLocal(path string) (ServedFile, error) {
	f, err := os.Open(path)
	if err != nil {
		var perr *fs.PathError
		if errors.As(err, &perr) {
			err = perr.Err
		}
		return nil, fmt.Errorf("file unreadable: %w", err)
	}
	return f, nil
}

// PathSource serves the files that resolve names on the local disk.
func PathSource(resolve func(origin, rel string) (string, error)) FileSource {
	return func(origin, rel string) (ServedFile, error) {
		p, err := resolve(origin, rel)
		if err != nil {
			return nil, err
		}
		return OpenLocal(p)
	}
}

// Puller pulls a child's segment files over its link while the link is
// up (replicate.Puller).
type Puller interface {
	Pull(ctx context.Context, child string, src replicate.Source)
}

// childLink is the parent's end of one child link, as a puller reads the
// child's files over it.
type childLink struct {
	s    *Server
	conn *quic.Conn
}

// Fetch asks the child for origin's segment rel from offset on, on a
// stream of its own.
func (l childLink) Fetch(ctx context.Context, origin, rel string, offset int64) (int64, io.ReadCloser, error) {
	str, err := l.conn.OpenStreamSync(ctx)
	if err != nil {
		return 0, nil, fmt.Errorf("open fetch stream: %w", err)
	}
	head, err := requestFetch(str, origin, rel, offset)
	if err != nil {
		finish(str)
		return 0, nil, err
	}
	return head.Size, &idleReader{str: str}, nil
}

// requestFetch sends a fetch request on str and reads the head of the
// child's answer; the file's bytes follow it.
func requestFetch(str *quic.Stream, origin, rel string, offset int64) (FetchHead, error) {
	var head FetchHead
	if err := WriteFrame(str, MsgOpen, Open{Kind: StreamFetch}); err != nil {
		return head, err
	}
	if err := WriteFrame(str, MsgFetch, FetchReq{Origin: origin, Path: rel, Offset: offset}); err != nil {
		return head, err
	}
	_ = str.Close() // the request is all the parent sends
	// a child may first pull the file from its own child (on-demand fetch
	// of a grandchild's segment), so its answer may take a while
	_ = str.SetReadDeadline(time.Now().Add(2 * time.Minute))
	if err := Expect(str, MsgFetchHead, &head); err != nil {
		return head, err
	}
	_ = str.SetReadDeadline(time.Time{})
	return head, nil
}

// Index lists what the child holds that started at or after since.
func (l childLink) Index(ctx context.Context, since time.Time) ([]replicate.Listed, error) {
	listed, err := l.s.requestIndex(ctx, l.conn, since)
	if err != nil {
		return nil, err
	}
	out := make([]replicate.Listed, len(listed))
	for i, e := range listed {
		out[i] = replicate.Listed(e)
	}
	return out, nil
}

// idleReader fails a read that waits longer than a minute, so a stalled
// child does not hold a fetch forever. Closing it finishes the stream.
type idleReader struct{ str *quic.Stream }

func (r *idleReader) Read(p []byte) (int, error) {
	_ = r.str.SetReadDeadline(time.Now().Add(time.Minute))
	return r.str.Read(p)
}

func (r *idleReader) Close() error {
	finish(r.str)
	return nil
}

// serveRequests answers the streams the parent opens: file fetches, index
// listings, live relays and catalogue slices, each on its own goroutine,
// as many at once as serveLimits allow. Every stream is finished when its
// request is served or refused, so the parent gets its credit back.
func (c *Client) serveRequests(ctx context.Context, conn *quic.Conn) error {
	slots := newServeSlots()
	for {
		str, err := conn.AcceptStream(ctx)
		if err != nil {
			return err
		}
		go func() {
			defer finish(str)
			if err := c.serveRequest(str, slots); err != nil && !errors.Is(err, io.EOF) {
				c.o.Logger.Warn("parent request not served", "err", err)
			}
		}()
	}
}

func (c *Client) serveRequest(str *quic.Stream, slots serveSlots) error {
	// the parent sends its whole request at once; the child reads nothing
	// after it
	_ = str.SetReadDeadline(time.Now().Add(requestTimeout))
	var open Open
	if err := expectLimit(str, MsgOpen, &open, maxRequestFrame); err != nil {
		return err
	}
	// str.Context ends when the parent stops reading or the link ends
	release, err := slots.acquire(str.Context(), open.Kind)
	if err != nil {
		_ = WriteFrame(str, MsgError, ErrorMsg{Message: err.Error()})
		return err
	}
	defer release()
	switch open.Kind {
	case StreamFetch:
		return c.serveFetch(str)
	case StreamIndex:
		return c.serveIndex(str)
	case StreamLive:
		return c.serveLive(str)
	case StreamConfig:
		return c.serveConfig(str)
	case StreamAct:
		return c.serveAct(str)
	case StreamControl:
		return c.serveControl(str)
	}
	return WriteFrame(str, MsgError, ErrorMsg{Message: fmt.Sprintf("unknown stream kind %q", open.Kind)})
}

func (c *Client) serveFetch(str *quic.Stream) error {
	var req FetchReq
	if err := expectLimit(str, MsgFetch, &req, maxRequestFrame); err != nil {
		return err
	}
	switch req.Kind {
	case FetchOpen:
		return c.serveOpen(str, req)
	case FetchStatus:
		return c.serveStatus(str, req)
	}
	files := c.o.Files
	if req.Kind == FetchSnapshot {
		files = c.o.Snapshots
	}
	if files == nil {
		return WriteFrame(str, MsgError, ErrorMsg{Message: "this node serves no such files"})
	}
	f, err := files(req.Origin, req.Path)
	if err != nil {
		_ = WriteFrame(str, MsgError, ErrorMsg{Message: err.Error()})
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if req.Offset < 0 || req.Offset > st.Size() {
		return WriteFrame(str, MsgError, ErrorMsg{Message: fmt.Sprintf("offset %d outside the file's %d bytes", req.Offset, st.Size())})
	}
	if err := WriteFrame(str, MsgFetchHead, FetchHead{Size: st.Size()}); err != nil {
		return err
	}
	_, err = io.Copy(str, io.NewSectionReader(f, req.Offset, st.Size()-req.Offset))
	return err
}
