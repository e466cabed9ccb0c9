package replicate

import (
	"path/filepath"
	"testing"
	"time"
)

// The backlog sums what waits per origin over every child link, and
// shrinks as fetches are done.
func TestBacklogsByOrigin(t *testing.T) {
	q, err := OpenQueue(filepath.Join(t.TempDir(), "q.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	t0 := time.Date(2025, 8, 18, 14, 0, 0, 0, time.UTC)
	fs := []Fetch{
		{Child: "region-a", Origin: "site-1", Camera: "Camera1", Start: t0.Add(5 * time.Minute), Path: "Camera1/b.mp4", Bytes: 100},
		{Child: "region-a", Origin: "site-1", Camera: "Camera1", Start: t0, Path: "Camera1/a.mp4", Bytes: 50},
		{Child: "region-b", Origin: "site-1", Camera: "Camera2", Start: t0.Add(time.Minute), Path: "Camera2/a.mp4", Bytes: 7},
		{Child: "region-b", Origin: "site-2", Camera: "Camera1", Start: t0, Path: "Camera1/a.mp4", Bytes: 1},
	}
	if err := q.Add(fs...); err != nil {
		t.Fatal(err)
	}
	b, err := q.Backlogs()
	if err != nil {
		t.Fatal(err)
	}
	if got := b["site-1"]; got.Segments != 3 || got.Bytes != 157 || !got.Oldest.Equal(t0) {
		t.Fatalf("site-1: %+v", got)
	}
	if got := b["site-2"]; got.Segments != 1 || got.Bytes != 1 || len(b) != 2 {
		t.Fatalf("backlogs %+v", b)
	}
	if err := q.Done(fs[1]); err != nil {
		t.Fatal(err)
	}
	b, _ = q.Backlogs()
	if got := b["site-1"]; got.Segments != 2 || !got.Oldest.Equal(t0.Add(time.Minute)) {
		t.Fatalf("site-1 after one fetch: %+v", got)
	}
}
