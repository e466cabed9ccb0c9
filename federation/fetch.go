package federation

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/kuzet/kuzet/archive"
	"github.com/kuzet/kuzet/replicate"
)

// FragmentStore is where a parent assembles and keeps children's segments.
type FragmentStore interface {
	PartPath(origin, rel string) (string, error)
	MkdirFor(file string) error
	ImportReplica(origin string, s archive.Segment, part string) error
}

// Fragments configure a parent's pulling of segment files (NVMS-6.7,
// NVMS-6.19): a durable queue, where files go, and the bandwidth caps.
type Fragments struct {
	Queue    *replicate.Queue
	Store    FragmentStore
	PerChild float64 // bytes per second per child link (0: unlimited)
	Total    *replicate.Limiter
	// Reconcile gets a child's index after every link-up and queues what
	// this node lacks (NVMS-6.9); Backfill is how far back it looks.
	Reconcile func(child string, listed []IndexEntry) (queued int, err error)
	Backfill  time.Duration
}

// FileSource resolves a segment a child serves: its own or a replica.
type FileSource func(origin, rel string) (string, error)

// fetchLoop pulls the child's queued files one at a time until the link or
// ctx ends. Files resume from what the part file already holds.
func (s *Server) fetchLoop(ctx context.Context, conn *quic.Conn, child string) {
	fr := s.o.Fragments
	perChild := replicate.NewLimiter(fr.PerChild)
	log := s.o.Logger.With("child", child)
	for {
		f, ok, err := fr.Queue.Next(child)
		if err != nil {
			log.Error("read fetch queue", "err", err)
			return
		}
		if !ok {
			select {
			case <-ctx.Done():
				return
			case <-fr.Queue.Wake(child):
			case <-time.After(5 * time.Second):
			}
			continue
		}
		start := time.Now()
		n, err := s.fetchOne(ctx, conn, f, perChild)
		s.o.Metrics.FragmentBytes.WithLabelValues(child).Add(float64(n))
		if err == nil {
			if derr := fr.Queue.Done(f); derr != nil {
				log.Error("dequeue fetch", "err", derr)
			}
			s.o.Metrics.Fragments.WithLabelValues(child).Inc()
			log.Info("fragment stored", "origin", f.Origin, "path", f.Path, "bytes", f.Bytes,
				"resumed_from", f.Bytes-n, "seconds", time.Since(start).Seconds())
			continue
		}
		if ctx.Err() != nil || conn.Context().Err() != nil {
			return
		}
		if errors.Is(err, archive.ErrReplicaRefused) {
			// the file conflicts with what this node holds: retrying would
			// only download it again to refuse it again
			log.Error("fragment refused", "origin", f.Origin, "path", f.Path, "err", err)
			if derr := fr.Queue.Done(f); derr != nil {
				log.Error("dequeue fetch", "err", derr)
			}
			continue
		}
		log.Warn("fragment fetch failed", "origin", f.Origin, "path", f.Path, "err", err)
		if s.rebind(f) {
			continue
		}
		_ = fr.Queue.Failed(f)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

// rebind moves a failed fetch to the child that now leads to its origin,
// when that is another one: the replica whose link announced the segment
// may have lost it with its disk, or never held it, while the origin now
// links through a sibling replica of its tier that does.
func (s *Server) rebind(f replicate.Fetch) bool {
	_, child, ok := s.route(f.Origin)
	if !ok || child == f.Child {
		return false
	}
	moved := f
	moved.Child, moved.Tries = child, 0
	if err := s.o.Fragments.Queue.Add(moved); err != nil {
		s.o.Logger.Error("move fetch", "origin", f.Origin, "path", f.Path, "to", child, "err", err)
		return false
	}
	if err := s.o.Fragments.Queue.Done(f); err != nil {
		s.o.Logger.Error("dequeue moved fetch", "origin", f.Origin, "path", f.Path, "err", err)
	}
	s.o.Logger.Info("fetch moved to the child that now leads to its origin", "origin", f.Origin, "path", f.Path,
		"from", f.Child, "to", child)
	return true
}

// fetchOne pulls one file into its part file, verifies it and hands it to
// the store. It returns the bytes transferred.
func (s *Server) fetchOne(ctx context.Context, conn *quic.Conn, f replicate.Fetch, perChild *replicate.Limiter) (int64, error) {
	fr := s.o.Fragments
	part, err := fr.Store.PartPath(f.Origin, f.Path)
	if err != nil {
		return 0, err
	}
	if err := fr.Store.MkdirFor(part); err != nil {
		return 0, err
	}
	file, err := os.OpenFile(part, os.O_RDWR|os.O_CREATE, 0o640) // the archive's file mode
	if err != nil {
		return 0, err
	}
	defer file.Close()
	st, err := file.Stat()
	if err != nil {
		return 0, err
	}
	offset := st.Size()
	if offset > f.Bytes {
		offset = 0 // not this file: start over
		if err := file.Truncate(0); err != nil {
			return 0, err
		}
	}
	var n int64
	if offset < f.Bytes {
		n, err = s.download(ctx, conn, f, file, offset, perChild)
		if err != nil {
			return n, err
		}
	}
	if err := file.Sync(); err != nil {
		return n, err
	}
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(file, 0, f.Bytes)); err != nil {
		return n, err
	}
	if sum := hex.EncodeToString(h.Sum(nil)); sum != f.SHA256 {
		_ = os.Remove(part) // corrupt: the next attempt starts clean
		return n, fmt.Errorf("sha256 %s does not match the recorded %s", sum, f.SHA256)
	}
	seg := archive.Segment{Camera: f.Camera, Start: f.Start, End: f.End, Path: f.Path, Bytes: f.Bytes, SHA256: f.SHA256}
	return n, fr.Store.ImportReplica(f.Origin, seg, part)
}

func (s *Server) download(ctx context.Context, conn *quic.Conn, f replicate.Fetch, file *os.File, offset int64, perChild *replicate.Limiter) (int64, error) {
	str, err := conn.OpenStreamSync(ctx)
	if err != nil {
		return 0, fmt.Errorf("open fetch stream: %w", err)
	}
	defer finish(str)
	if err := WriteFrame(str, MsgOpen, Open{Kind: StreamFetch}); err != nil {
		return 0, err
	}
	if err := WriteFrame(str, MsgFetch, FetchReq{Origin: f.Origin, Path: f.Path, Offset: offset}); err != nil {
		return 0, err
	}
	_ = str.Close() // the request is all the parent sends
	// a child may first pull the file from its own child (on-demand fetch
	// of a grandchild's segment), so its answer may take a while
	_ = str.SetReadDeadline(time.Now().Add(2 * time.Minute))
	var head FetchHead
	if err := Expect(str, MsgFetchHead, &head); err != nil {
		return 0, err
	}
	if head.Size != f.Bytes {
		return 0, fmt.Errorf("child holds %d bytes, the segment has %d", head.Size, f.Bytes)
	}
	if _, err := file.Seek(offset, io.SeekStart); err != nil {
		return 0, err
	}
	_ = str.SetReadDeadline(time.Time{})
	src := &replicate.LimitedReader{Ctx: ctx, R: &idleReader{str: str}, Limiters: []*replicate.Limiter{perChild, s.o.Fragments.Total}}
	n, err := io.CopyN(file, src, f.Bytes-offset)
	if err != nil {
		return n, fmt.Errorf("receive %s at %d: %w", f.Path, offset+n, err)
	}
	return n, nil
}

// idleReader fails a read that waits longer than a minute, so a stalled
// child does not hold a fetch forever.
type idleReader struct{ str *quic.Stream }

func (r *idleReader) Read(p []byte) (int, error) {
	_ = r.str.SetReadDeadline(time.Now().Add(time.Minute))
	return r.str.Read(p)
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
	}
	return WriteFrame(str, MsgError, ErrorMsg{Message: fmt.Sprintf("unknown stream kind %q", open.Kind)})
}

func (c *Client) serveFetch(str *quic.Stream) error {
	var req FetchReq
	if err := expectLimit(str, MsgFetch, &req, maxRequestFrame); err != nil {
		return err
	}
	files := c.o.Files
	if req.Kind == FetchSnapshot {
		files = c.o.Snapshots
	}
	if files == nil {
		return WriteFrame(str, MsgError, ErrorMsg{Message: "this node serves no such files"})
	}
	path, err := files(req.Origin, req.Path)
	if err != nil {
		_ = WriteFrame(str, MsgError, ErrorMsg{Message: err.Error()})
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		_ = WriteFrame(str, MsgError, ErrorMsg{Message: "segment unreadable"})
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
