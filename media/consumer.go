package media

// Sink receives one session's access units, in order, from its own
// goroutine.
type Sink interface {
	WriteUnit(u *Unit) error
	Close() error
}

// Consumer is something fed by every camera session: the recorder, live
// muxers, analytics. It lives beside the units it takes so that consumers
// need not import the ingest that feeds them.
type Consumer struct {
	Name string
	// Queue is how many units may wait; when full, units are dropped and
	// counted so that ingest never stalls.
	Queue int
	// Critical consumers must never fall behind (the recorder): a drop
	// raises an alarm.
	Critical bool
	// SubStreams: the consumer also takes the sub-streams recorded beside
	// a camera's main stream ("Camera1~sub"); only the recorder does.
	SubStreams bool
	// Open starts the consumer for one session. reason explains why the
	// session starts (node start, reconnect) for gap records. A nil Sink
	// means the consumer does not take this camera.
	Open func(camera string, track Track, reason string) (Sink, error)
}
