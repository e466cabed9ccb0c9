package testkit

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestEventuallyAndClock(t *testing.T) {
	c := NewClock(time.Date(2025, 8, 18, 9, 0, 0, 0, time.UTC))
	go func() { time.Sleep(50 * time.Millisecond); c.Advance(time.Hour) }()
	if !Eventually(2*time.Second, func() bool { return c.Now().Hour() == 10 }) {
		t.Fatal("the advanced clock was never seen")
	}
	if Eventually(60*time.Millisecond, func() bool { return false }) {
		t.Fatal("a condition that never holds was reported as held")
	}
	if _, err := os.Stat(filepath.Join(must(ModuleRoot()), "go.mod")); err != nil {
		t.Fatalf("module root: %v", err)
	}
}

func must(s string, err error) string {
	if err != nil {
		panic(err)
	}
	return s
}
