package plates

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/internal/httpjson"
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

func timeRange(w http.ResponseWriter, r *http.Request) (time.Time, time.Time, bool) {
	return httpjson.Range(w, r, time.Time{})
}

func writeJSON(w http.ResponseWriter, code int, v any) { httpjson.Write(w, code, v) }

func writeError(w http.ResponseWriter, code int, msg string) { httpjson.Error(w, code, msg) }

func queryLimit(w http.ResponseWriter, r *http.Request) (int, bool) { return httpjson.Limit(w, r) }
