package anpr

import (
	"testing"
	"time"
)

func readAt(text string, conf, x float64) Read {
	q := Quad{{x, 100}, {x + 100, 100}, {x + 100, 125}, {x, 125}}
	return Read{Text: text, Country: "KZ", Confidence: conf, Quad: q, Box: q.Bounds(),
		Candidates: []Candidate{{Text: text, Country: "KZ", Confidence: conf}}}
}

func TestTrackerVotesAndDirection(t *testing.T) {
	cfg := TrackerConfig{Gap: time.Second}
	cfg.Axis.X = 1
	tr := NewTracker(cfg)
	t0 := time.Unix(1000, 0)
	texts := []string{"123ABC02", "123A8C02", "123ABC02", "123ABC02", "I23ABC02"}
	for i, s := range texts {
		if p := tr.Observe(t0.Add(time.Duration(i)*200*time.Millisecond), []Read{readAt(s, 0.9, float64(100+40*i))}); len(p) != 0 {
			t.Fatalf("pass ended early: %v", p)
		}
	}
	// A second vehicle appears far away while the first is gone.
	passes := tr.Observe(t0.Add(3*time.Second), []Read{readAt("A123BC77", 0.8, 900)})
	if len(passes) != 1 {
		t.Fatalf("passes = %v", passes)
	}
	p := passes[0]
	if p.Text != "123ABC02" || p.Frames != 5 || p.Direction != "entry" || p.Motion != 160 {
		t.Fatalf("pass = %+v", p)
	}
	if p.Confidence <= 0.5 || p.Confidence > 1 {
		t.Fatalf("confidence %v", p.Confidence)
	}
	rest := tr.Flush()
	if len(rest) != 1 || rest[0].Text != "A123BC77" || rest[0].Direction != "" {
		t.Fatalf("flush = %+v", rest)
	}
}

func TestTrackerExitAndMinFrames(t *testing.T) {
	cfg := TrackerConfig{MinFrames: 2}
	cfg.Axis.Y = 1
	tr := NewTracker(cfg)
	t0 := time.Unix(0, 0)
	q := func(y float64) Read {
		r := readAt("AA1234BB", 0.9, 300)
		for i := range r.Quad {
			r.Quad[i].Y += y
		}
		return r
	}
	tr.Observe(t0, []Read{q(200)})
	tr.Observe(t0.Add(100*time.Millisecond), []Read{q(100)})
	tr.Observe(t0.Add(150*time.Millisecond), []Read{readAt("999ZZZ99", 0.9, 1000)}) // one frame only
	passes := tr.Flush()
	if len(passes) != 1 || passes[0].Direction != "exit" || passes[0].Motion != -100 {
		t.Fatalf("passes = %+v", passes)
	}
}
