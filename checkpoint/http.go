package checkpoint

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/kuzet/kuzet/internal/httpjson"
	"github.com/kuzet/kuzet/plates/platetext"
)

// Visits answers GET /api/v1/visits from the index: filters site, zone,
// plate (tractor or trailer), state (open | closed), from and to (visits
// on the site at some time in between) and limit; newest first, each with
// its passages.
func (x *Index) Visits(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	state := q.Get("state")
	if state != "" && state != "open" && state != "closed" {
		httpjson.Error(w, http.StatusBadRequest, fmt.Sprintf("state: %q must be open or closed", state))
		return
	}
	from, to, ok := httpjson.Range(w, r, time.Time{})
	if !ok {
		return
	}
	limit, ok := httpjson.Limit(w, r)
	if !ok {
		return
	}
	vs, err := x.Find(Query{Site: q.Get("site"), Zone: q.Get("zone"), State: state, From: from, To: to, Limit: limit,
		Plate: platetext.Normalize(strings.ToUpper(strings.TrimSpace(q.Get("plate"))))})
	if err != nil {
		httpjson.Error(w, http.StatusInternalServerError, err.Error())
		return
	}
	now := time.Now()
	out := make([]visitView, 0, len(vs))
	for _, v := range vs {
		out = append(out, visitView{v, v.Dwells(now)})
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"visits": out})
}

// visitView is a visit as the API shows it: with its stays per zone.
type visitView struct {
	Visit
	Dwell []Dwell `json:"dwell"`
}

// DwellStats answers GET /api/v1/visits/dwell: the completed stays per
// zone (filters site, zone) that began in [from, to) (default the last 24
// hours), in all and per hour: vehicles, median, p90 and max seconds.
func (x *Index) DwellStats(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	from, to, ok := httpjson.Range(w, r, time.Time{})
	if !ok {
		return
	}
	if to.IsZero() {
		to = time.Now()
	}
	if from.IsZero() {
		from = to.Add(-24 * time.Hour) // the day before to
	}
	if !to.After(from) {
		httpjson.Error(w, http.StatusBadRequest, "to must be after from")
		return
	}
	if to.Sub(from) > 31*24*time.Hour {
		httpjson.Error(w, http.StatusBadRequest, "from, to: at most 31 days at a time")
		return
	}
	vs, err := x.Began(q.Get("site"), from, to)
	if err != nil {
		httpjson.Error(w, http.StatusInternalServerError, err.Error())
		return
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"from": from, "to": to, "zones": Stats(vs, q.Get("zone"), from, to)})
}
