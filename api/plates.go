package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/kuzet/kuzet/anpr"
	"github.com/kuzet/kuzet/event"
)

// PlateHit is one plate read found by a search.
type PlateHit struct {
	ID     string         `json:"id"` // origin/seq
	Node   string         `json:"node"`
	Camera string         `json:"camera"`
	Time   string         `json:"time"`
	Read   anpr.PlateRead `json:"read"`
}

// searchPlates answers GET /api/v1/plates: exact, prefix or one-edit fuzzy
// match, by time range, camera and node. On a parent it covers every
// descendant whose events reached it.
func (d Deps) searchPlates(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	plate := strings.ToUpper(strings.TrimSpace(q.Get("plate")))
	if plate == "" {
		writeError(w, http.StatusBadRequest, "plate: required (letters and digits, e.g. 123ABC02)")
		return
	}
	plate = anpr.Normalize(plate)
	mode := q.Get("match")
	if mode == "" {
		mode = "exact"
	}
	var ok func(string) bool
	switch mode {
	case "exact":
		ok = func(p string) bool { return p == plate }
	case "prefix":
		ok = func(p string) bool { return strings.HasPrefix(p, plate) }
	case "fuzzy":
		ok = func(p string) bool { return anpr.EditDistance(p, plate) <= 1 }
	default:
		writeError(w, http.StatusBadRequest, fmt.Sprintf("match: %q must be exact, prefix or fuzzy", mode))
		return
	}
	from, to, good := timeRangeOpen(w, r)
	if !good {
		return
	}
	limit := 100
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("limit: %q must be 1..1000", v))
			return
		}
		limit = n
	}
	camera, node := q.Get("camera"), q.Get("node")
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
		h := PlateHit{ID: e.ID(), Node: e.Origin, Camera: e.Camera, Time: e.Time.UTC().Format("2006-01-02T15:04:05.000Z07:00")}
		_ = json.Unmarshal(e.Payload, &h.Read)
		hits = append(hits, h)
	}
	writeJSON(w, http.StatusOK, hits)
}
