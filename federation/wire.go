package federation

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/kuzet/kuzet/event"
)

// Frame layout on every stream (docs/protocol.md):
//
//	version:uint8 type:uint8 length:uint32 (big endian) payload:length bytes
//
// Payloads are JSON objects. A frame with an unknown version or type, or
// longer than the stream's limit, ends the stream with an error.
const (
	WireVersion = 1
	headerLen   = 6
	// MaxControlFrame bounds frames on control, alarm and event streams.
	MaxControlFrame = 8 << 20
)

// MsgType identifies a frame's payload.
type MsgType uint8

// Message types.
const (
	MsgHello       MsgType = 0x01 // child → parent, first frame of the control stream
	MsgWelcome     MsgType = 0x02 // parent → child, answer to Hello
	MsgPing        MsgType = 0x03 // child → parent, heartbeat
	MsgPong        MsgType = 0x04 // parent → child
	MsgOpen        MsgType = 0x05 // first frame of every other stream: its kind
	MsgEvents      MsgType = 0x10 // a batch of events
	MsgAck         MsgType = 0x11 // the receiver stored a batch
	MsgOffer       MsgType = 0x12 // child → parent, after opening the events stream: what it holds
	MsgHoldings    MsgType = 0x13 // parent → child: how far it holds each offered incarnation
	MsgFetch       MsgType = 0x20 // parent → child: send a segment file from an offset
	MsgFetchHead   MsgType = 0x21 // child → parent: the file's size; raw bytes follow
	MsgIndexReq    MsgType = 0x22 // parent → child: list your segments since a time
	MsgIndex       MsgType = 0x23 // child → parent: a batch of that list
	MsgLiveReq     MsgType = 0x30 // ancestor → child: relay a camera's live stream
	MsgLiveTrack   MsgType = 0x31 // child → ancestor: the stream's codec and parameter sets
	MsgLiveUnit    MsgType = 0x32 // child → ancestor: one access unit (binary payload)
	MsgConfig      MsgType = 0x40 // parent → child: the child's slice of the catalogue
	MsgAlarmAct    MsgType = 0x50 // ancestor → child: an operator's act on an alarm of the child's subtree
	MsgActDone     MsgType = 0x51 // child → ancestor: the alarm's origin applied the act (or had already)
	MsgControl     MsgType = 0x52 // ancestor → child: an operator's request to a camera below (PTZ)
	MsgControlDone MsgType = 0x53 // child → ancestor: the camera node's answer
	MsgError       MsgType = 0x7f // the sender refuses; payload says why
)

var msgNames = map[MsgType]string{
	MsgHello: "hello", MsgWelcome: "welcome", MsgPing: "ping", MsgPong: "pong", MsgOpen: "open",
	MsgEvents: "events", MsgAck: "ack", MsgOffer: "offer", MsgHoldings: "holdings", MsgFetch: "fetch", MsgFetchHead: "fetch-head",
	MsgIndexReq: "index-request", MsgIndex: "index", MsgLiveReq: "live-request", MsgLiveTrack: "live-track",
	MsgLiveUnit: "live-unit", MsgConfig: "config", MsgAlarmAct: "alarm-act", MsgActDone: "act-done", MsgControl: "control", MsgControlDone: "control-done", MsgError: "error",
}

func (t MsgType) String() string {
	if n, ok := msgNames[t]; ok {
		return n
	}
	return fmt.Sprintf("0x%02x", uint8(t))
}

// Stream kinds, named in MsgOpen. Alarms have their own stream so that
// they never wait behind a batch of ordinary events (NVMS-7.1, UA-3.19).
const (
	StreamEvents  = "events"
	StreamAlarms  = "alarms"  // urgent copies, ahead of the ordered events
	StreamFetch   = "fetch"   // opened by the parent, one per file
	StreamIndex   = "index"   // opened by the parent after every link-up (back-fill)
	StreamLive    = "live"    // opened by the parent, one per relayed camera
	StreamConfig  = "config"  // opened by the parent: catalogue slices as they change
	StreamAct     = "act"     // opened by an ancestor, one per operator's act on an alarm below
	StreamControl = "control" // opened by an ancestor, one per operator's request to a camera below
)

// Hello introduces a child. NodeID must match its certificate.
type Hello struct {
	NodeID  string `json:"node_id"`
	Version string `json:"version"`
	Time    int64  `json:"time_unix_nano"`
}

// Welcome answers Hello.
type Welcome struct {
	NodeID string `json:"node_id"`
	Time   int64  `json:"time_unix_nano"`
}

// Ping carries the sender's clock; Pong adds the receiver's.
type Ping struct {
	Sent int64 `json:"sent_unix_nano"`
}

// Pong answers Ping.
type Pong struct {
	Sent     int64 `json:"sent_unix_nano"`
	Received int64 `json:"received_unix_nano"`
}

// Open names a stream's kind.
type Open struct {
	Kind string `json:"kind"`
}

// Events is a batch; Ack confirms it was stored.
type Events struct {
	Events []event.Event `json:"events"`
	// Dropped, on the events stream, names incarnations whose events
	// before the batch's this node no longer holds (see Offer): the
	// parent takes them as forgone first, then stores the batch.
	Dropped []event.Mark `json:"dropped,omitempty"`
}

// Ack confirms the batch ending with Through (the sender's log position).
// On the events stream it also says how far the receiver now holds each
// incarnation in the batch (Marks), where the batch did not follow on
// from what it holds (Gaps: the sender resends from there), and which
// origins it refuses from this sender (Refused).
type Ack struct {
	Through uint64       `json:"through"`
	Stored  int          `json:"stored"`
	Marks   []event.Mark `json:"marks,omitempty"`
	Gaps    []event.Mark `json:"gaps,omitempty"`
	Refused []Refusal    `json:"refused,omitempty"`
}

// Offer lists, per origin incarnation, the last event the child holds,
// and the last it no longer holds because its retention (or a tier below
// it) dropped it: a parent that lacks those takes them as forgone rather
// than waiting for them.
type Offer struct {
	Marks   []event.Mark `json:"marks"`
	Dropped []event.Mark `json:"dropped,omitempty"`
}

// Holdings answers Offer: how far the parent holds each offered
// incarnation (Seq == Inc: none of it), and the origins it will not take
// from this child. The child sends from there on.
type Holdings struct {
	Marks   []event.Mark `json:"marks"`
	Refused []Refusal    `json:"refused,omitempty"`
}

// Refusal names an origin a parent will not take from a child, and why.
type Refusal struct {
	Origin string `json:"origin"`
	Reason string `json:"reason"`
}

// FetchReq asks for a segment file recorded by Origin, from Offset on, or
// with Kind "snapshot" for one of its plate snapshots (a JPEG).
type FetchReq struct {
	Origin string `json:"origin"`
	Path   string `json:"path"`
	Offset int64  `json:"offset"`
	Kind   string `json:"kind,omitempty"`
	Camera string `json:"camera,omitempty"` // of a FetchOpen
}

// FetchSnapshot is the FetchReq kind of plate snapshots.
const FetchSnapshot = "snapshot"

// FetchOpen is the FetchReq kind of the file a camera is writing: Camera
// names it, Path is the open file of which the parent holds Offset bytes
// already ("" for none).
const FetchOpen = "open"

// FetchHead announces the file's size; Size-Offset raw bytes follow and
// the stream ends. The head of an open file also names it and says where
// its bytes start: at the offset asked for when the parent holds a prefix
// of the same file, else at 0.
type FetchHead struct {
	Size  int64  `json:"size"`
	Path  string `json:"path,omitempty"`
	Start int64  `json:"start_unix_nano,omitempty"`
	From  int64  `json:"from,omitempty"`
}

// IndexReq asks for the segments a child holds (its own and its
// subtree's replicas) that started at or after Since.
type IndexReq struct {
	Since int64 `json:"since_unix_nano"`
}

// IndexEntry is one segment in a child's index.
type IndexEntry struct {
	Origin  string        `json:"origin"`
	Segment event.Segment `json:"segment"`
}

// IndexBatch is part of the answer; the last has More false.
type IndexBatch struct {
	Segments []IndexEntry `json:"segments"`
	More     bool         `json:"more"`
}

// LiveReq asks for Origin's camera live: the child relays its own camera
// or asks its own child in turn.
type LiveReq struct {
	Origin string `json:"origin"`
	Camera string `json:"camera"`
}

// LiveTrack describes the relayed stream; access units follow.
type LiveTrack struct {
	Codec  string `json:"codec"`
	VPS    []byte `json:"vps,omitempty"`
	SPS    []byte `json:"sps,omitempty"`
	PPS    []byte `json:"pps,omitempty"`
	Config []byte `json:"config,omitempty"` // MPEG-4 Part 2 headers
	Width  int    `json:"width,omitempty"`  // M-JPEG's size
	Height int    `json:"height,omitempty"`
}

// Config carries a child's slice of the catalogue at a revision; the
// child stores it durably and answers Ack{Through: Revision}.
type Config struct {
	Revision uint64          `json:"revision"`
	Slice    json.RawMessage `json:"slice"`
}

// ErrorMsg explains a refusal.
type ErrorMsg struct {
	Message string `json:"message"`
	// Refused marks a refusal that no retry changes (an alarm act the
	// origin does not allow); other errors may pass.
	Refused bool `json:"refused,omitempty"`
}

// FrameError is a malformed or unacceptable frame.
type FrameError struct{ Msg string }

func (e *FrameError) Error() string { return "bad frame: " + e.Msg }

// WriteFrame writes one frame.
func WriteFrame(w io.Writer, t MsgType, v any) error {
	payload, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", t, err)
	}
	buf := make([]byte, headerLen, headerLen+len(payload))
	buf[0] = WireVersion
	buf[1] = byte(t)
	binary.BigEndian.PutUint32(buf[2:], uint32(len(payload)))
	buf = append(buf, payload...)
	_, err = w.Write(buf)
	return err
}

// frameChunk is how much of a frame's payload ReadFrame allocates before
// any of it has arrived; beyond it the buffer grows as bytes arrive.
const frameChunk = 64 << 10

// ReadFrame reads one frame of at most limit payload bytes. It does not
// trust the announced length with memory: the payload buffer starts at
// frameChunk at most and at most doubles what has actually arrived, so a
// peer that announces a large frame and sends little costs little.
func ReadFrame(r io.Reader, limit int) (MsgType, []byte, error) {
	var h [headerLen]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return 0, nil, err
	}
	if h[0] != WireVersion {
		return 0, nil, &FrameError{fmt.Sprintf("wire version %d, this node speaks %d", h[0], WireVersion)}
	}
	t := MsgType(h[1])
	if _, ok := msgNames[t]; !ok {
		return 0, nil, &FrameError{fmt.Sprintf("unknown message type %s", t)}
	}
	n := binary.BigEndian.Uint32(h[2:])
	if int64(n) > int64(limit) {
		return 0, nil, &FrameError{fmt.Sprintf("%s frame of %d bytes exceeds the %d-byte limit", t, n, limit)}
	}
	size := int(n)
	payload := make([]byte, 0, min(size, frameChunk))
	for len(payload) < size {
		if len(payload) == cap(payload) {
			payload = slices.Grow(payload, min(len(payload), size-len(payload)))
		}
		got, err := io.ReadFull(r, payload[len(payload):min(cap(payload), size)])
		payload = payload[:len(payload)+got]
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return 0, nil, fmt.Errorf("read %s payload: %w", t, err)
		}
	}
	return t, payload, nil
}

// Expect reads one frame of type want into v; an error frame from the peer
// becomes an error carrying its message.
func Expect(r io.Reader, want MsgType, v any) error {
	return expectLimit(r, want, v, MaxControlFrame)
}
