package federation

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// What a child serves its parent at once, per link and per stream kind.
// A request beyond its kind's limit waits up to serveWait for a slot and
// is then refused with an error frame ("busy"), which the parent handles
// as any refusal: the fetch queue tries the file again a second later, an
// operator's snapshot or live view reports the error. Waiting absorbs a
// burst (an operator opening a wall of snapshots) without failing it;
// refusing in the end keeps a stuck request from holding the parent's
// streams, and so its fetch queue and catalogue slices, forever. Live
// relays last as long as someone watches, so they have slots of their own
// and never starve the short requests.
//
// The waiting streams are bounded too: the parent can have at most
// childAcceptsStreams open, more than the sum of these limits.
var serveLimits = map[string]int{
	StreamFetch:   32, // segment files and snapshots: an open file each, streamed under flow control
	StreamIndex:   2,  // one per link-up
	StreamConfig:  2,  // one at a time from the config loop; a slice may take MaxControlFrame
	StreamLive:    64, // relays watched at once through this link
	StreamAct:     8,  // operators' acts on alarms below, each answered in a moment
	StreamControl: 8,  // operators turning cameras below, each answered in a moment
}

// serveWait is how long a request waits for a slot before it is refused:
// less than the parent waits for any answer (20 s for a live track, more
// for the rest), so the parent hears why rather than timing out.
var serveWait = 10 * time.Second

// requestTimeout bounds how long the parent may take to send a request
// once it opened a stream: it sends it at once.
const requestTimeout = 30 * time.Second

// maxRequestFrame bounds the frames that open a stream and ask for a
// file, an index or a relay; only catalogue slices are larger.
const maxRequestFrame = 64 << 10

// serveSlots are one link's semaphores, one per stream kind.
type serveSlots map[string]chan struct{}

func newServeSlots() serveSlots {
	s := serveSlots{}
	for kind, n := range serveLimits {
		s[kind] = make(chan struct{}, n)
	}
	return s
}

// busyError is the refusal of a request beyond its kind's limit.
type busyError struct {
	kind  string
	limit int
}

func (e *busyError) Error() string {
	return fmt.Sprintf("busy: %d %s requests in service on this link", e.limit, e.kind)
}

// acquire takes a slot for a request of kind, waiting up to serveWait; it
// returns the function that gives the slot back. Kinds without a limit
// (unknown ones, refused anyway) take none.
func (s serveSlots) acquire(ctx context.Context, kind string) (func(), error) {
	sem, ok := s[kind]
	if !ok {
		return func() {}, nil
	}
	release := func() { <-sem }
	select {
	case sem <- struct{}{}:
		return release, nil
	default:
	}
	t := time.NewTimer(serveWait)
	defer t.Stop()
	select {
	case sem <- struct{}{}:
		return release, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-t.C:
		return nil, &busyError{kind: kind, limit: cap(sem)}
	}
}

// expectLimit reads one frame of type want, of at most limit bytes, into
// v; an error frame from the peer becomes an error carrying its message.
func expectLimit(r io.Reader, want MsgType, v any, limit int) error {
	t, payload, err := ReadFrame(r, limit)
	if err != nil {
		return err
	}
	if t == MsgError && want != MsgError {
		var e ErrorMsg
		_ = json.Unmarshal(payload, &e)
		if e.Refused {
			return refusedError(e.Message)
		}
		return fmt.Errorf("peer refused: %s", e.Message)
	}
	if t != want {
		return &FrameError{fmt.Sprintf("got %s, expected %s", t, want)}
	}
	if err := json.Unmarshal(payload, v); err != nil {
		return &FrameError{fmt.Sprintf("%s payload: %v", t, err)}
	}
	return nil
}
