package anpr

import (
	"math"
	"testing"
	"time"

	"github.com/kuzet/kuzet/plates"
)

func readAt(text string, conf, x float64) Read {
	q := Quad{{x, 100}, {x + 100, 100}, {x + 100, 125}, {x, 125}}
	return Read{Text: text, Country: "KZ", Confidence: conf, Quad: q, Box: q.Bounds(),
		Candidates: []plates.Candidate{{Text: text, Country: "KZ", Confidence: conf}}}
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

// TestPassConfidence: frames that agree leave the pass as sure as its best
// read, whatever alternatives they list; frames that read another text
// lower it by their share.
func TestPassConfidence(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 0)
	pass := func(reads []Read) Pass {
		tr := NewTracker(TrackerConfig{})
		for i, rd := range reads {
			tr.Observe(t0.Add(time.Duration(i)*200*time.Millisecond), []Read{rd})
		}
		ps := tr.Flush()
		if len(ps) != 1 {
			t.Fatalf("passes %+v", ps)
		}
		return ps[0]
	}
	var agree []Read
	for i, c := range []float64{0.8, 0.97, 0.9, 0.85} {
		rd := readAt("123ABC02", c, float64(100+40*i))
		rd.Candidates = append(rd.Candidates, plates.Candidate{Text: "123ABC82", Country: "KZ", Confidence: 0.6},
			plates.Candidate{Text: "I23ABC02", Country: "EU", Confidence: 0.5})
		agree = append(agree, rd)
	}
	if p := pass(agree); p.Text != "123ABC02" || math.Abs(p.Confidence-0.97) > 1e-9 {
		t.Errorf("agreeing frames: %s %.3f, want 123ABC02 0.970", p.Text, p.Confidence)
	}
	split := append([]Read{}, agree...)
	split = append(split, readAt("123ABC82", 0.9, 260))
	p := pass(split)
	want := 0.97 * (0.8 + 0.97 + 0.9 + 0.85) / (0.8 + 0.97 + 0.9 + 0.85 + 0.9)
	if p.Text != "123ABC02" || math.Abs(p.Confidence-want) > 1e-9 {
		t.Errorf("one frame disagreeing: %s %.3f, want 123ABC02 %.3f", p.Text, p.Confidence, want)
	}
	// the plate half out of the view reads as part of its text: no rival
	partial := append([]Read{}, agree...)
	partial = append(partial, readAt("123AB", 0.9, 260), readAt("23ABC02", 0.7, 280))
	if p := pass(partial); p.Text != "123ABC02" || math.Abs(p.Confidence-0.97) > 1e-9 {
		t.Errorf("partial reads: %s %.3f, want 123ABC02 0.970", p.Text, p.Confidence)
	}
}

// A track holding a camera's read (tagged) is a pass even when shorter
// than MinFrames: the read must leave in one.
func TestTrackerKeepsTaggedShortTracks(t *testing.T) {
	tr := NewTracker(TrackerConfig{Gap: time.Second, MinFrames: 3})
	t0 := time.Unix(100, 0)
	tagged := readAt("777AAA02", 0.9, 900)
	tagged.tag = 7
	tr.Observe(t0, []Read{readAt("123ABC02", 0.9, 100), tagged})
	ps := tr.Flush()
	if len(ps) != 1 || ps[0].Text != "777AAA02" || len(ps[0].tags) != 1 || ps[0].tags[0] != 7 {
		t.Fatalf("passes %+v", ps)
	}
}

// Text on the vehicle beside its plate, read unsure in the same frames as
// the plate read sure, is not a pass of its own; an unsure read with no
// surer plate in view still is.
func TestTrackerDropsTextBesideAPlate(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 0)
	tr := NewTracker(TrackerConfig{})
	var passes []Pass
	for i := range 5 {
		x := float64(100 + 30*i)
		passes = append(passes, tr.Observe(t0.Add(time.Duration(i)*200*time.Millisecond),
			[]Read{readAt("123ABC02", 0.95, x), readAt("TRANS24", 0.35, x+400)})...)
	}
	// later, alone: an unsure read of another vehicle
	for i := range 3 {
		passes = append(passes, tr.Observe(t0.Add(10*time.Second+time.Duration(i)*200*time.Millisecond),
			[]Read{readAt("777XYZ01", 0.3, float64(100+30*i))})...)
	}
	passes = append(passes, tr.Flush()...)
	var texts []string
	for _, p := range passes {
		texts = append(texts, p.Text)
	}
	if len(passes) != 2 || passes[0].Text != "123ABC02" || passes[1].Text != "777XYZ01" || tr.SideText() != 1 {
		t.Fatalf("passes %v, %d taken for side text; want 123ABC02 and 777XYZ01, 1", texts, tr.SideText())
	}
	// two vehicles read alike are both passes
	tr = NewTracker(TrackerConfig{})
	for i := range 4 {
		x := float64(100 + 30*i)
		tr.Observe(t0.Add(time.Duration(i)*200*time.Millisecond),
			[]Read{readAt("123ABC02", 0.95, x), readAt("555KKK05", 0.6, x+400)})
	}
	if ps := tr.Flush(); len(ps) != 2 || tr.SideText() != 0 {
		t.Fatalf("two plates in view: %d passes, %d side text", len(ps), tr.SideText())
	}
}

// A plate whose centre moves across a lane divider makes a pass that
// crossed it; one that moves along it, or stops short, does not.
func TestTrackerLaneDivider(t *testing.T) {
	divider := Segment{X1: 300, Y1: 0, X2: 300, Y2: 720} // a vertical line at x = 300
	run := func(xs ...float64) Pass {
		t.Helper()
		tr := NewTracker(TrackerConfig{Gap: time.Second, Dividers: []Segment{divider}})
		t0 := time.Unix(1000, 0)
		for i, x := range xs {
			tr.Observe(t0.Add(time.Duration(i)*200*time.Millisecond), []Read{readAt("123ABC02", 0.9, x)})
		}
		ps := tr.Flush()
		if len(ps) != 1 {
			t.Fatalf("passes %+v", ps)
		}
		return ps[0]
	}
	// centres at x+50: 150..270 stays left; 150..330 crosses
	if p := run(100, 140, 180, 220); p.CrossedDivider {
		t.Fatal("a plate left of the divider crossed it")
	}
	if p := run(100, 160, 220, 280); !p.CrossedDivider {
		t.Fatal("a plate moving across the divider did not cross it")
	}
	if (Segment{0, 0, 10, 0}).crosses(point{5, -1}, point{5, 1}) != true || (Segment{0, 0, 10, 0}).crosses(point{11, -1}, point{11, 1}) {
		t.Fatal("segment crossing")
	}
}
