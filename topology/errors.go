package topology

import (
	"errors"
	"fmt"
	"net/http"
)

// Code classifies an error for callers (and HTTP status codes).
type Code string

const (
	CodeInvalid     Code = "invalid"     // the request is wrong: 400
	CodeNotFound    Code = "not_found"   // it names something that does not exist: 404
	CodeConflict    Code = "conflict"    // it clashes with what is stored: 409
	CodeUnavailable Code = "unavailable" // no leader or no quorum; nothing was applied: 503
	// CodeUnknownOutcome: the leader was lost after it took the change, which
	// may or may not commit. Read the catalogue before retrying: 503.
	CodeUnknownOutcome Code = "unknown_outcome"
	CodeForbidden      Code = "forbidden" // a peer that is not a replica of this catalogue: 403
	CodeInternal       Code = "internal"  // 500
)

// Error is an error with a Code and a message that says what was wrong.
type Error struct {
	Code Code
	Msg  string
}

func (e *Error) Error() string { return e.Msg }

// HTTPStatus maps the code to an HTTP status.
func (e *Error) HTTPStatus() int {
	switch e.Code {
	case CodeInvalid:
		return http.StatusBadRequest
	case CodeNotFound:
		return http.StatusNotFound
	case CodeConflict:
		return http.StatusConflict
	case CodeUnavailable, CodeUnknownOutcome:
		return http.StatusServiceUnavailable
	case CodeForbidden:
		return http.StatusForbidden
	}
	return http.StatusInternalServerError
}

// CodeOf returns the code of err (CodeInternal when it has none).
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

func errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Msg: fmt.Sprintf(format, args...)}
}

func invalidf(format string, args ...any) *Error { return errorf(CodeInvalid, format, args...) }
func notFoundf(format string, args ...any) *Error {
	return errorf(CodeNotFound, format, args...)
}
func conflictf(format string, args ...any) *Error {
	return errorf(CodeConflict, format, args...)
}
