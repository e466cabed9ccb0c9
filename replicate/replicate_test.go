package replicate

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/kuzet/kuzet/event"
)

func TestQueueOrderAndDurability(t *testing.T) {
	path := filepath.Join(t.TempDir(), "q.db")
	q, err := OpenQueue(path)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2025, 8, 18, 14, 0, 0, 0, time.UTC)
	a := Fetch{Child: "site", Origin: "site", Path: "C/a.mp4", Start: t0, Bytes: 10}
	b := Fetch{Child: "site", Origin: "site", Path: "C/b.mp4", Start: t0.Add(time.Minute), Bytes: 20}
	if err := q.Add(b, a, a); err != nil {
		t.Fatal(err)
	}
	if n, bytes, _ := q.Len("site"); n != 2 || bytes != 30 {
		t.Fatalf("len %d %d", n, bytes)
	}
	if f, ok, _ := q.Next("site"); !ok || f.Path != a.Path {
		t.Fatalf("next = %+v, want the oldest", f)
	}
	_ = q.Failed(a) // a failing file goes behind the others
	if f, _, _ := q.Next("site"); f.Path != b.Path {
		t.Fatalf("next after a failure = %+v", f)
	}
	q.Close()
	q, err = OpenQueue(path)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	_ = q.Done(b)
	if f, ok, _ := q.Next("site"); !ok || f.Path != a.Path || f.Tries != 1 {
		t.Fatalf("after reopen: %+v", f)
	}
	if _, ok, _ := q.Next("other"); ok {
		t.Fatal("another child's queue is not empty")
	}
}

// The planner queues each child's segment once, honours the policy, and
// does not queue the node's own segments.
func TestPlannerQueuesChildSegmentsOnce(t *testing.T) {
	dir := t.TempDir()
	log, err := event.OpenLog(filepath.Join(dir, "events.db"), "region", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	q, err := OpenQueue(filepath.Join(dir, "q.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	seg := func(origin string, seq uint64, path string) event.Event {
		e := event.New(event.KindSegmentClosed, "Camera1", "", event.Segment{Camera: "Camera1", Path: path, Bytes: 5, SHA256: "ab"})
		e.Origin, e.Seq, e.Path = origin, seq, []string{origin}
		return e
	}
	if _, err := log.Ingest([]event.Event{seg("site-a", 1, "Camera1/x.mp4"), seg("site-a", 2, "../escape.mp4")}, "site-a"); err != nil {
		t.Fatal(err)
	}
	if _, err := log.Ingest([]event.Event{seg("site-b", 1, "Camera1/y.mp4")}, "site-b"); err != nil {
		t.Fatal(err)
	}
	if _, err := log.Append(event.New(event.KindSegmentClosed, "Own", "", event.Segment{Path: "Own/z.mp4", SHA256: "cd"})); err != nil {
		t.Fatal(err)
	}
	run := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		p := &Planner{Log: log, Queue: q, Policy: func(c string) string {
			if c == "site-b" {
				return PolicyNone
			}
			return PolicyAll
		}}
		_ = p.Run(ctx)
	}
	run()
	run() // a restart plans nothing twice
	if n, _, _ := q.Len("site-a"); n != 1 {
		t.Fatalf("site-a: %d fetches, want 1 (the escaping path is refused)", n)
	}
	if n, _, _ := q.Len("site-b"); n != 0 {
		t.Fatalf("site-b under policy none: %d fetches", n)
	}
	if n, _, _ := q.Len("region"); n != 0 {
		t.Fatal("own segments planned")
	}
	f, _, _ := q.Next("site-a")
	if f.Origin != "site-a" || f.Path != "Camera1/x.mp4" || f.SHA256 != "ab" {
		t.Fatalf("fetch %+v", f)
	}
}
