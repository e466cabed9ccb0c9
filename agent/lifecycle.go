package agent

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// The node's lifecycle is written once: each role, as New opens it,
// pushes what releases it onto one stack and adds the loops Run starts.
// Closing pops the stack, so the order things open in defines the order
// they close in, reversed, for a New that fails half-way as for a Run
// that ends.

// closer releases one thing a role opened.
type closer struct {
	name string
	fn   func() error
	// idleOnly: Run's loop releases it itself when it ends; the closer
	// is for a node that never ran (New failed after opening it).
	idleOnly bool
}

// lifecycle is the stack of closers and the list of loops.
type lifecycle struct {
	mu      sync.Mutex
	stack   []closer
	loops   []loop
	started bool
}

// loop is work Run starts and waits for; it ends with ctx. A detached
// loop is not waited for: its closer ends it.
type loop struct {
	name     string
	run      func(ctx context.Context)
	detached bool
}

// onClose pushes fn, to run when the node closes.
func (l *lifecycle) onClose(name string, fn func() error) {
	l.mu.Lock()
	l.stack = append(l.stack, closer{name: name, fn: fn})
	l.mu.Unlock()
}

// onCloseIdle pushes fn, to run only if the node never ran.
func (l *lifecycle) onCloseIdle(name string, fn func() error) {
	l.mu.Lock()
	l.stack = append(l.stack, closer{name: name, fn: fn, idleOnly: true})
	l.mu.Unlock()
}

// loop adds work for Run.
func (l *lifecycle) loop(name string, run func(ctx context.Context)) {
	l.mu.Lock()
	l.loops = append(l.loops, loop{name: name, run: run})
	l.mu.Unlock()
}

// detached adds work for Run that outlives ctx: its own closer stops it
// and waits (the archive's upkeep, which must outlast the roles that
// write into the archive).
func (l *lifecycle) detached(name string, run func()) {
	l.mu.Lock()
	l.loops = append(l.loops, loop{name: name, run: func(context.Context) { run() }, detached: true})
	l.mu.Unlock()
}

// ran reports whether Run started the loops.
func (l *lifecycle) ran() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.started
}

// start runs every loop until ctx ends; wait returns when all but the
// detached ones have.
func (l *lifecycle) start(ctx context.Context) (wait func()) {
	l.mu.Lock()
	l.started = true
	loops := append([]loop(nil), l.loops...)
	l.mu.Unlock()
	var wg sync.WaitGroup
	for _, lp := range loops {
		if lp.detached {
			go lp.run(ctx)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			lp.run(ctx)
		}()
	}
	return wg.Wait
}

// closeAll pops the stack, last opened first, and joins the errors,
// each named by what failed to close.
func (l *lifecycle) closeAll() error {
	l.mu.Lock()
	stack, started := l.stack, l.started
	l.stack = nil
	l.mu.Unlock()
	var errs []error
	for i := len(stack) - 1; i >= 0; i-- {
		c := stack[i]
		if c.idleOnly && started {
			continue
		}
		if err := c.fn(); err != nil {
			errs = append(errs, fmt.Errorf("close %s: %w", c.name, err))
		}
	}
	return errors.Join(errs...)
}

// names lists the closers in the order they would run (tests).
func (l *lifecycle) names() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]string, 0, len(l.stack))
	for i := len(l.stack) - 1; i >= 0; i-- {
		out = append(out, l.stack[i].name)
	}
	return out
}
