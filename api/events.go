package api

import (
	"fmt"
	"math"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/kuzet/kuzet/audit"
	"github.com/kuzet/kuzet/event"
)

// maxEventScan bounds the events one request of the feed reads, however
// few of them its filters keep; X-Kuzet-Next-After says where the next
// request goes on.
const maxEventScan = 20000

// maxAfter is the largest log position the feed takes: positions count
// from 1 and never come near it, and it keeps after+1 from wrapping.
const maxAfter = math.MaxInt64

var (
	eventParams  = []string{"after", "from", "kind", "limit", "origin", "to"}
	originPatt   = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	kindPatt     = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)
	urlPassword  = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.-]*://[^/?#@\s"\\:]*):[^/?#@\s"\\]*@`)
	maskPassword = []byte("${1}:xxxxx@")
)

// listEvents answers GET /api/v1/events: the log after a position, in log
// order, filtered by origin, kind and time. Audit entries go only to
// callers who may read the audit log (Deps.Admin); passwords in URLs
// inside other payloads (a camera's error naming its RTSP URL) are masked.
func (d Deps) listEvents(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	for k, v := range q {
		if !slices.Contains(eventParams, k) {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("unknown parameter %q (known: %s)", k, strings.Join(eventParams, ", ")))
			return
		}
		if len(v) > 1 && k != "kind" {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("%s: given %d times; give it once", k, len(v)))
			return
		}
	}
	var after uint64
	if v := q.Get("after"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil || n > maxAfter {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("after: %q must be a log position 0..%d (the pos of the last event received)", v, uint64(maxAfter)))
			return
		}
		after = n
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
	origin := q.Get("origin")
	if origin != "" && !originPatt.MatchString(origin) {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("origin: %q is not a node ID (1-64 letters, digits, - and _)", origin))
		return
	}
	var kinds []string
	for _, v := range q["kind"] {
		for k := range strings.SplitSeq(v, ",") {
			if k = strings.TrimSpace(k); !kindPatt.MatchString(k) {
				writeError(w, http.StatusBadRequest, fmt.Sprintf("kind: %q is not an event kind (e.g. plate.read; several: kind=a,b)", k))
				return
			}
			kinds = append(kinds, k)
		}
	}
	if len(kinds) > 32 {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("kind: %d kinds; at most 32", len(kinds)))
		return
	}
	from, to, ok := timeRangeOpen(w, r)
	if !ok {
		return
	}
	admin := d.Guard == nil || (d.Admin != nil && d.Admin(r))
	if !admin && slices.Contains(kinds, audit.Kind) {
		writeError(w, http.StatusForbidden, "kind audit: audit entries are for admins at a workstation address (http.admin_from); they read them with GET /api/v1/audit")
		return
	}
	keep := func(e event.Event) bool {
		switch {
		case e.Kind == audit.Kind && !admin,
			origin != "" && e.Origin != origin,
			len(kinds) > 0 && !slices.Contains(kinds, e.Kind),
			!from.IsZero() && e.Time.Before(from),
			!to.IsZero() && !e.Time.Before(to):
			return false
		}
		return true
	}
	out := []event.Event{}
	next, scanned := after, 0
	for len(out) < limit && scanned < maxEventScan {
		batch := min(500, maxEventScan-scanned)
		evs, err := d.Events.Range(next, batch)
		if err != nil {
			writeError(w, http.StatusInternalServerError, err.Error())
			return
		}
		for _, e := range evs {
			scanned++
			next = e.Pos
			if keep(e) {
				if e.Kind != audit.Kind {
					e.Payload = urlPassword.ReplaceAll(e.Payload, maskPassword)
				}
				if out = append(out, e); len(out) == limit {
					break
				}
			}
		}
		if len(evs) < batch {
			break
		}
	}
	w.Header().Set("X-Kuzet-Next-After", strconv.FormatUint(next, 10))
	writeJSON(w, http.StatusOK, out)
}
