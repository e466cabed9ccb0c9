package site

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/kuzet/kuzet/config"
	"github.com/kuzet/kuzet/media"
	"github.com/kuzet/kuzet/testcam"
)

// applySink counts units and records each session's open and close.
type applySink struct {
	mu     *sync.Mutex
	units  map[string]int
	closed map[string]int
	camera string
}

func (c *applySink) WriteUnit(*media.Unit) error {
	c.mu.Lock()
	c.units[c.camera]++
	c.mu.Unlock()
	return nil
}

func (c *applySink) Close() error {
	c.mu.Lock()
	c.closed[c.camera]++
	c.mu.Unlock()
	return nil
}

// A camera added while the site runs starts streaming, a removed one stops
// (its consumers close), a changed one restarts, and an unchanged one keeps
// its session.
func TestApplyChangesCamerasWhileRunning(t *testing.T) {
	src, err := testcam.Start(testcam.Options{Listen: "127.0.0.1:0", DisableUDP: true, Cameras: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var mu sync.Mutex
	units, closed := map[string]int{}, map[string]int{}
	s := New(Options{Cameras: []config.Camera{cam("A", src.URL("cam1"))}, Consumers: []media.Consumer{{
		Name: "count", Queue: 64,
		Open: func(camera string, _ media.Track, _ string) (media.Sink, error) {
			return &applySink{mu: &mu, units: units, closed: closed, camera: camera}, nil
		},
	}}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	count := func(id string) (int, int) {
		mu.Lock()
		defer mu.Unlock()
		return units[id], closed[id]
	}
	waitUnits := func(id string, n int) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			if u, _ := count(id); u >= n {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("camera %s: no media after apply (%+v)", id, s.Status())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitUnits("A", 10)
	added, removed, changed := s.Apply([]config.Camera{cam("A", src.URL("cam1")), cam("B", src.URL("cam2"))})
	if len(added) != 1 || added[0] != "B" || len(removed)+len(changed) != 0 {
		t.Fatalf("apply: +%v -%v ~%v", added, removed, changed)
	}
	waitUnits("B", 10)
	if _, c := count("A"); c != 0 {
		t.Fatal("an unchanged camera was restarted")
	}
	c2 := cam("B", src.URL("cam2"))
	c2.OfflineAfter = config.Duration(5 * time.Second)
	added, removed, changed = s.Apply([]config.Camera{c2})
	if len(removed) != 1 || removed[0] != "A" || len(changed) != 1 || changed[0] != "B" || len(added) != 0 {
		t.Fatalf("apply: +%v -%v ~%v", added, removed, changed)
	}
	if _, c := count("A"); c != 1 {
		t.Fatalf("removed camera's consumers closed %d times, want 1", c)
	}
	if _, c := count("B"); c != 1 {
		t.Fatalf("changed camera's old session closed %d times, want 1", c)
	}
	before, _ := count("B")
	waitUnits("B", before+10)
	if st := s.Status(); len(st) != 1 || st[0].ID != "B" {
		t.Fatalf("status after apply: %+v", st)
	}
	cancel()
	<-done
	if _, c := count("B"); c != 2 {
		t.Fatalf("camera B closed %d times at the end, want 2", c)
	}
}
