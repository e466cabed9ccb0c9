package replicate

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/kuzet/kuzet/event"
)

// Under the referenced policy only segments that a plate read or alarm
// points to go up, whichever of the two arrives first; the rest stay known
// for on-demand fetches.
func TestPlannerReferencedPolicy(t *testing.T) {
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
	t0 := time.Now().UTC().Truncate(time.Hour).Add(-time.Hour) // recent: older ones are forgotten
	seq := uint64(0)
	ev := func(kind string, at time.Time, payload any) event.Event {
		seq++
		e := event.New(kind, "Camera1", "", payload)
		e.Origin, e.Seq, e.Path, e.Time = "site-a", seq, []string{"site-a"}, at
		return e
	}
	seg := func(i int) event.Event {
		s := event.Segment{Camera: "Camera1", Start: t0.Add(time.Duration(i) * time.Minute),
			End: t0.Add(time.Duration(i+1) * time.Minute), Path: "Camera1/" + string(rune('a'+i)) + ".mp4", Bytes: 10, SHA256: "ff"}
		return ev(event.KindSegmentClosed, s.End, s)
	}
	// a read during segment 1 (before it closes), segment 0..3 closed, then
	// an alarm pointing back into segment 3
	batch := []event.Event{
		seg(0),
		ev("plate.read", t0.Add(90*time.Second), nil),
		seg(1), seg(2), seg(3),
		ev(event.KindAlarmRaised, t0.Add(3*time.Minute+30*time.Second), nil),
	}
	if _, err := log.Ingest(batch, "site-a"); err != nil {
		t.Fatal(err)
	}
	refs := func(e event.Event) (string, time.Time, time.Time, bool) {
		if e.Kind != "plate.read" && e.Kind != event.KindAlarmRaised {
			return "", time.Time{}, time.Time{}, false
		}
		return e.Camera, e.Time, e.Time, true
	}
	ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
	defer cancel()
	_ = (&Planner{Log: log, Queue: q, References: refs, Policy: func(string) string { return PolicyReferenced }}).Run(ctx)

	var got []string
	_ = q.each("site-a", func(f Fetch) { got = append(got, f.Path) })
	if len(got) != 2 || got[0] != "Camera1/b.mp4" || got[1] != "Camera1/d.mp4" {
		t.Fatalf("queued %v, want segments b (plate read) and d (alarm)", got)
	}
	known, err := q.Known("site-a", "Camera1", t0.Add(30*time.Second), t0.Add(150*time.Second))
	if err != nil || len(known) != 3 {
		t.Fatalf("known overlapping 0:30–2:30: %d (%v), want segments a, b, c", len(known), err)
	}
	if n, err := q.Forget(t0.Add(2 * time.Minute)); err != nil || n != 3 {
		t.Fatalf("forget: %d %v, want 2 segments and the plate reference", n, err)
	}
	if k, _ := q.Known("site-a", "Camera1", t0, t0.Add(time.Hour)); len(k) != 2 {
		t.Fatalf("%d known after forgetting, want 2", len(k))
	}
}

// Reconcile queues what a child lists and this node lacks, under the
// policy, and an urgent request jumps the queue.
func TestReconcileAndUrgent(t *testing.T) {
	dir := t.TempDir()
	q, err := OpenQueue(filepath.Join(dir, "q.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	policy := PolicyAll
	p := &Planner{Queue: q, Policy: func(string) string { return policy }}
	t0 := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	var listed []Fetch
	for i := range 4 {
		listed = append(listed, Fetch{Origin: "site-a", Camera: "Camera1", Start: t0.Add(time.Duration(i) * time.Minute),
			End: t0.Add(time.Duration(i+1) * time.Minute), Path: "Camera1/" + string(rune('a'+i)) + ".mp4", Bytes: 1, SHA256: "ff"})
	}
	have := func(origin, rel string) bool { return rel == "Camera1/a.mp4" }
	if n, err := p.Reconcile("site-a", listed, have); err != nil || n != 3 {
		t.Fatalf("reconcile: %d %v, want the 3 missing", n, err)
	}
	if f, _, _ := q.Next("site-a"); f.Path != "Camera1/b.mp4" {
		t.Fatalf("next %s, want the oldest", f.Path)
	}
	last := listed[3]
	last.Child, last.Urgent = "site-a", true
	if err := q.Add(last); err != nil {
		t.Fatal(err)
	}
	if f, _, _ := q.Next("site-a"); f.Path != "Camera1/d.mp4" || !f.Urgent {
		t.Fatalf("next %s, want the urgent one", f.Path)
	}
	policy = PolicyNone
	if n, err := p.Reconcile("site-b", listed, have); err != nil || n != 0 {
		t.Fatalf("policy none: %d queued (%v)", n, err)
	}
	if k, _ := q.Known("site-a", "Camera1", t0, t0.Add(time.Hour)); len(k) != 4 || k[0].Child != "site-b" {
		t.Fatalf("known after reconcile: %+v", k)
	}
}
