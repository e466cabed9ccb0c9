// Package httpjson holds the answers the node's JSON API gives in every
// package that serves part of it (api, plates): indented JSON, errors as
// {"error": "..."}, and the time-range and limit parameters, each bad one
// answered with 400 naming it. It imports no kuzet package.
package httpjson

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Write answers code with v as indented JSON.
func Write(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// Error answers code with {"error": msg}.
func Error(w http.ResponseWriter, code int, msg string) {
	Write(w, code, map[string]string{"error": msg})
}

// Range parses ?from=&to= (RFC 3339); a missing from is from, a missing
// to the zero time (open). It answers 400 itself when they are bad.
func Range(w http.ResponseWriter, r *http.Request, from time.Time) (time.Time, time.Time, bool) {
	q := r.URL.Query()
	to := time.Time{}
	if v := q.Get("from"); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			Error(w, http.StatusBadRequest, fmt.Sprintf("from: %q is not an RFC 3339 time", v))
			return from, to, false
		}
		from = t
	}
	if v := q.Get("to"); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			Error(w, http.StatusBadRequest, fmt.Sprintf("to: %q is not an RFC 3339 time", v))
			return from, to, false
		}
		if !t.After(from) {
			Error(w, http.StatusBadRequest, "to must be after from")
			return from, to, false
		}
		to = t
	}
	return from, to, true
}

// Limit reads the limit parameter of a listing (1..1000, default 100),
// answering 400 itself when it is bad.
func Limit(w http.ResponseWriter, r *http.Request) (int, bool) {
	v := r.URL.Query().Get("limit")
	if v == "" {
		return 100, true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 1000 {
		Error(w, http.StatusBadRequest, fmt.Sprintf("limit: %q must be 1..1000", v))
		return 0, false
	}
	return n, true
}
