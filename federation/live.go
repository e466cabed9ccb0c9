package federation

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/kuzet/kuzet/media"
	"github.com/kuzet/kuzet/replicate"
)

// LiveFeed is a camera's live access units: a local session or one relayed
// from a child over its link (NVMS-6.20).
type LiveFeed interface {
	Track() media.Track
	// Next blocks for the next unit; it fails when the feed ends.
	Next(ctx context.Context) (*media.Unit, error)
	Close() error
}

// LiveSource opens a live feed of origin's camera on this node.
type LiveSource func(ctx context.Context, origin, camera string) (LiveFeed, error)

// maxLiveUnit bounds one relayed access unit.
const maxLiveUnit = 4 << 20

// appendUnit encodes a unit: pts:int64 time:int64 count:uint16, then
// length:uint32 bytes for each NAL unit.
func appendUnit(buf []byte, u *media.Unit) []byte {
	buf = binary.BigEndian.AppendUint64(buf, uint64(u.PTS))
	buf = binary.BigEndian.AppendUint64(buf, uint64(u.Time.UnixNano()))
	buf = binary.BigEndian.AppendUint16(buf, uint16(len(u.NALUs)))
	for _, n := range u.NALUs {
		buf = binary.BigEndian.AppendUint32(buf, uint32(len(n)))
		buf = append(buf, n...)
	}
	return buf
}

// decodeUnit parses appendUnit's encoding.
func decodeUnit(p []byte) (*media.Unit, error) {
	if len(p) < 18 {
		return nil, &FrameError{fmt.Sprintf("live unit of %d bytes is shorter than its header", len(p))}
	}
	u := &media.Unit{
		PTS:  int64(binary.BigEndian.Uint64(p)),
		Time: time.Unix(0, int64(binary.BigEndian.Uint64(p[8:]))),
	}
	n := int(binary.BigEndian.Uint16(p[16:]))
	p = p[18:]
	if n == 0 || n > 1024 {
		return nil, &FrameError{fmt.Sprintf("live unit with %d NAL units", n)}
	}
	u.NALUs = make([][]byte, 0, n)
	for i := range n {
		if len(p) < 4 {
			return nil, &FrameError{fmt.Sprintf("live unit truncated at NAL unit %d", i)}
		}
		l := binary.BigEndian.Uint32(p)
		if uint64(l) > uint64(len(p)-4) {
			return nil, &FrameError{fmt.Sprintf("live unit NAL unit %d claims %d bytes, %d remain", i, l, len(p)-4)}
		}
		u.NALUs = append(u.NALUs, p[4:4+l])
		u.Size += int(l)
		p = p[4+l:]
	}
	if len(p) != 0 {
		return nil, &FrameError{fmt.Sprintf("live unit has %d trailing bytes", len(p))}
	}
	return u, nil
}

func writeUnitFrame(w io.Writer, u *media.Unit) error {
	buf := make([]byte, headerLen, headerLen+18+u.Size+4*len(u.NALUs))
	buf = appendUnit(buf, u)
	buf[0], buf[1] = WireVersion, byte(MsgLiveUnit)
	binary.BigEndian.PutUint32(buf[2:], uint32(len(buf)-headerLen))
	_, err := w.Write(buf)
	return err
}

// remoteFeed reads a live stream relayed by a child.
type remoteFeed struct {
	str   *quic.Stream
	track media.Track
}

func (f *remoteFeed) Track() media.Track { return f.track }

func (f *remoteFeed) Next(ctx context.Context) (*media.Unit, error) {
	stop := context.AfterFunc(ctx, func() { f.str.CancelRead(streamDone) })
	defer stop()
	_ = f.str.SetReadDeadline(time.Now().Add(30 * time.Second)) // a stalled relay ends
	t, payload, err := ReadFrame(f.str, maxLiveUnit)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	if t == MsgError {
		return nil, fmt.Errorf("live relay ended by the child: %s", payload)
	}
	if t != MsgLiveUnit {
		return nil, &FrameError{"expected live-unit, got " + t.String()}
	}
	return decodeUnit(payload)
}

// Close ends the relay: the child sees STOP_SENDING, detaches from the
// session and finishes its end of the stream.
func (f *remoteFeed) Close() error {
	finish(f.str)
	return nil
}

// ErrNoRoute means no linked child leads to the origin. It is the
// puller's own, so that every request for a descendant's video, live or
// recorded, fails the same way.
var ErrNoRoute = replicate.ErrNoRoute

// OpenLive asks the child that leads to origin to relay its camera live.
func (s *Server) OpenLive(ctx context.Context, origin, camera string) (LiveFeed, error) {
	conn, child, ok := s.route(origin)
	if !ok {
		return nil, fmt.Errorf("live %s/%s: %w", origin, camera, ErrNoRoute)
	}
	str, err := conn.OpenStreamSync(ctx)
	if err != nil {
		return nil, fmt.Errorf("live %s/%s via %s: %w", origin, camera, child, err)
	}
	handedOver := false
	defer func() {
		if !handedOver {
			finish(str)
		}
	}()
	if err := WriteFrame(str, MsgOpen, Open{Kind: StreamLive}); err != nil {
		return nil, err
	}
	if err := WriteFrame(str, MsgLiveReq, LiveReq{Origin: origin, Camera: camera}); err != nil {
		return nil, err
	}
	_ = str.Close() // the request is all the ancestor sends; it ends the relay with STOP_SENDING
	_ = str.SetReadDeadline(time.Now().Add(20 * time.Second))
	var tr LiveTrack
	if err := Expect(str, MsgLiveTrack, &tr); err != nil {
		return nil, fmt.Errorf("live %s/%s via %s: %w", origin, camera, child, err)
	}
	codec := media.Codec(tr.Codec)
	if !codec.Known() {
		return nil, fmt.Errorf("live %s/%s: unsupported codec %q", origin, camera, tr.Codec)
	}
	handedOver = true // the feed's Close finishes the stream
	return &remoteFeed{str: str, track: media.Track{Codec: codec, VPS: tr.VPS, SPS: tr.SPS, PPS: tr.PPS,
		Config: tr.Config, Width: tr.Width, Height: tr.Height}}, nil
}

// serveLive relays a feed to the parent until either side ends.
func (c *Client) serveLive(str *quic.Stream) error {
	var req LiveReq
	if err := expectLimit(str, MsgLiveReq, &req, maxRequestFrame); err != nil {
		return err
	}
	if c.o.Live == nil {
		return WriteFrame(str, MsgError, ErrorMsg{Message: "this node relays no live video"})
	}
	ctx := str.Context() // ends when the parent stops reading
	feed, err := c.o.Live(ctx, req.Origin, req.Camera)
	if err != nil {
		return WriteFrame(str, MsgError, ErrorMsg{Message: err.Error()})
	}
	defer feed.Close()
	tr := feed.Track()
	if err := WriteFrame(str, MsgLiveTrack, LiveTrack{Codec: string(tr.Codec), VPS: tr.VPS, SPS: tr.SPS, PPS: tr.PPS,
		Config: tr.Config, Width: tr.Width, Height: tr.Height}); err != nil {
		return err
	}
	c.o.Logger.Info("live relay started", "origin", req.Origin, "camera", req.Camera)
	defer c.o.Logger.Info("live relay stopped", "origin", req.Origin, "camera", req.Camera)
	for {
		u, err := feed.Next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			_ = WriteFrame(str, MsgError, ErrorMsg{Message: err.Error()})
			return err
		}
		if err := writeUnitFrame(str, u); err != nil {
			return nil // the parent went away
		}
	}
}
