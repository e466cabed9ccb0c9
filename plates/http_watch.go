package plates

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"time"

	"github.com/kuzet/kuzet/event"
)

// Watchlist answers GET /api/v1/watchlist: the node's list, newest first.
func (h Handlers) Watchlist(w http.ResponseWriter, r *http.Request) {
	if h.Index == nil {
		writeError(w, http.StatusNotFound, "this node keeps no plate index")
		return
	}
	list, err := h.Index.Watchlist()
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	if list == nil {
		list = []WatchEntry{}
	}
	sort.Slice(list, func(i, k int) bool { return list[i].Added.After(list[k].Added) })
	writeJSON(w, http.StatusOK, list)
}

// AddWatch answers POST /api/v1/watchlist with {"plate", "match",
// "reason", "severity", "expires"}: the entry is stored as an event of the
// node's log before the answer, and matches every read stored after it.
func (h Handlers) AddWatch(w http.ResponseWriter, r *http.Request) {
	if h.Index == nil {
		writeError(w, http.StatusNotFound, "this node keeps no plate index")
		return
	}
	var body struct {
		Plate    string         `json:"plate"`
		Match    string         `json:"match"`
		Reason   string         `json:"reason"`
		Severity event.Severity `json:"severity"`
		Expires  string         `json:"expires"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 16<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		writeError(w, http.StatusBadRequest, `body: expected JSON {"plate", "match", "reason", "severity", "expires"}: `+err.Error())
		return
	}
	e := WatchEntry{Plate: body.Plate, Match: body.Match, Reason: body.Reason, Severity: body.Severity, Added: time.Now().UTC()}
	if body.Expires != "" {
		t, err := time.Parse(time.RFC3339Nano, body.Expires)
		if err != nil {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("expires: %q is not an RFC 3339 time", body.Expires))
			return
		}
		if !t.After(e.Added) {
			writeError(w, http.StatusBadRequest, "expires: must lie in the future")
			return
		}
		e.Expires = t.UTC()
	}
	if err := CheckWatch(&e); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	e.ID = hex.EncodeToString(b[:])
	if h.User != nil {
		e.User = h.User(r)
	}
	if _, err := h.Events.Append(event.New(KindWatchSet, "", event.SeverityInfo, e)); err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	if err := h.Index.Sync(h.Events, KindPlateRead); err != nil {
		writeError(w, http.StatusInternalServerError, "entry stored, index not updated: "+err.Error())
		return
	}
	if h.Audit != nil {
		h.Audit(r, "watchlist.add", e.Plate, fmt.Sprintf("%s match, %s: %s", e.Match, e.Severity, e.Reason))
	}
	writeJSON(w, http.StatusCreated, e)
}

// RemoveWatch answers DELETE /api/v1/watchlist/{id}.
func (h Handlers) RemoveWatch(w http.ResponseWriter, r *http.Request) {
	if h.Index == nil {
		writeError(w, http.StatusNotFound, "this node keeps no plate index")
		return
	}
	id := r.PathValue("id")
	e, ok, err := h.Index.WatchEntryOf(id)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("id: no watch-list entry %q", id))
		return
	}
	user := ""
	if h.User != nil {
		user = h.User(r)
	}
	if _, err := h.Events.Append(event.New(KindWatchRemoved, "", event.SeverityInfo, map[string]string{"id": id, "user": user})); err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	if err := h.Index.Sync(h.Events, KindPlateRead); err != nil {
		writeError(w, http.StatusInternalServerError, "removal stored, index not updated: "+err.Error())
		return
	}
	if h.Audit != nil {
		h.Audit(r, "watchlist.remove", e.Plate, fmt.Sprintf("%s match: %s", e.Match, e.Reason))
	}
	writeJSON(w, http.StatusOK, e)
}
