package plugin

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// ErrRateLimited matches, with errors.Is, the node's refusal of an event
// posted over the plugin's events_per_minute.
var ErrRateLimited = errors.New("plugin: over events_per_minute")

// Error is an answer of the node other than 2xx.
type Error struct {
	Status  int    // the HTTP status
	Message string // the node's explanation, which names the faulty field of a 400
	op      string
}

func (e *Error) Error() string {
	s := fmt.Sprintf("plugin: %s: %d %s", e.op, e.Status, http.StatusText(e.Status))
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// Is makes a 429 match ErrRateLimited.
func (e *Error) Is(target error) bool {
	return target == ErrRateLimited && e.Status == http.StatusTooManyRequests
}

// readError reads the node's {"error": "..."} answer, or failing that the
// start of whatever text came, so the message is never lost.
func readError(op string, resp *http.Response) *Error {
	e := &Error{Status: resp.StatusCode, op: op}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var body struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(b, &body) == nil && body.Error != "" {
		e.Message = body.Error
		return e
	}
	msg := strings.TrimSpace(string(b))
	if len(msg) > 512 {
		msg = strings.ToValidUTF8(msg[:512], "") + "…"
	}
	e.Message = msg
	return e
}
