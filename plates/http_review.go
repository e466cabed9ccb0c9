package plates

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/plates/platetext"
)

// UncertainQueue is the answer of GET /api/v1/plates/uncertain.
type UncertainQueue struct {
	// ReviewBelow is the node's anpr.review_below: reads under it wait here.
	ReviewBelow float64 `json:"review_below"`
	// Total is how many reads match the filters, however many are listed.
	Total int        `json:"total"`
	Items []PlateHit `json:"items"`
}

// Uncertain answers GET /api/v1/plates/uncertain: the unreviewed
// reads below the node's confidence threshold, newest first, by node,
// camera and time range; with count=1 only the total. On a parent it
// covers every descendant whose reads reached it. Not audited: the console
// polls it, and every act on a read is.
func (h Handlers) Uncertain(w http.ResponseWriter, r *http.Request) {
	if h.Index == nil {
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
	from, to, ok := timeRange(w, r)
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
	found, total, err := h.Index.Uncertain(UncertainQuery{From: from, To: to, Camera: camera, Node: node, Limit: limit, CountOnly: countOnly})
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	hits, err := h.indexHits(found)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, UncertainQueue{ReviewBelow: h.Index.ReviewBelow(), Total: total, Items: hits})
}

// Correct answers POST /api/v1/plates/{origin}/{seq}/correction with
// {"plate", "comment"}: the read is re-filed under the corrected plate,
// and leaves the uncertain queue, here and, as an event, everywhere above.
func (h Handlers) Correct(w http.ResponseWriter, r *http.Request) {
	if h.Index == nil {
		writeError(w, http.StatusNotFound, "this node keeps no plate index")
		return
	}
	id := r.PathValue("origin") + "/" + r.PathValue("seq")
	var body struct {
		Plate   string `json:"plate"`
		Comment string `json:"comment"`
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		writeError(w, http.StatusBadRequest, "body: expected JSON {\"plate\": \"...\", \"comment\": \"...\"}: "+err.Error())
		return
	}
	plate := platetext.Normalize(strings.ToUpper(strings.TrimSpace(body.Plate)))
	if plate == "" || len(plate) > 12 {
		writeError(w, http.StatusBadRequest, "plate: 1 to 12 letters and digits required")
		return
	}
	unlock := h.Index.LockReview() // against a confirmation at the same time
	defer unlock()
	entry, ok := h.lookupRead(w, id)
	if !ok {
		return
	}
	if entry.Plate == plate {
		writeError(w, http.StatusConflict, "the read already says "+plate)
		return
	}
	user := ""
	if h.User != nil {
		user = h.User(r)
	}
	c := Correction{Read: id, Plate: plate, Previous: entry.Plate, User: user, Comment: body.Comment}
	e, err := h.Events.Append(event.New(KindCorrected, entry.Camera, event.SeverityInfo, c))
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	// the index follows the log on its own; bring it up to this
	// correction now, so the answer and the next request see it
	if err := h.Index.Sync(h.Events, KindPlateRead); err != nil {
		writeError(w, http.StatusInternalServerError, "correction stored, index not updated: "+err.Error())
		return
	}
	if h.Audit != nil {
		h.Audit(r, "plate.correct", id, entry.Plate+" -> "+plate+" "+body.Comment)
	}
	writeJSON(w, http.StatusOK, map[string]any{"correction": c, "event": e.ID()})
}

// Confirm answers POST /api/v1/plates/{origin}/{seq}/confirm with an
// optional {"comment"}: an operator says an uncertain read is right. It
// is stored as a plate.corrected event with the same plate and confirmed
// set, which takes the read out of the queue here and, going up the tree,
// at every ancestor. Only a read in the queue can be confirmed (409
// otherwise).
func (h Handlers) Confirm(w http.ResponseWriter, r *http.Request) {
	if h.Index == nil {
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
	unlock := h.Index.LockReview()
	defer unlock()
	entry, ok := h.lookupRead(w, id)
	if !ok {
		return
	}
	if !h.Index.Queued(entry) {
		writeError(w, http.StatusConflict, notQueued(entry, h.Index.ReviewBelow()))
		return
	}
	user := ""
	if h.User != nil {
		user = h.User(r)
	}
	c := Correction{Read: id, Plate: entry.Plate, Previous: entry.Plate, User: user, Comment: body.Comment, Confirmed: true}
	e, err := h.Events.Append(event.New(KindCorrected, entry.Camera, event.SeverityInfo, c))
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	if err := h.Index.Sync(h.Events, KindPlateRead); err != nil {
		writeError(w, http.StatusInternalServerError, "confirmation stored, index not updated: "+err.Error())
		return
	}
	if h.Audit != nil {
		h.Audit(r, "plate.confirm", id, strings.TrimSpace(entry.Plate+" "+body.Comment))
	}
	writeJSON(w, http.StatusOK, map[string]any{"correction": c, "event": e.ID()})
}

// notQueued says why a read is not in the uncertain queue.
func notQueued(e Entry, below float64) string {
	by := func(c *Correction) string {
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
