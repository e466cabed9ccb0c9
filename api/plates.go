package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/kuzet/kuzet/anpr"
	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/plates"
)

// PlateHit is one plate read found by a search.
type PlateHit struct {
	ID     string         `json:"id"` // origin/seq
	Node   string         `json:"node"`
	Camera string         `json:"camera"`
	Time   string         `json:"time"`
	Plate  string         `json:"plate"` // current: corrected if it was
	Read   anpr.PlateRead `json:"read"`  // as recognised
	// Corrected is the operator's correction, if any.
	Corrected *plates.Correction `json:"corrected,omitempty"`
}

// searchPlates answers GET /api/v1/plates: exact, prefix or one-edit fuzzy
// match, by time range, camera and node; without a plate, every read of
// one camera in the range (the archive timeline's markers). On a parent it
// covers every descendant whose events reached it.
func (d Deps) searchPlates(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	plate := strings.ToUpper(strings.TrimSpace(q.Get("plate")))
	if plate == "" && q.Get("camera") == "" {
		writeError(w, http.StatusBadRequest, "plate: required (letters and digits, e.g. 123ABC02) unless camera is given")
		return
	}
	plate = anpr.Normalize(plate)
	mode := q.Get("match")
	if mode == "" {
		mode = "exact"
	}
	var ok func(string) bool
	switch {
	case plate == "":
		ok = func(string) bool { return true }
	case mode == "exact":
		ok = func(p string) bool { return p == plate }
	case mode == "prefix":
		ok = func(p string) bool { return strings.HasPrefix(p, plate) }
	case mode == "fuzzy":
		ok = func(p string) bool { return anpr.EditDistance(p, plate) <= 1 }
	default:
		writeError(w, http.StatusBadRequest, fmt.Sprintf("match: %q must be exact, prefix or fuzzy", mode))
		return
	}
	from, to, good := timeRangeOpen(w, r)
	if !good {
		return
	}
	limit, good := queryLimit(w, r)
	if !good {
		return
	}
	camera, node := q.Get("camera"), q.Get("node")
	if d.Audit != nil {
		d.Audit(r, "plates.search", plate, r.URL.RawQuery)
	}
	if n, c, ok := strings.Cut(camera, "/"); ok { // a descendant's camera as keyed here
		node, camera = n, c
	}
	if d.Plates != nil && plate != "" {
		d.searchIndex(w, plates.Query{Plate: plate, Match: mode, From: from, To: to, Camera: camera, Node: node, Limit: limit})
		return
	}
	evs, err := d.Events.Search(limit, func(e event.Event) bool {
		if e.Kind != anpr.KindPlateRead || (camera != "" && e.Camera != camera) || (node != "" && e.Origin != node) {
			return false
		}
		if (!from.IsZero() && e.Time.Before(from)) || (!to.IsZero() && !e.Time.Before(to)) {
			return false
		}
		var pr anpr.PlateRead
		return json.Unmarshal(e.Payload, &pr) == nil && ok(pr.Plate)
	})
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	hits := make([]PlateHit, 0, len(evs))
	for _, e := range evs {
		var ix *plates.Entry
		if d.Plates != nil {
			if en, ok, _ := d.Plates.Lookup(e.ID()); ok {
				ix = &en
			}
		}
		hits = append(hits, hit(e, ix))
	}
	writeJSON(w, http.StatusOK, hits)
}

func hit(e event.Event, ix *plates.Entry) PlateHit {
	h := PlateHit{ID: e.ID(), Node: e.Origin, Camera: e.Camera, Time: e.Time.UTC().Format("2006-01-02T15:04:05.000Z07:00")}
	_ = json.Unmarshal(e.Payload, &h.Read)
	h.Plate = h.Read.Plate
	if ix != nil {
		h.Plate, h.Corrected = ix.Plate, ix.Corrected
	}
	return h
}

// searchIndex answers from the plate index.
func (d Deps) searchIndex(w http.ResponseWriter, q plates.Query) {
	found, err := d.Plates.Search(q)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	pos := make([]uint64, len(found))
	for i, f := range found {
		pos[i] = f.Pos
	}
	evs, err := d.Events.Get(pos...)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	byPos := map[uint64]event.Event{}
	for _, e := range evs {
		byPos[e.Pos] = e
	}
	hits := make([]PlateHit, 0, len(found))
	for i := range found {
		if e, ok := byPos[found[i].Pos]; ok {
			hits = append(hits, hit(e, &found[i]))
		}
	}
	writeJSON(w, http.StatusOK, hits)
}

// correctPlate answers POST /api/v1/plates/{origin}/{seq}/correction with
// {"plate", "comment"}: the read is re-filed under the corrected plate,
// and leaves the uncertain queue, here and, as an event, everywhere above.
func (d Deps) correctPlate(w http.ResponseWriter, r *http.Request) {
	if d.Plates == nil {
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
	plate := anpr.Normalize(strings.ToUpper(strings.TrimSpace(body.Plate)))
	if plate == "" || len(plate) > 12 {
		writeError(w, http.StatusBadRequest, "plate: 1 to 12 letters and digits required")
		return
	}
	unlock := d.Plates.LockReview() // against a confirmation at the same time
	defer unlock()
	entry, ok := d.lookupRead(w, id)
	if !ok {
		return
	}
	if entry.Plate == plate {
		writeError(w, http.StatusConflict, "the read already says "+plate)
		return
	}
	user := ""
	if d.User != nil {
		user = d.User(r)
	}
	c := plates.Correction{Read: id, Plate: plate, Previous: entry.Plate, User: user, Comment: body.Comment}
	e, err := d.Events.Append(event.New(plates.KindCorrected, entry.Camera, event.SeverityInfo, c))
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	// the index follows the log on its own; bring it up to this
	// correction now, so the answer and the next request see it
	if err := d.Plates.Sync(d.Events, anpr.KindPlateRead); err != nil {
		writeError(w, http.StatusInternalServerError, "correction stored, index not updated: "+err.Error())
		return
	}
	if d.Audit != nil {
		d.Audit(r, "plate.correct", id, entry.Plate+" -> "+plate+" "+body.Comment)
	}
	writeJSON(w, http.StatusOK, map[string]any{"correction": c, "event": e.ID()})
}

// plateImage answers GET /api/v1/plates/{origin}/{seq}/{image} with the
// read's overview.jpg or crop.jpg, pulled from the site if need be.
func (d Deps) plateImage(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("origin") + "/" + r.PathValue("seq")
	img := r.PathValue("image")
	if img != "overview.jpg" && img != "crop.jpg" {
		writeError(w, http.StatusNotFound, "image: overview.jpg or crop.jpg")
		return
	}
	if d.Plates == nil || d.Snapshot == nil {
		writeError(w, http.StatusNotFound, "this node keeps no plate snapshots")
		return
	}
	entry, ok := d.lookupRead(w, id)
	if !ok {
		return
	}
	evs, err := d.Events.Get(entry.Pos)
	if err != nil || len(evs) == 0 {
		writeError(w, http.StatusNotFound, "plate read "+id+" is no longer in the log")
		return
	}
	var pr anpr.PlateRead
	_ = json.Unmarshal(evs[0].Payload, &pr)
	rel := pr.Overview
	if img == "crop.jpg" {
		rel = pr.Crop
	}
	if rel == "" {
		writeError(w, http.StatusNotFound, "plate read "+id+" has no "+img)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	path, err := d.Snapshot(ctx, entry.Origin, rel)
	if err != nil {
		writeError(w, http.StatusBadGateway, "snapshot unavailable: "+err.Error())
		return
	}
	f, err := os.Open(path)
	if err != nil {
		writeError(w, http.StatusNotFound, "snapshot missing: "+err.Error())
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	w.Header().Set("Content-Type", "image/jpeg")
	w.Header().Set("Cache-Control", "private, max-age=86400, immutable")
	http.ServeContent(w, r, img, st.ModTime(), f)
}

// lookupRead finds a read in the plate index, answering 404 or 500 itself.
func (d Deps) lookupRead(w http.ResponseWriter, id string) (plates.Entry, bool) {
	entry, ok, err := d.Plates.Lookup(id)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return entry, false
	}
	if !ok {
		writeError(w, http.StatusNotFound, "no plate read "+id)
	}
	return entry, ok
}

// queryLimit reads the limit parameter of a listing (1..1000, default
// 100), answering 400 itself when it is bad.
func queryLimit(w http.ResponseWriter, r *http.Request) (int, bool) {
	v := r.URL.Query().Get("limit")
	if v == "" {
		return 100, true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 1000 {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("limit: %q must be 1..1000", v))
		return 0, false
	}
	return n, true
}
