package audit

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/kuzet/kuzet/event"
)

// BenchmarkRecord appends entries through a real event log (one bbolt
// commit with fsync each).
func BenchmarkRecord(b *testing.B) {
	l := openLog(b, filepath.Join(b.TempDir(), "events.db"), "site-1")
	defer l.Close()
	rec, err := New(l, Options{})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := rec.Record(Entry{User: "olga", Role: "operator", Action: ActionViewLive, Object: "Camera1", Source: "10.0.0.7"}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerify checks a chain of 10,000 entries in memory.
func BenchmarkVerify(b *testing.B) {
	const n = 10000
	evs := make([]event.Event, 0, n)
	prev := ""
	t0 := time.Date(2025, 8, 18, 0, 0, 0, 0, time.UTC)
	for i := 1; i <= n; i++ {
		p := Payload{Seq: uint64(i), User: "olga", Role: "operator", Action: ActionPlayArchive, Object: fmt.Sprint("Camera1 ", i), Prev: prev}
		at := t0.Add(time.Duration(i) * time.Second)
		p.Hash = ChainHash("site-1", at, p)
		prev = p.Hash
		e := event.New(Kind, "", "", p)
		e.Origin, e.Seq, e.Time, e.Pos = "site-1", uint64(i), at, uint64(i)
		evs = append(evs, e)
	}
	for b.Loop() {
		if ps := Verify(evs); len(ps) != 0 {
			b.Fatal(ps)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
}
