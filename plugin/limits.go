package plugin

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"time"
)

// bucket is a token bucket: rate events per period, as many at once.
type bucket struct {
	mu     sync.Mutex
	now    func() time.Time
	rate   float64 // tokens per second
	burst  float64
	tokens float64
	at     time.Time
	denied time.Time // last refusal
}

func newBucket(n float64, per time.Duration, now func() time.Time) *bucket {
	return &bucket{now: now, rate: n / per.Seconds(), burst: n, tokens: n, at: now()}
}

// take spends a token, or says no.
func (b *bucket) take() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	b.tokens = min(b.burst, b.tokens+now.Sub(b.at).Seconds()*b.rate)
	b.at = now
	if b.tokens < 1 {
		b.denied = now
		return false
	}
	b.tokens--
	return true
}

// wait is how long until the next token.
func (b *bucket) wait() time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.tokens >= 1 {
		return 0
	}
	return time.Duration((1 - b.tokens) / b.rate * float64(time.Second))
}

// quiet reports whether nothing was refused for d.
func (b *bucket) quiet(d time.Duration) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.denied.IsZero() || b.now().Sub(b.denied) > d
}

// lines keeps what a plugin wrote since it last started: its first
// lines (where runtimes say why they die) and its last n.
type lines struct {
	mu      sync.Mutex
	n       int
	partial []byte
	head    []string
	ring    []string
	skipped int // between head and ring
}

const headLines = 10

func newLines(n int) *lines { return &lines{n: n} }

// reset forgets the last incarnation's output.
func (l *lines) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial, l.head, l.ring, l.skipped = nil, nil, nil, 0
}

func (l *lines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial = append(l.partial, p...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		l.add(string(l.partial[:i]))
		l.partial = l.partial[i+1:]
	}
	if len(l.partial) > 4096 { // a line that never ends
		l.add(string(l.partial))
		l.partial = nil
	}
	return len(p), nil
}

func (l *lines) add(s string) {
	s = strings.TrimRight(s, "\r")
	if len(s) > 500 {
		s = s[:500] + "…"
	}
	if len(l.head) < headLines {
		l.head = append(l.head, s)
		return
	}
	l.ring = append(l.ring, s)
	if len(l.ring) > l.n {
		l.skipped += len(l.ring) - l.n
		l.ring = l.ring[len(l.ring)-l.n:]
	}
}

func (l *lines) last() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := append([]string{}, l.head...)
	if l.skipped > 0 {
		out = append(out, fmt.Sprintf("[… %d lines …]", l.skipped))
	}
	return append(out, l.ring...)
}
