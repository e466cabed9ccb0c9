package plates

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"log/slog"

	bolt "go.etcd.io/bbolt"

	"github.com/kuzet/kuzet/event"
)

// Follow indexes the log's plate reads (events of kind readKind whose
// payload has a "plate", and a "confidence") and corrections until ctx
// ends. The index keeps its own position, so it is rebuilt from the log,
// uncertain queue included, if its file is lost.
func (x *Index) Follow(ctx context.Context, log *event.Log, readKind string, logger *slog.Logger) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	log.Hold("plate index", x.Position)
	log.Follow(ctx, func() (int, error) { return x.catchUp(log, readKind) },
		func(err error) { logger.Error("plate index", "err", err) })
}

// catchUp indexes the next batch of the log; it returns how many events it
// read. The position is read and moved in one transaction, so a Sync from
// a request and the follower never index a batch twice.
func (x *Index) catchUp(log *event.Log, readKind string) (int, error) {
	n := 0
	err := x.db.Update(func(tx *bolt.Tx) error {
		var pos uint64
		if v := tx.Bucket(bucketMeta).Get(keyPos); len(v) == 8 {
			pos = binary.BigEndian.Uint64(v)
		}
		batch, err := log.Range(pos, 512)
		if err != nil || len(batch) == 0 {
			return err
		}
		n = len(batch)
		for _, e := range batch {
			switch e.Kind {
			case readKind:
				var r struct {
					Plate      string  `json:"plate"`
					Confidence float64 `json:"confidence"`
				}
				if json.Unmarshal(e.Payload, &r) != nil || r.Plate == "" {
					continue
				}
				if tx.Bucket(bucketByRead).Get([]byte(e.ID())) != nil {
					continue
				}
				en := Entry{ID: e.ID(), Origin: e.Origin, Camera: e.Camera, Plate: r.Plate, Time: e.Time, Pos: e.Pos, Confidence: r.Confidence}
				if err := x.put(tx, en); err != nil {
					return err
				}
				if err := x.applyPending(tx, en.ID); err != nil {
					return err
				}
				if err := matchWatch(tx, e, r.Plate); err != nil {
					return err
				}
			case KindWatchSet, KindWatchRemoved:
				if err := foldWatch(tx, e); err != nil {
					return err
				}
			case KindCorrected:
				var c Correction
				if json.Unmarshal(e.Payload, &c) != nil || c.Read == "" || c.Plate == "" {
					continue
				}
				if err := x.correct(tx, c); err != nil {
					return err
				}
			}
		}
		return tx.Bucket(bucketMeta).Put(keyPos, binary.BigEndian.AppendUint64(nil, batch[len(batch)-1].Pos))
	})
	return n, err
}

// Sync indexes everything the log holds now.
func (x *Index) Sync(log *event.Log, readKind string) error {
	for {
		n, err := x.catchUp(log, readKind)
		if err != nil || n == 0 {
			return err
		}
	}
}
