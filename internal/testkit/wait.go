package testkit

import (
	"testing"
	"time"
)

// WaitFor polls cond every 20 ms until it holds, failing the test with
// what it waited for once d has passed.
func WaitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	if !Eventually(d, cond) {
		t.Fatalf("timed out after %v waiting for %s", d, what)
	}
}

// Eventually polls cond every 20 ms for up to d and reports whether it
// held, for callers that decide themselves what a timeout means.
func Eventually(d time.Duration, cond func() bool) bool {
	return EventuallyEvery(d, 20*time.Millisecond, cond)
}

// EventuallyEvery is Eventually for conditions too costly to ask every
// 20 ms, such as a query to every node of a cluster.
func EventuallyEvery(d, every time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(every)
	}
	return true
}
