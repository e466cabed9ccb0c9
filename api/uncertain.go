package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/kuzet/kuzet/anpr"
	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/plates"
)

// UncertainQueue is the answer of GET /api/v1/plates/uncertain.
type UncertainQueue struct {
	// ReviewBelow is the node's anpr.review_below: reads under it wait here.
	ReviewBelow float64 `json:"review_below"`
	// Total is how many reads match the filters, however many are listed.
	Total int        `json:"total"`
	Items []PlateHit `json:"items"`
}

// listUncertain answers GET /api/v1/plates/uncertain: the unreviewed
// reads below the node's confidence threshold, newest first, by node,
// camera and time range; with count=1 only the total. On a parent it
// covers every descendant whose reads reached it. Not audited: the console
// polls it, and every act on a read is.
func (d Deps) listUncertain(w http.ResponseWriter, r *http.Request) {
	if d.Plates == nil {
		writeError(w, http.StatusNotFound, "this node keeps no plate index")
		return
	}
	q := r.URL.Query()
	countOnly := false
	switch v := q.Get("count"); v {
	case "", "0", "false":
	case "1", "true":
		countOnly = true
	default:
		writeError(w, http.StatusBadRequest, fmt.Sprintf("count: %q must be 1 or true (the total only) or 0 or false", v))
		return
	}
	from, to, ok := timeRangeOpen(w, r)
	if !ok {
		return
	}
	limit, ok := queryLimit(w, r)
	if !ok {
		return
	}
	camera, node := q.Get("camera"), q.Get("node")
	if n, c, ok := strings.Cut(camera, "/"); ok { // a descendant's camera as keyed here
		if node != "" && node != n {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("camera %q is not of node %q", camera, node))
			return
		}
		node, camera = n, c
	}
	found, total, err := d.Plates.Uncertain(plates.UncertainQuery{From: from, To: to, Camera: camera, Node: node, Limit: limit, CountOnly: countOnly})
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	hits, err := d.indexHits(found)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, UncertainQueue{ReviewBelow: d.Plates.ReviewBelow(), Total: total, Items: hits})
}

// indexHits turns index entries into hits, with each read as recognised.
func (d Deps) indexHits(found []plates.Entry) ([]PlateHit, error) {
	hits := make([]PlateHit, 0, len(found))
	if len(found) == 0 {
		return hits, nil
	}
	pos := make([]uint64, len(found))
	for i, f := range found {
		pos[i] = f.Pos
	}
	evs, err := d.Events.Get(pos...)
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

// confirmPlate answers POST /api/v1/plates/{origin}/{seq}/confirm with an
// optional {"comment"}: an operator says an uncertain read is right. It
// is stored as a plate.corrected event with the same plate and confirmed
// set, which takes the read out of the queue here and, going up the tree,
// at every ancestor. Only a read in the queue can be confirmed (409
// otherwise).
func (d Deps) confirmPlate(w http.ResponseWriter, r *http.Request) {
	if d.Plates == nil {
		writeError(w, http.StatusNotFound, "this node keeps no plate index")
		return
	}
	id := r.PathValue("origin") + "/" + r.PathValue("seq")
	var body struct {
		Comment string `json:"comment"`
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil && !errors.Is(err, io.EOF) {
		writeError(w, http.StatusBadRequest, "body: expected nothing or JSON {\"comment\": \"...\"}: "+err.Error())
		return
	}
	if len(body.Comment) > 1000 {
		writeError(w, http.StatusBadRequest, "comment: at most 1000 bytes")
		return
	}
	unlock := d.Plates.LockReview()
	defer unlock()
	entry, ok := d.lookupRead(w, id)
	if !ok {
		return
	}
	if !d.Plates.Queued(entry) {
		writeError(w, http.StatusConflict, notQueued(entry, d.Plates.ReviewBelow()))
		return
	}
	user := ""
	if d.User != nil {
		user = d.User(r)
	}
	c := plates.Correction{Read: id, Plate: entry.Plate, Previous: entry.Plate, User: user, Comment: body.Comment, Confirmed: true}
	e, err := d.Events.Append(event.New(plates.KindCorrected, entry.Camera, event.SeverityInfo, c))
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	if err := d.Plates.Sync(d.Events, anpr.KindPlateRead); err != nil {
		writeError(w, http.StatusInternalServerError, "confirmation stored, index not updated: "+err.Error())
		return
	}
	if d.Audit != nil {
		d.Audit(r, "plate.confirm", id, strings.TrimSpace(entry.Plate+" "+body.Comment))
	}
	writeJSON(w, http.StatusOK, map[string]any{"correction": c, "event": e.ID()})
}

// notQueued says why a read is not in the uncertain queue.
func notQueued(e plates.Entry, below float64) string {
	by := func(c *plates.Correction) string {
		if c.User == "" {
			return ""
		}
		return " by " + c.User
	}
	switch {
	case e.Corrected != nil && e.Corrected.Confirmed:
		return fmt.Sprintf("plate read %s was already confirmed as %s%s", e.ID, e.Plate, by(e.Corrected))
	case e.Corrected != nil:
		return fmt.Sprintf("plate read %s was already corrected to %s%s", e.ID, e.Plate, by(e.Corrected))
	case e.Reviewed:
		return fmt.Sprintf("plate read %s was already reviewed", e.ID)
	}
	return fmt.Sprintf("plate read %s is not in the uncertain queue: its confidence %.2f is not below %.2f", e.ID, e.Confidence, below)
}
