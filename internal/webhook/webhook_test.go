package webhook

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestPostSendsKeyAndAuthAndRefusesNon2xx(t *testing.T) {
	var status atomic.Int32
	status.Store(http.StatusServiceUnavailable)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Idempotency-Key") != "k1" || r.Header.Get("X-Token") != "s3cret" ||
			r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("headers %v", r.Header)
		}
		w.WriteHeader(int(status.Load()))
	}))
	defer srv.Close()
	tg := Target{URL: srv.URL, AuthHeader: "X-Token: s3cret", Client: srv.Client(), What: "plate API"}
	code, err := tg.Post(context.Background(), "k1", []byte(`{}`))
	if code != 503 || err == nil || !strings.Contains(err.Error(), "plate API answered 503") {
		t.Fatalf("503: %d %v", code, err)
	}
	status.Store(http.StatusCreated)
	if code, err := tg.Post(context.Background(), "k1", []byte(`{}`)); code != 201 || err != nil {
		t.Fatalf("201: %d %v", code, err)
	}
}

func TestErrorsNeverCarryTheURLsSecrets(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := "http://user:pw@" + strings.TrimPrefix(srv.URL, "http://") + "/hook?token=abc"
	srv.Close() // refused from now on
	_, err := Target{URL: url, Client: http.DefaultClient, What: "webhook"}.Post(context.Background(), "k", nil)
	if err == nil || strings.Contains(err.Error(), "abc") || strings.Contains(err.Error(), "pw") {
		t.Fatalf("error %v", err)
	}
	if got := Endpoint(url); strings.Contains(got, "abc") || strings.Contains(got, "pw") || !strings.Contains(got, "user@") {
		t.Fatalf("endpoint %q", got)
	}
}

// One alarm per outage, raised after FailAfter failures in a row; a store
// that failed is retried; the first success clears it; backoff doubles to
// its cap and restarts after a success.
func TestRetryAlarmsOncePerOutage(t *testing.T) {
	var raised, cleared int
	storeOK := false
	var waits []time.Duration
	r := &Retry{Min: time.Millisecond, Max: 4 * time.Millisecond, FailAfter: 3,
		OnFailing: func(n int, err error) bool {
			if n < 3 {
				t.Errorf("alarm after %d failures", n)
			}
			if storeOK {
				raised++
			}
			return storeOK
		},
		OnRecovered: func() bool { cleared++; return true },
		OnAttempt: func(_, _ int, err error, retryIn time.Duration) {
			if err != nil {
				waits = append(waits, retryIn)
			}
		},
	}
	fails := 6
	try := func(context.Context) (int, error) {
		if fails > 0 {
			fails--
			if fails == 2 {
				storeOK = true // the 4th failure finds the alarm store back
			}
			return 500, errors.New("down")
		}
		return 200, nil
	}
	if err := r.Until(context.Background(), try); err != nil {
		t.Fatal(err)
	}
	if raised != 1 || cleared != 1 {
		t.Fatalf("raised %d cleared %d", raised, cleared)
	}
	want := []time.Duration{1, 2, 4, 4, 4, 4}
	for i := range want {
		want[i] *= time.Millisecond
	}
	if len(waits) != len(want) {
		t.Fatalf("waits %v", waits)
	}
	for i := range want {
		if waits[i] != want[i] {
			t.Fatalf("waits %v, want %v", waits, want)
		}
	}
	// a success with nothing raised clears nothing
	if err := r.Until(context.Background(), try); err != nil || cleared != 1 {
		t.Fatalf("second: %v cleared %d", err, cleared)
	}
}

func TestRetryRestoredAlarmClearsOnFirstSuccess(t *testing.T) {
	cleared := 0
	r := &Retry{Min: time.Millisecond, FailAfter: 1, OnRecovered: func() bool { cleared++; return true }}
	r.Failing(true)
	if err := r.Until(context.Background(), func(context.Context) (int, error) { return 204, nil }); err != nil || cleared != 1 {
		t.Fatalf("%v cleared %d", err, cleared)
	}
}

func TestRetryEndsWithItsContext(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	r := &Retry{Min: 10 * time.Millisecond, Max: time.Hour, FailAfter: 1000}
	err := r.Until(ctx, func(context.Context) (int, error) { return 0, errors.New("refused") })
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v", err)
	}
}
