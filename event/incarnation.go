package event

import (
	"encoding/binary"
	"time"
)

// A node whose event store starts empty (a new install, or a replacement
// under an old ID after its disk was lost) is a new incarnation of its
// origin. Its sequence numbers start just above its incarnation number,
// which is the store's creation time in milliseconds since
// incarnationEpoch times seqsPerMilli. A previous incarnation could only
// have collided by storing more than 64 events per millisecond (64,000 a
// second) of its life on average — three orders of magnitude above a
// busy site — so the sequence ranges of two incarnations never meet and
// Origin/Seq stays a unique, stable ID at every tier. The numbers stay
// below 2^53 (exact in JavaScript) for about 4,000 years.
//
// Logs created before incarnations existed are incarnation 0 and keep
// counting from where they were.
const seqsPerMilli = 64

var incarnationEpoch = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// NewIncarnation is the incarnation number of a store created at t.
func NewIncarnation(t time.Time) uint64 {
	ms := t.Sub(incarnationEpoch) / time.Millisecond
	if ms < 1 {
		ms = 1
	}
	return uint64(ms) * seqsPerMilli
}

// IncarnationTime is when an incarnation's store was created (zero for 0).
func IncarnationTime(inc uint64) time.Time {
	if inc == 0 {
		return time.Time{}
	}
	return incarnationEpoch.Add(time.Duration(inc/seqsPerMilli) * time.Millisecond)
}

// Mark is how far a log holds one incarnation of an origin: every event of
// it up to Seq, none after. Holding nothing is Seq == Inc.
type Mark struct {
	Origin string `json:"origin"`
	Inc    uint64 `json:"inc,omitempty"`
	Seq    uint64 `json:"seq"`
}

// Key identifies the incarnation a mark is about.
func (m Mark) Key() string { return string(markKey(m.Origin, m.Inc)) }

// MarkOf is the key of the incarnation e belongs to, at e's Seq.
func MarkOf(e Event) Mark { return Mark{Origin: e.Origin, Inc: e.Inc, Seq: e.Seq} }

// markKey is origin, a zero byte and the incarnation: node IDs hold no
// zero byte, so keys of different origins never share a prefix.
func markKey(origin string, inc uint64) []byte {
	k := make([]byte, 0, len(origin)+9)
	k = append(k, origin...)
	k = append(k, 0)
	return binary.BigEndian.AppendUint64(k, inc)
}

func parseMarkKey(k []byte) (string, uint64, bool) {
	if len(k) < 9 || k[len(k)-9] != 0 {
		return "", 0, false
	}
	return string(k[:len(k)-9]), binary.BigEndian.Uint64(k[len(k)-8:]), true
}

// seqPosKey indexes an event's log position by its identity.
func seqPosKey(origin string, inc, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(markKey(origin, inc), seq)
}
