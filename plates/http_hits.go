package plates

import (
	"encoding/json"
	"net/http"

	"github.com/kuzet/kuzet/event"
)

// PlateHit is one plate read found by a search.
type PlateHit struct {
	ID     string    `json:"id"` // origin/seq
	Node   string    `json:"node"`
	Camera string    `json:"camera"`
	Time   string    `json:"time"`
	Plate  string    `json:"plate"` // current: corrected if it was
	Read   PlateRead `json:"read"`  // as recognised
	// Corrected is the operator's correction, if any.
	Corrected *Correction `json:"corrected,omitempty"`
}

func hit(e event.Event, ix *Entry) PlateHit {
	h := PlateHit{ID: e.ID(), Node: e.Origin, Camera: e.Camera, Time: e.Time.UTC().Format("2006-01-02T15:04:05.000Z07:00")}
	_ = json.Unmarshal(e.Payload, &h.Read)
	h.Plate = h.Read.Plate
	if ix != nil {
		h.Plate, h.Corrected = ix.Plate, ix.Corrected
	}
	return h
}

// indexHits turns index entries into hits, with each read as recognised.
func (h Handlers) indexHits(found []Entry) ([]PlateHit, error) {
	hits := make([]PlateHit, 0, len(found))
	if len(found) == 0 {
		return hits, nil
	}
	pos := make([]uint64, len(found))
	for i, f := range found {
		pos[i] = f.Pos
	}
	evs, err := h.Events.Get(pos...)
	if err != nil {
		return nil, err
	}
	byPos := make(map[uint64]event.Event, len(evs))
	for _, e := range evs {
		byPos[e.Pos] = e
	}
	for i := range found {
		if e, ok := byPos[found[i].Pos]; ok {
			hits = append(hits, hit(e, &found[i]))
		}
	}
	return hits, nil
}

// lookupRead finds a read in the plate index, answering 404 or 500 itself.
func (h Handlers) lookupRead(w http.ResponseWriter, id string) (Entry, bool) {
	entry, ok, err := h.Index.Lookup(id)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return entry, false
	}
	if !ok {
		writeError(w, http.StatusNotFound, "no plate read "+id)
	}
	return entry, ok
}
