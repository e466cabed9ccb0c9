package federation

import (
	"time"

	"github.com/quic-go/quic-go"
)

// Stream lifecycle (docs/protocol.md, "Stream lifecycle and limits").
//
// quic-go forgets a bidirectional stream — and, for one the peer opened,
// only then grants the peer a new one in its place (MAX_STREAMS) — once
// both of its halves are done at this end:
//
//   - the send half: Close, and the FIN acknowledged (or reset after the
//     peer's STOP_SENDING);
//   - the receive half: read to io.EOF, or CancelRead — and in either case
//     the peer's final size known (its FIN or RESET_STREAM arrived).
//
// A stream whose receive half is neither read to the end nor cancelled
// keeps counting against the peer's limit until the connection ends: a
// child that only closed the streams its parent opened stalled the link
// after 100 of them (issue 12). So every stream, on either side and on
// every path, ends with finish.

// Streams a peer may have open towards this node at once, per link. They
// bound the goroutines and memory one link can take: a peer that wants
// more waits in OpenStreamSync until one of its streams is finished.
const (
	// parentAcceptsStreams bounds the streams a child opens at its parent:
	// control, events and alarms — three, with room for kinds to come.
	// With frames of at most MaxControlFrame, a child can make its parent
	// hold at most 16 × 8 MiB of frames.
	parentAcceptsStreams = 16
	// childAcceptsStreams bounds the streams a parent opens at its child:
	// the fetch queue (one file at a time), snapshots and index listings
	// an operator asks for, live relays, catalogue slices. It leaves room
	// above what the child serves at once (serveLimits) for streams that
	// wait for a slot or are refused.
	childAcceptsStreams = 128
)

// Flow-control windows, per link. QUIC never buffers more unread data than
// these for a peer, whatever it sends: a stream at most maxStreamWindow, a
// connection at most maxConnWindow. They are quic-go's defaults, set here
// so the bound is visible; a fragment transfer still fills a 100 Mbit/s
// link with 300 ms of round trip.
const (
	maxStreamWindow = 6 << 20
	maxConnWindow   = 15 << 20
)

// quicConfig is the QUIC configuration of both ends of a link: idle is the
// idle timeout (keep-alives go every third of it), incoming the number of
// bidirectional streams the peer may have open at once. Neither side uses
// unidirectional streams, so the peer may open none. Completed streams
// return their credit to the peer at once (RequireStreamCreditRelease is
// off): finishing a stream is all it takes.
func quicConfig(idle time.Duration, incoming int64) *quic.Config {
	return &quic.Config{
		MaxIdleTimeout:             idle,
		KeepAlivePeriod:            idle / 3,
		MaxIncomingStreams:         incoming,
		MaxIncomingUniStreams:      -1,
		MaxStreamReceiveWindow:     maxStreamWindow,
		MaxConnectionReceiveWindow: maxConnWindow,
	}
}

// streamDone is the application error code of STOP_SENDING when this end
// no longer reads a stream: not an error, the exchange is over.
const streamDone quic.StreamErrorCode = 0

// finish ends both halves of a stream, so that QUIC releases it and, for
// a stream the peer opened, gives the peer its credit back: Close sends
// the FIN after what was written, CancelRead stops whatever the peer still
// sends (a no-op once io.EOF was read). The peer's FIN or RESET_STREAM
// then completes the receive half. It is safe to call more than once and
// after either half ended on its own.
func finish(str *quic.Stream) {
	_ = str.Close()
	str.CancelRead(streamDone)
}
