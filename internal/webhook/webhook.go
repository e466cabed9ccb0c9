// Package webhook is the one way the node hands a record to an HTTP
// receiver it does not control (the alarm webhook, the plate API): a JSON
// POST with an Idempotency-Key, retried with backoff until a 2xx, with one
// alarm per outage. The durable queue stays with its owner, which removes
// an entry only after Retry.Until returned nil.
//
// It imports the standard library only.
package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Target is one receiver.
type Target struct {
	URL        string
	AuthHeader string // "Name: value", sent with every request (optional)
	Client     *http.Client
	What       string // names the receiver in errors, e.g. "webhook"
}

// Post sends body with key as its Idempotency-Key. Anything but a 2xx
// answer is an error; the status is returned when there was one.
func (t Target) Post(ctx context.Context, key string, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.URL, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", key)
	if name, value, ok := strings.Cut(t.AuthHeader, ":"); ok {
		req.Header.Set(strings.TrimSpace(name), strings.TrimSpace(value))
	}
	resp, err := t.Client.Do(req)
	if err != nil {
		return 0, BareError(err)
	}
	defer resp.Body.Close()
	// drained, bounded, so the connection is reused
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return resp.StatusCode, fmt.Errorf("%s answered %s", t.What, resp.Status)
	}
	return resp.StatusCode, nil
}

// Endpoint names a receiver for people: its URL without the password and
// the query, which may carry credentials.
func Endpoint(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable URL)"
	}
	if u.User != nil {
		u.User = url.User(u.User.Username())
	}
	u.RawQuery, u.ForceQuery, u.Fragment = "", false, ""
	return u.String()
}

// BareError drops the request URL an HTTP client error repeats (it may
// carry credentials in its query).
func BareError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}

// Retry is how one queue retries its head. It is used by one goroutine.
type Retry struct {
	Min, Max time.Duration // backoff between attempts, doubling
	// FailAfter failed attempts in a row call OnFailing, once per outage.
	FailAfter int
	// OnFailing raises the owner's alarm; it returns false when the alarm
	// could not be stored, so the next failure tries again.
	OnFailing func(failures int, err error) bool
	// OnRecovered clears it on the first success after; false as above.
	OnRecovered func() bool
	// OnAttempt observes every attempt (logs, metrics); retryIn is zero
	// after a success.
	OnAttempt func(attempt, status int, err error, retryIn time.Duration)

	failures int
	failing  bool
}

// Failing tells the retrier that an alarm raised before a restart is
// still up, so the next success clears it.
func (r *Retry) Failing(on bool) { r.failing = on }

// Until calls try until it succeeds (nil) or ctx ends (ctx.Err()).
func (r *Retry) Until(ctx context.Context, try func(context.Context) (int, error)) error {
	backoff := max(r.Min, time.Millisecond)
	for attempt := 1; ; attempt++ {
		status, err := try(ctx)
		if err == nil {
			if r.OnAttempt != nil {
				r.OnAttempt(attempt, status, nil, 0)
			}
			r.failures = 0
			if r.failing && (r.OnRecovered == nil || r.OnRecovered()) {
				r.failing = false
			}
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		r.failures++
		if r.OnAttempt != nil {
			r.OnAttempt(attempt, status, err, backoff)
		}
		if r.failures >= r.FailAfter && !r.failing && (r.OnFailing == nil || r.OnFailing(r.failures, err)) {
			r.failing = true
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		backoff = min(2*backoff, max(r.Max, r.Min))
	}
}
