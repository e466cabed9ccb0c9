package alarm

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// maxBody bounds an acknowledgement or clear request.
const maxBody = 16 << 10

var filterKeys = []string{"camera", "limit", "origin", "severity", "since", "state", "type"}

// ParseFilter reads GET /api/v1/alarms parameters: state and severity
// (comma-separated; state "open" means raised or acknowledged), type
// (comma-separated), origin, camera, since (RFC 3339: changed at or after) and limit (1..5000,
// default 500). Anything else is an error naming the parameter.
func ParseFilter(q url.Values) (Filter, error) {
	var f Filter
	for k := range q {
		if !slices.Contains(filterKeys, k) {
			return f, fmt.Errorf("unknown parameter %q (known: %s)", k, strings.Join(filterKeys, ", "))
		}
		if len(q[k]) > 1 {
			return f, fmt.Errorf("%s: given %d times", k, len(q[k]))
		}
	}
	if v := q.Get("state"); v != "" {
		for _, s := range strings.Split(v, ",") {
			switch st := State(strings.TrimSpace(s)); st {
			case StateRaised, StateAcknowledged, StateCleared:
				f.States = append(f.States, st)
			case "open":
				f.States = append(f.States, StateRaised, StateAcknowledged)
			default:
				return f, fmt.Errorf("state: %q is not raised, acknowledged, cleared or open", s)
			}
		}
	}
	if v := q.Get("severity"); v != "" {
		for _, s := range strings.Split(v, ",") {
			sev, err := ParseSeverity(strings.TrimSpace(s))
			if err != nil {
				return f, fmt.Errorf("severity: %q is not grave, medium or minor", s)
			}
			f.Severities = append(f.Severities, sev)
		}
	}
	f.Origin, f.Camera = q.Get("origin"), q.Get("camera")
	if v := q.Get("type"); v != "" {
		for _, typ := range strings.Split(v, ",") {
			if typ = strings.TrimSpace(typ); typ != "" {
				f.Types = append(f.Types, typ)
			}
		}
	}
	if v := q.Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return f, fmt.Errorf("since: %q is not an RFC 3339 time", v)
		}
		f.Since = t
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 5000 {
			return f, fmt.Errorf("limit: %q must be 1..5000", v)
		}
		f.Limit = n
	}
	return f, nil
}

// operatorRequest is the body of ack and clear requests; both fields are
// optional and an empty body is fine.
type operatorRequest struct {
	Comment string `json:"comment"`
}

// parseOperatorBody reads an ack or clear body.
func parseOperatorBody(contentType string, body io.Reader) (operatorRequest, error) {
	var req operatorRequest
	if contentType != "" {
		mt, _, err := mime.ParseMediaType(contentType)
		if err != nil || mt != "application/json" {
			return req, fmt.Errorf("content type %q: send application/json", contentType)
		}
	}
	b, err := io.ReadAll(io.LimitReader(body, maxBody+1))
	if err != nil {
		return req, fmt.Errorf("read body: %w", err)
	}
	if len(b) > maxBody {
		return req, fmt.Errorf("body over %d bytes", maxBody)
	}
	if len(strings.TrimSpace(string(b))) == 0 {
		return req, nil
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return req, fmt.Errorf("body: %v (want {\"comment\": \"...\"})", err)
	}
	if dec.More() {
		return req, errors.New("body: more than one JSON value")
	}
	return req, nil
}

// Handler serves the alarm API:
//
//	GET  /api/v1/alarms?state=&severity=&origin=&camera=&since=&limit=
//	GET  /api/v1/alarms/{id}
//	POST /api/v1/alarms/{id}/ack    {"comment": "..."}
//	POST /api/v1/alarms/{id}/clear
//
// IDs hold ':' and may hold '/', which clients escape as %2F.
func (m *Manager) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/alarms", func(w http.ResponseWriter, r *http.Request) {
		f, err := ParseFilter(r.URL.Query())
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		writeJSON(w, http.StatusOK, m.List(f))
	})
	mux.HandleFunc("GET /api/v1/alarms/{id}", func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		a, ok := m.Get(id)
		if !ok {
			writeError(w, http.StatusNotFound, fmt.Sprintf("alarm %q not found", id))
			return
		}
		writeJSON(w, http.StatusOK, a)
	})
	mux.HandleFunc("POST /api/v1/alarms/{id}/{action}", m.serveAction)
	return mux
}

func (m *Manager) serveAction(w http.ResponseWriter, r *http.Request) {
	id, action := r.PathValue("id"), r.PathValue("action")
	if action != "ack" && action != "clear" {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no action %q on alarms (ack, clear)", action))
		return
	}
	user := ""
	if m.o.User != nil {
		user = m.o.User(r)
	}
	if user == "" {
		writeError(w, http.StatusUnauthorized, "an authenticated user is needed to "+action+" alarms")
		return
	}
	req, err := parseOperatorBody(r.Header.Get("Content-Type"), r.Body)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	op := Operator{User: user}
	if m.o.Role != nil {
		op.Role = m.o.Role(r)
	}
	var a Alarm
	if action == "ack" {
		a, err = m.AckBy(id, op, req.Comment)
	} else {
		if req.Comment != "" {
			writeError(w, http.StatusBadRequest, "clear takes no comment")
			return
		}
		a, err = m.ClearBy(id, op)
	}
	switch {
	case errors.Is(err, ErrNotFound):
		writeError(w, http.StatusNotFound, fmt.Sprintf("alarm %q not found", id))
	case errors.Is(err, ErrConflict):
		writeError(w, http.StatusConflict, err.Error())
	case errors.Is(err, ErrInvalid):
		writeError(w, http.StatusBadRequest, err.Error())
	case err != nil:
		m.o.Logger.Error("alarm "+action, "id", id, "user", user, "err", err)
		writeError(w, http.StatusInternalServerError, err.Error())
	default:
		writeJSON(w, http.StatusOK, a)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}
