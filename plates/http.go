package plates

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"time"

	"github.com/kuzet/kuzet/event"
)

// Handlers answer the plate routes of the node's HTTP API: search,
// correction and confirmation, the uncertain-reads queue, snapshots and
// the plate events of cameras' own ANPR. The API mounts them behind its
// guards; they check roles no further.
type Handlers struct {
	// Index is the plate index (nil: searches walk the event log, and the
	// routes that need the index answer 404).
	Index  *Index
	Events *event.Log
	// User names the authenticated caller of a request ("" when unknown);
	// Audit records an operator's action (nil: none).
	User  func(*http.Request) string
	Audit func(r *http.Request, action, object, detail string)
	// Snapshot resolves a plate snapshot of a node to a local file,
	// fetching it from the child leading there if need be (nil: none).
	Snapshot func(ctx context.Context, origin, rel string) (string, error)
	// CameraPlates takes a plate event of a camera's own ANPR (nil: the
	// node takes none). A *camevents.Refusal is answered with its status
	// and audited, a *camevents.Error with 400, ErrCameraPlatesBusy with 503.
	CameraPlates func(ctx context.Context, ev CameraPlateEvent) (CameraPlateAnswer, error)
	// Allow is the API's allow-list: a camera posting from it is Allowed.
	Allow  []netip.Prefix
	Logger *slog.Logger
}

// timeRange parses ?from=&to= (RFC 3339), either open, answering 400
// itself when they are bad.
func timeRange(w http.ResponseWriter, r *http.Request) (time.Time, time.Time, bool) {
	q := r.URL.Query()
	var from, to time.Time
	if v := q.Get("from"); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("from: %q is not an RFC 3339 time", v))
			return from, to, false
		}
		from = t
	}
	if v := q.Get("to"); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("to: %q is not an RFC 3339 time", v))
			return from, to, false
		}
		if !t.After(from) {
			writeError(w, http.StatusBadRequest, "to must be after from")
			return from, to, false
		}
		to = t
	}
	return from, to, true
}

// writeJSON and writeError answer as the rest of the API does: indented
// JSON, errors as {"error": "..."}.
func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
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
