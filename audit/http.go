package audit

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/kuzet/kuzet/event"
)

// Searcher finds events newest first (*event.Log satisfies it).
type Searcher interface {
	Search(limit int, match func(event.Event) bool) ([]event.Event, error)
}

// Ranger reads events in log order (*event.Log satisfies it).
type Ranger interface {
	Range(after uint64, limit int) ([]event.Event, error)
}

// Record is one entry as the API shows it.
type Record struct {
	ID     string    `json:"id"` // event ID, origin/seq
	Origin string    `json:"origin"`
	Time   time.Time `json:"time"`
	Seq    uint64    `json:"audit_seq"`
	User   string    `json:"user"`
	Role   string    `json:"role,omitempty"`
	Action string    `json:"action"`
	Object string    `json:"object,omitempty"`
	Detail string    `json:"detail,omitempty"`
	Source string    `json:"source,omitempty"`
	Hash   string    `json:"hash"`
	// Error is set when the stored payload is unreadable; such entries
	// are listed, not hidden.
	Error string `json:"error,omitempty"`
}

// ListHandler serves GET /api/v1/audit?user=&action=&origin=&from=&to=&limit=
// (newest first; from/to RFC 3339, limit 1..1000, default 100). Mount it
// behind the admin role.
func ListHandler(s Searcher) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		for k := range q {
			switch k {
			case "user", "action", "origin", "from", "to", "limit":
			default:
				writeError(w, http.StatusBadRequest, fmt.Sprintf("unknown parameter %q (known: action, from, limit, origin, to, user)", k))
				return
			}
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
		var from, to time.Time
		for _, f := range []struct {
			name string
			dst  *time.Time
		}{{"from", &from}, {"to", &to}} {
			if v := q.Get(f.name); v != "" {
				t, err := time.Parse(time.RFC3339Nano, v)
				if err != nil {
					writeError(w, http.StatusBadRequest, fmt.Sprintf("%s: %q is not an RFC 3339 time", f.name, v))
					return
				}
				*f.dst = t
			}
		}
		if !from.IsZero() && !to.IsZero() && !to.After(from) {
			writeError(w, http.StatusBadRequest, "to must be after from")
			return
		}
		user, action, origin := q.Get("user"), q.Get("action"), q.Get("origin")
		var out []Record
		_, err := s.Search(limit, func(e event.Event) bool {
			if e.Kind != Kind || (origin != "" && e.Origin != origin) ||
				(!from.IsZero() && e.Time.Before(from)) || (!to.IsZero() && !e.Time.Before(to)) {
				return false
			}
			rec := Record{ID: e.ID(), Origin: e.Origin, Time: e.Time}
			p, err := decodePayload(e.Payload)
			if err != nil {
				rec.Error = err.Error()
			}
			rec.Seq, rec.User, rec.Role, rec.Action, rec.Object, rec.Detail, rec.Source, rec.Hash =
				p.Seq, p.User, p.Role, p.Action, p.Object, p.Detail, p.Source, p.Hash
			if (user != "" && p.User != user) || (action != "" && p.Action != action) {
				return false
			}
			out = append(out, rec)
			return true
		})
		if err != nil {
			writeError(w, http.StatusInternalServerError, "search audit log: "+err.Error())
			return
		}
		if out == nil {
			out = []Record{}
		}
		writeJSON(w, http.StatusOK, out)
	})
}

// VerifyHandler serves GET /api/v1/audit/verify: a Report over the whole
// log this node holds (its own chain and those replicated from children).
// It reads every event; mount it behind the admin role.
func VerifyHandler(l Ranger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var audit []event.Event
		var after uint64
		for {
			if err := r.Context().Err(); err != nil {
				return
			}
			batch, err := l.Range(after, 1000)
			if err != nil {
				writeError(w, http.StatusInternalServerError, "read event log: "+err.Error())
				return
			}
			if len(batch) == 0 {
				break
			}
			for _, e := range batch {
				if e.Kind == Kind {
					audit = append(audit, e)
				}
			}
			after = batch[len(batch)-1].Pos
		}
		writeJSON(w, http.StatusOK, Check(audit))
	})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}
