package testkit

import "testing"

// Long marks a test that starts processes, real servers or browsers, or
// runs for many seconds: `go test -short` leaves it out for a fast inner
// loop, `make test` runs it. The skip names itself, so a short run says
// what it did not cover.
func Long(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("multi-process or long test: runs without -short (make test)")
	}
}
