package replicate

import (
	"context"
	"io"
	"sync"
	"time"
)

// Limiter is a token bucket in bytes per second (NVMS-6.19). A nil
// Limiter or a zero rate does not limit.
type Limiter struct {
	mu     sync.Mutex
	rate   float64 // bytes per second
	burst  float64
	tokens float64
	last   time.Time
}

// NewLimiter allows bytesPerSecond on average with bursts of a quarter
// second (at least 16 KiB), so short control exchanges are not delayed.
func NewLimiter(bytesPerSecond float64) *Limiter {
	if bytesPerSecond <= 0 {
		return nil
	}
	burst := max(bytesPerSecond/4, 16<<10)
	return &Limiter{rate: bytesPerSecond, burst: burst, tokens: burst, last: time.Now()}
}

// Rate is the configured bytes per second (0: unlimited).
func (l *Limiter) Rate() float64 {
	if l == nil {
		return 0
	}
	return l.rate
}

// Wait blocks until n bytes may pass.
func (l *Limiter) Wait(ctx context.Context, n int) error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	now := time.Now()
	l.tokens = min(l.burst, l.tokens+now.Sub(l.last).Seconds()*l.rate)
	l.last = now
	l.tokens -= float64(n) // may go negative: the debt is waited off below
	debt := -l.tokens
	l.mu.Unlock()
	if debt <= 0 {
		return nil
	}
	t := time.NewTimer(time.Duration(debt / l.rate * float64(time.Second)))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// LimitedReader reads through every limiter in turn (per link, then total).
type LimitedReader struct {
	Ctx      context.Context
	R        io.Reader
	Limiters []*Limiter
}

func (r *LimitedReader) Read(p []byte) (int, error) {
	if len(p) > 32<<10 {
		p = p[:32<<10] // small steps keep the rate smooth
	}
	n, err := r.R.Read(p)
	for _, l := range r.Limiters {
		if werr := l.Wait(r.Ctx, n); werr != nil {
			return n, werr
		}
	}
	return n, err
}
