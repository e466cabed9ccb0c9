package alarm

import (
	"fmt"
	"testing"
	"time"

	"github.com/kuzet/kuzet/event"
)

// BenchmarkApply measures how fast the table takes alarm events from the
// log: a child's raises, repeats and clears over 1000 keys, as a parent
// applies them after a reconnect.
func BenchmarkApply(b *testing.B) {
	n := newNode(b, "region", Options{})
	evs := make([]event.Event, 0, b.N)
	t0 := n.clock.Now()
	for i := 0; i < b.N; i++ {
		key := fmt.Sprintf("camera_offline:Camera%d", i%1000)
		kind := event.KindAlarmRaised
		if (i/1000)%3 == 2 {
			kind = event.KindAlarmCleared
		}
		evs = append(evs, childEvent("site-1", uint64(i+1), kind, "Camera", event.SeverityMedium,
			t0.Add(time.Duration(i)*time.Millisecond), Payload{Key: key, Type: "camera_offline", Message: "offline"}))
	}
	for len(evs) > 0 {
		k := min(len(evs), 5000)
		if _, err := n.log.Ingest(evs[:k], "site-1"); err != nil {
			b.Fatal(err)
		}
		evs = evs[k:]
	}
	b.ResetTimer()
	n.m.mu.Lock()
	err := n.m.syncLocked()
	n.m.mu.Unlock()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
