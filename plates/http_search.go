package plates

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/plates/platetext"
)

// Search answers GET /api/v1/plates: exact, prefix or one-edit fuzzy
// match, by time range, camera and node; without a plate, every read of
// one camera in the range (the archive timeline's markers); with after,
// the reads stored after a log position (the console's live feed). On a
// parent it covers every descendant whose events reached it.
func (h Handlers) Search(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	plate := strings.ToUpper(strings.TrimSpace(q.Get("plate")))
	if v := q.Get("after"); v != "" {
		h.feed(w, r, v)
		return
	}
	if plate == "" && q.Get("camera") == "" {
		writeError(w, http.StatusBadRequest, "plate: required (letters and digits, e.g. 123ABC02) unless camera or after is given")
		return
	}
	plate = platetext.Normalize(plate)
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
		ok = func(p string) bool { return platetext.EditDistance(p, plate) <= 1 }
	default:
		writeError(w, http.StatusBadRequest, fmt.Sprintf("match: %q must be exact, prefix or fuzzy", mode))
		return
	}
	from, to, good := timeRange(w, r)
	if !good {
		return
	}
	limit, good := queryLimit(w, r)
	if !good {
		return
	}
	camera, node := q.Get("camera"), q.Get("node")
	if h.Audit != nil {
		h.Audit(r, "plates.search", plate, r.URL.RawQuery)
	}
	if n, c, ok := strings.Cut(camera, "/"); ok { // a descendant's camera as keyed here
		node, camera = n, c
	}
	if h.Index != nil && plate != "" {
		h.searchIndex(w, Query{Plate: plate, Match: mode, From: from, To: to, Camera: camera, Node: node, Limit: limit})
		return
	}
	evs, err := h.Events.Search(limit, func(e event.Event) bool {
		if e.Kind != KindPlateRead || (camera != "" && e.Camera != camera) || (node != "" && e.Origin != node) {
			return false
		}
		if (!from.IsZero() && e.Time.Before(from)) || (!to.IsZero() && !e.Time.Before(to)) {
			return false
		}
		var pr PlateRead
		return json.Unmarshal(e.Payload, &pr) == nil && ok(pr.Plate)
	})
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	hits := make([]PlateHit, 0, len(evs))
	for _, e := range evs {
		var ix *Entry
		if h.Index != nil {
			if en, ok, _ := h.Index.Lookup(e.ID()); ok {
				ix = &en
			}
		}
		hits = append(hits, hit(e, ix))
	}
	writeJSON(w, http.StatusOK, hits)
}

// searchIndex answers from the plate index.
func (h Handlers) searchIndex(w http.ResponseWriter, q Query) {
	found, err := h.Index.Search(q)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	pos := make([]uint64, len(found))
	for i, f := range found {
		pos[i] = f.Pos
	}
	evs, err := h.Events.Get(pos...)
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

// feedScan bounds the events one feed request reads.
const feedScan = 10000

// feed answers ?after=POS: the plate reads stored after log position POS
// (a negative POS counts back from the newest event), oldest first, up to
// limit, reading at most feedScan events; X-Kuzet-Next-After is where the
// next request goes on from. Not audited: it shows what arrives, as the
// live view does, not what anyone looked for.
func (h Handlers) feed(w http.ResponseWriter, r *http.Request, v string) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("after: %q is not a log position", v))
		return
	}
	limit, good := queryLimit(w, r)
	if !good {
		return
	}
	q := r.URL.Query()
	if q.Get("plate") != "" || q.Get("from") != "" || q.Get("to") != "" {
		writeError(w, http.StatusBadRequest, "after: not with plate, from or to (it follows every read as it arrives)")
		return
	}
	camera, node := q.Get("camera"), q.Get("node")
	if nd, c, ok := strings.Cut(camera, "/"); ok {
		node, camera = nd, c
	}
	var after uint64
	if last := h.Events.Last(); n < 0 {
		if uint64(-n) < last {
			after = last - uint64(-n)
		}
	} else {
		after = uint64(n)
	}
	hits := []PlateHit{}
	next := after
	for scanned := 0; scanned < feedScan && len(hits) < limit; {
		evs, err := h.Events.Range(next, 1000)
		if err != nil {
			writeError(w, http.StatusInternalServerError, err.Error())
			return
		}
		if len(evs) == 0 {
			break
		}
		for _, e := range evs {
			next = e.Pos
			scanned++
			if e.Kind != KindPlateRead || (camera != "" && e.Camera != camera) || (node != "" && e.Origin != node) {
				continue
			}
			var ix *Entry
			if h.Index != nil {
				if en, ok, _ := h.Index.Lookup(e.ID()); ok {
					ix = &en
				}
			}
			hits = append(hits, hit(e, ix))
			if len(hits) == limit {
				break
			}
		}
	}
	w.Header().Set("X-Kuzet-Next-After", strconv.FormatUint(next, 10))
	writeJSON(w, http.StatusOK, hits)
}
