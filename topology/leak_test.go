package topology

import (
	"runtime"
	"strings"
	"testing"
	"time"
)

// Closing replicas ends every goroutine they started (Raft's included).
func TestCloseLeavesNoGoroutines(t *testing.T) {
	base := runtime.NumGoroutine()
	pki := newTestPKI(t)
	reps := startCluster(t, pki, "centre-1", "centre-2", "centre-3")
	applyR(t, reps[1], putNode("centre", RoleCentre, ""))
	w := reps[2].Watch(ctxT(t))
	for _, r := range reps {
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if _, ok := <-w; ok {
		// drain: a change may be buffered before the close
		for range w {
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for runtime.NumGoroutine() > base {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			n := runtime.Stack(buf, true)
			var ours []string
			for _, g := range strings.Split(string(buf[:n]), "\n\n") {
				if strings.Contains(g, "hashicorp/raft") || strings.Contains(g, "kuzet/topology") {
					ours = append(ours, g)
				}
			}
			t.Fatalf("%d goroutines, %d before:\n%s", runtime.NumGoroutine(), base, strings.Join(ours, "\n\n"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}
