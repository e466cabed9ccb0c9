package seals

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// Parse decodes and validates one message. Unknown fields, trailing data,
// a message over MaxMessageBytes and anything Validate refuses are errors
// naming what was wrong; nothing of a refused message is kept.
func Parse(b []byte) (*Message, error) {
	if len(b) > MaxMessageBytes {
		return nil, fmt.Errorf("message: %d bytes, at most %d", len(b), MaxMessageBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var m Message
	if err := dec.Decode(&m); err != nil {
		return nil, jsonError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("message: data after the message's JSON object")
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

// ReadMessage reads one message of at most MaxMessageBytes from r and
// parses it.
func ReadMessage(r io.Reader) (*Message, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxMessageBytes+1))
	if err != nil {
		return nil, fmt.Errorf("message: %w", err)
	}
	return Parse(b)
}

// jsonError names the field a decoding error is about, where it can.
func jsonError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		if te.Type == timeType {
			return bad(te.Field, "%s is not an RFC 3339 time", te.Value)
		}
		return bad(te.Field, "%s where %s is expected", te.Value, te.Type)
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("message: not JSON at byte %d: %v", se.Offset, err)
	}
	return fmt.Errorf("message: %v", err)
}
