package testkit

import (
	"sync"
	"time"
)

// Clock is a settable clock, safe for concurrent use, for components that
// take a `now func() time.Time`.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock starts a clock at t (a fixed, zone-explicit instant keeps a
// test's times readable).
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now is the clock's current time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward (backward for a negative d).
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Set puts the clock at t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}
