package anpr

import (
	"encoding/json"
	"fmt"

	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/plates"
)

// eventSearcher is the part of event.Log that finds the passes stored
// before a kill.
type eventSearcher interface {
	Last() uint64
	Search(limit int, match func(event.Event) bool) ([]event.Event, error)
}

// logLast is the event log's last position (0 when Events cannot tell).
func (c *Consumer) logLast() uint64 {
	if s, ok := c.o.Events.(eventSearcher); ok {
		return s.Last()
	}
	return 0
}

// Replay makes passes of the camera reads a node killed before their
// passes were stored left in the journal, each camera's in arrival order
// with its original times, and stores them; reads a stored plate.read
// already names are only released. Call it before the consumer takes
// reads.
func (c *Consumer) Replay() error {
	j := c.o.Journal
	if j == nil {
		return nil
	}
	left, err := j.Pending()
	if err != nil {
		// the readable ones still become passes
		c.o.Logger.Error("camera read journal", "err", err)
	}
	if len(left) == 0 {
		return nil
	}
	stored, err := c.storedReads(left)
	if err != nil {
		return fmt.Errorf("find the passes of journaled camera reads: %w", err)
	}
	var done []string
	byCamera := map[string][]JournaledRead{}
	var cameras []string
	for _, r := range left {
		if stored[r.Camera+"\x00"+r.Read.ID] {
			done = append(done, r.Read.ID)
			continue
		}
		if byCamera[r.Camera] == nil {
			cameras = append(cameras, r.Camera)
		}
		byCamera[r.Camera] = append(byCamera[r.Camera], r)
	}
	if err := j.Release(done...); err != nil {
		return err
	}
	for _, cam := range cameras {
		c.replayCamera(cam, byCamera[cam])
	}
	c.o.Logger.Info("journaled camera reads replayed", "replayed", len(left)-len(done), "stored_before", len(done))
	return nil
}

// storedReads are the journaled reads (camera NUL ID) that a plate.read
// stored after them names.
func (c *Consumer) storedReads(left []JournaledRead) (map[string]bool, error) {
	s, ok := c.o.Events.(eventSearcher)
	if !ok {
		return nil, nil
	}
	after := left[0].After
	for _, r := range left {
		after = min(after, r.After)
	}
	stored := map[string]bool{}
	// limit 1 with a match only at the first event older than every read
	// left: the walk back stops there
	_, err := s.Search(1, func(e event.Event) bool {
		if e.Pos <= after {
			return true
		}
		if e.Kind != plates.KindPlateRead {
			return false
		}
		var pr struct {
			CameraReads []string `json:"camera_reads"`
		}
		if json.Unmarshal(e.Payload, &pr) == nil {
			for _, id := range pr.CameraReads {
				stored[e.Camera+"\x00"+id] = true
			}
		}
		return false
	})
	return stored, err
}

// replayCamera tracks one camera's journaled reads as the camera's own
// tracker did, on their arrival times, and stores the passes.
func (c *Consumer) replayCamera(camera string, reads []JournaledRead) {
	cam, _ := c.o.Camera(camera)
	onPass := func(s Snapshot) { c.storeCameraPass(camera, s) }
	m := newMerger(AnalyzerOptions{Camera: camera, Recognizer: Options{Countries: cam.ANPR.Countries}, OnPass: onPass}, false)
	for _, r := range reads {
		m.tick(r.Arrived) // the passes that ended before it leave
		m.external(externalMsg{r: r.Read, onPass: onPass}, r.Arrived)
	}
	m.drain(nil)
}
