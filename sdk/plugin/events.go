package plugin

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// MaxEventBytes bounds one line of the events stream.
const MaxEventBytes = 1 << 20

// Severities of a posted event. Medium and grave raise an alarm.
const (
	SeverityInfo   = "info"
	SeverityMinor  = "minor"
	SeverityMedium = "medium"
	SeverityGrave  = "grave"
)

// Event is one of the node's events, as /api/v1/events shows it.
type Event struct {
	Origin   string          `json:"origin"`
	Seq      uint64          `json:"seq"`
	Kind     string          `json:"kind"`
	Time     time.Time       `json:"time"`
	Camera   string          `json:"camera,omitempty"`
	Severity string          `json:"severity,omitempty"`
	Payload  json.RawMessage `json:"payload,omitempty"`
}

// Events opens the stream of the node's events of the given kinds, from
// now on. With no kinds, the node sends every kind the plugin is granted.
func (c *Client) Events(ctx context.Context, kinds ...string) (*EventStream, error) {
	path := "/v1/events"
	if len(kinds) > 0 {
		path += "?" + url.Values{"kinds": {strings.Join(kinds, ",")}}.Encode()
	}
	resp, err := c.do(ctx, http.MethodGet, path, nil)
	if err != nil {
		return nil, err
	}
	return &EventStream{body: resp.Body, br: bufio.NewReader(resp.Body)}, nil
}

// EventStream reads the node's events, one JSON object per line.
type EventStream struct {
	body io.Closer
	br   *bufio.Reader
	err  error
}

// Next returns the next event; io.EOF when the node ended the stream. A
// line that is not an event is returned as an error and the stream goes
// on; a failure to read is final.
func (s *EventStream) Next() (Event, error) {
	if s.err != nil {
		return Event{}, s.err
	}
	var line []byte
	for len(line) == 0 {
		var err error
		if line, err = readLine(s.br, MaxEventBytes); err != nil {
			if err != io.EOF {
				err = fmt.Errorf("plugin: events: %w", err)
			}
			s.err = err
			return Event{}, err
		}
	}
	var e Event
	if err := json.Unmarshal(line, &e); err != nil {
		return Event{}, fmt.Errorf("plugin: events: %w", err)
	}
	return e, nil
}

// Close ends the stream and its connection.
func (s *EventStream) Close() error { return s.body.Close() }

// Out is an event the plugin posts. The node stores it as
// plugin.<name>.<Kind>.
type Out struct {
	Kind     string    `json:"kind"`               // [a-z0-9_]{1,40}
	Camera   string    `json:"camera,omitempty"`   // empty, or a granted camera
	Time     time.Time `json:"time,omitzero"`      // zero: the node's now
	Severity string    `json:"severity,omitempty"` // empty or one of the Severity constants
	Message  string    `json:"message,omitempty"`
	Boxes    []Box     `json:"boxes,omitempty"`    // at most 32
	Data     any       `json:"data,omitempty"`     // any JSON, at most 8 KiB
	Snapshot []byte    `json:"snapshot,omitempty"` // a JPEG, at most limits.snapshot_kb; sent in base64
}

// Box marks a region of the picture, in fractions of its width and height.
type Box struct {
	X     float64 `json:"x"`
	Y     float64 `json:"y"`
	W     float64 `json:"w"`
	H     float64 `json:"h"`
	Label string  `json:"label,omitempty"`
	Score float64 `json:"score,omitempty"`
}

// Post sends an event to the node. A refusal is an *Error: 400 names the
// faulty field in its Message, 413 is a snapshot too large, and 429
// (matching ErrRateLimited) is over the plugin's events_per_minute.
func (c *Client) Post(ctx context.Context, e Out) error {
	body, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("plugin: event %q: %w", e.Kind, err)
	}
	resp, err := c.do(ctx, http.MethodPost, "/v1/events", body)
	if err != nil {
		return err
	}
	// Drained, the connection can carry the next post.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return resp.Body.Close()
}
