package anpr

import (
	"context"
	"errors"
	"image"
	"sync"
	"testing"
	"time"

	"github.com/kuzet/kuzet/plates"
)

type passLog struct {
	mu sync.Mutex
	s  []Snapshot
}

func (l *passLog) add(s Snapshot) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.s = append(l.s, s)
}

func (l *passLog) all() []Snapshot {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Snapshot(nil), l.s...)
}

func testMerger(node bool) (*merger, *passLog, *passLog) {
	var own, ext passLog
	cfg := TrackerConfig{Gap: time.Second}
	cfg.Axis.X = 1
	m := newMerger(AnalyzerOptions{Tracker: cfg, OnPass: own.add, Recognizer: Options{Countries: []string{"KZ"}}}, node)
	return m, &own, &ext
}

// A truck moves right through five frames; the camera reports its plate
// in the middle. One pass, read by both, its direction from the node's
// frames.
func TestMergerJoinsTheNodesPass(t *testing.T) {
	m, own, ext := testMerger(true)
	t0 := time.Unix(1000, 0)
	m.lastExt = t0.Add(-time.Minute) // the camera posts: the node keeps the frames its reads may need
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	for i := 0; i < 5; i++ {
		at := t0.Add(time.Duration(i) * 200 * time.Millisecond)
		m.frame(at, img, []Read{readAt("123ABC02", 0.8, float64(100+40*i))}, at)
		if i == 2 {
			m.external(externalMsg{r: ExternalRead{Text: "123ABC02", Confidence: 0.97, Direction: "exit", Overview: []byte{1}}, onPass: ext.add}, at)
		}
	}
	end := t0.Add(3 * time.Second)
	m.frame(end, img, nil, end) // the pass ends, and waits for late camera reads
	if len(own.all())+len(ext.all()) != 0 {
		t.Fatal("a pass left while the camera may still report it")
	}
	m.tick(end.Add(2 * time.Second))
	got := ext.all()
	if len(got) != 1 || len(own.all()) != 0 {
		t.Fatalf("passes: node %d, with camera %d", len(own.all()), len(got))
	}
	s := got[0]
	if s.Source != plates.SourceNodeCamera || s.Pass.Text != "123ABC02" || s.Pass.Frames != 6 || s.Pass.Direction != "entry" ||
		s.Pass.Motion != 160 || s.External == nil || s.External.Confidence != 0.97 || s.Frame == nil || s.External.Country != "KZ" {
		t.Fatalf("pass %+v, source %q, external %+v", s.Pass, s.Source, s.External)
	}
}

// The camera reports the plate before the node reads it; the node reads it
// within the gap: still one pass.
func TestMergerCameraFirst(t *testing.T) {
	m, own, ext := testMerger(true)
	t0 := time.Unix(2000, 0)
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	m.external(externalMsg{r: ExternalRead{Text: "A123BC77", Confidence: 0.9}, onPass: ext.add}, t0)
	m.tick(t0.Add(500 * time.Millisecond))
	for i := 0; i < 3; i++ {
		at := t0.Add(time.Duration(600+200*i) * time.Millisecond)
		m.frame(at, img, []Read{readAt("A123BC77", 0.8, float64(100+40*i))}, at)
	}
	m.tick(t0.Add(1500 * time.Millisecond)) // the camera read's wait is over: it joined already
	m.drain(nil)
	if got := ext.all(); len(got) != 1 || len(own.all()) != 0 || got[0].Source != plates.SourceNodeCamera || got[0].Pass.Frames != 4 {
		t.Fatalf("passes: node %+v, with camera %+v", own.all(), ext.all())
	}
}

// A camera read that arrives just after the node's pass ended joins it.
func TestMergerLateCameraRead(t *testing.T) {
	m, own, ext := testMerger(true)
	t0 := time.Unix(3000, 0)
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	m.lastExt = t0 // the camera has been posting
	m.extPass = ext.add
	for i := 0; i < 3; i++ {
		at := t0.Add(time.Duration(i) * 200 * time.Millisecond)
		m.frame(at, img, []Read{readAt("AA1234BB", 0.8, float64(100+40*i))}, at)
	}
	end := t0.Add(2 * time.Second)
	m.frame(end, img, nil, end)
	m.external(externalMsg{r: ExternalRead{Text: "AA1234BB", Confidence: 0.95, At: t0.Add(300 * time.Millisecond)}}, end.Add(500*time.Millisecond))
	m.tick(end.Add(2 * time.Second))
	if got := ext.all(); len(got) != 1 || len(own.all()) != 0 || got[0].Source != plates.SourceNodeCamera || got[0].Pass.Frames != 4 {
		t.Fatalf("passes: node %+v, with camera %+v", own.all(), ext.all())
	}
}

// Without camera reads the node's passes leave at once, as before.
func TestMergerNodeAlone(t *testing.T) {
	m, own, ext := testMerger(true)
	t0 := time.Unix(4000, 0)
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	m.frame(t0, img, []Read{readAt("456KTA05", 0.9, 100)}, t0)
	m.frame(t0.Add(3*time.Second), img, nil, t0.Add(3*time.Second))
	if got := own.all(); len(got) != 1 || got[0].Source != "" || got[0].External != nil || got[0].Frame == nil || len(ext.all()) != 0 {
		t.Fatalf("passes: node %+v, with camera %+v", own.all(), ext.all())
	}
}

// The node reads no plates here, or its frames stopped: the camera's
// repeated reads of one vehicle are one pass with the camera's own times;
// another plate is another pass.
func TestMergerCameraAlone(t *testing.T) {
	for _, node := range []bool{false, true} {
		m, own, ext := testMerger(node)
		t0 := time.Unix(5000, 0)
		camT := t0.Add(-30 * time.Second) // the camera's clock, behind
		send := func(text string, conf float64, after time.Duration) {
			m.external(externalMsg{r: ExternalRead{Text: text, Confidence: conf, At: camT.Add(after), Direction: "exit"}, onPass: ext.add}, t0.Add(after))
		}
		send("123ABC02", 0.8, 0)
		send("123ABC02", 0.9, 700*time.Millisecond)
		send("777AAA02", 0.9, 800*time.Millisecond)
		for d := time.Duration(0); d < 20*time.Second; d += 250 * time.Millisecond {
			m.tick(t0.Add(d))
		}
		got := ext.all()
		if len(got) != 2 || len(own.all()) != 0 {
			t.Fatalf("node %v: passes %+v", node, got)
		}
		p := got[0]
		if p.Source != plates.SourceCamera || p.Pass.Text != "123ABC02" || p.Pass.Frames != 2 || !p.Pass.First.Equal(camT) ||
			!p.Pass.Last.Equal(camT.Add(700*time.Millisecond)) || p.External.Confidence != 0.9 || p.Pass.Direction != "exit" ||
			p.Pass.Best.Box != (image.Rectangle{}) || p.Pass.Country != "KZ" {
			t.Fatalf("node %v: pass %+v external %+v", node, p.Pass, p.External)
		}
		if got[1].Pass.Text != "777AAA02" || got[1].Pass.Frames != 1 {
			t.Fatalf("node %v: second pass %+v", node, got[1].Pass)
		}
	}
}

// A camera-only analyzer: reads go in through External, passes come out
// through OnPass when the gap is over, the rest at Close; External after
// Close fails.
func TestStartExternal(t *testing.T) {
	var got passLog
	cfg := TrackerConfig{Gap: 300 * time.Millisecond}
	a := StartExternal(AnalyzerOptions{Camera: "Gate1", Tracker: cfg, OnPass: got.add})
	ctx := context.Background()
	now := time.Now()
	for i, text := range []string{"123ABC02", "123ABC02", "I23ABC02"} {
		if err := a.External(ctx, ExternalRead{Text: text, Confidence: 0.9, At: now.Add(time.Duration(i) * 100 * time.Millisecond)}, got.add); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(got.all()) == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if err := a.External(ctx, ExternalRead{Text: "AA1234BB"}, got.add); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	ps := got.all()
	if len(ps) != 2 || ps[0].Pass.Text != "123ABC02" || ps[0].Pass.Frames != 3 || ps[0].Source != plates.SourceCamera ||
		ps[1].Pass.Text != "AA1234BB" || ps[1].External.Confidence != externalConfidence {
		t.Fatalf("passes %+v", ps)
	}
	if err := a.External(ctx, ExternalRead{Text: "AA1234BB"}, got.add); !errors.Is(err, ErrAnalyzerClosed) {
		t.Fatalf("after Close: %v", err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
}

// A camera read of a plate the node's frames do not show goes on alone
// once the node has looked at a gap of frames after it, however late the
// node processes them.
func TestMergerCameraReadTheNodeMisses(t *testing.T) {
	m, own, ext := testMerger(true)
	t0 := time.Unix(6000, 0)
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	m.external(externalMsg{r: ExternalRead{Text: "777AAA02", Confidence: 0.9}, onPass: ext.add}, t0)
	late := t0.Add(3 * time.Second) // recognition lags: frames of t0.. come now
	for i := 0; i <= 5; i++ {       // up to the gap (1 s)
		at := t0.Add(time.Duration(i) * 200 * time.Millisecond)
		m.frame(at, img, []Read{readAt("123ABC02", 0.8, float64(100+10*i))}, late)
		if len(m.alone) != 0 {
			t.Fatalf("frame %d, %v after the read: gone on alone", i, at.Sub(t0))
		}
	}
	m.frame(t0.Add(1200*time.Millisecond), img, nil, late)
	if len(m.alone) != 1 {
		t.Fatal("still waiting after a gap of frames")
	}
	m.drain(nil)
	if got := ext.all(); len(got) != 1 || got[0].Source != plates.SourceCamera || got[0].Pass.Text != "777AAA02" {
		t.Fatalf("camera passes %+v", got)
	}
	if got := own.all(); len(got) != 1 || got[0].Source != "" || got[0].Pass.Text != "123ABC02" {
		t.Fatalf("node passes %+v", got)
	}
}

// Every camera read leaves the merger in exactly one pass, however it got
// there: joined to the node's pass, merged into a held one, or alone.
func TestMergerListsEveryCameraRead(t *testing.T) {
	m, own, ext := testMerger(true)
	t0 := time.Unix(7000, 0)
	m.lastExt = t0.Add(-time.Minute)
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	send := func(id, text string, at time.Time) {
		m.external(externalMsg{r: ExternalRead{Text: text, Confidence: 0.9, ID: id}, onPass: ext.add}, at)
	}
	for i := 0; i < 5; i++ {
		at := t0.Add(time.Duration(i) * 200 * time.Millisecond)
		m.frame(at, img, []Read{readAt("123ABC02", 0.8, float64(100+40*i))}, at)
		if i == 1 {
			send("joined", "123ABC02", at)
		}
		if i == 3 {
			send("joined-misread", "123ABC0Z", at) // the node never read this text
		}
	}
	end := t0.Add(2 * time.Second)
	m.frame(end, img, nil, end) // the pass ends and is held
	send("late", "123ABC02", end.Add(100*time.Millisecond))
	send("alone", "777AAA02", end.Add(200*time.Millisecond))
	for d := time.Duration(0); d < 30*time.Second; d += 250 * time.Millisecond {
		m.tick(end.Add(d))
	}
	m.drain(nil)
	seen := map[string]int{}
	for _, s := range append(own.all(), ext.all()...) {
		for _, id := range s.Reads {
			seen[id]++
		}
	}
	for _, id := range []string{"joined", "joined-misread", "late", "alone"} {
		if seen[id] != 1 {
			t.Errorf("read %s in %d passes: %v", id, seen[id], seen)
		}
	}
	if len(m.joined)+len(m.alone)+len(m.pending)+len(m.held) != 0 {
		t.Errorf("reads left in the merger: joined %d alone %d pending %d held %d", len(m.joined), len(m.alone), len(m.pending), len(m.held))
	}
}

// A camera read the tracker puts into another track (fed at the time and
// place the node last read its text, where another plate is now) leaves
// with that track's pass, though it was fed before the pass's first read.
func TestMergerCameraReadOutsideItsPassSpan(t *testing.T) {
	m, own, ext := testMerger(true)
	t0 := time.Unix(8000, 0)
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	frame := func(d time.Duration, reads ...Read) {
		m.frame(t0.Add(d), img, reads, t0.Add(d))
	}
	frame(0, readAt("123ABC02", 0.8, 100))
	frame(200*time.Millisecond, readAt("XXXXXXXX", 0.5, 240)) // the same plate misread further on
	frame(400*time.Millisecond, readAt("XXXXXXXX", 0.5, 380))
	frame(600*time.Millisecond, readAt("999ZZZ99", 0.8, 100)) // another vehicle where the first was read
	m.external(externalMsg{r: ExternalRead{Text: "123ABC02", Confidence: 0.9, ID: "span"}, onPass: ext.add}, t0.Add(600*time.Millisecond))
	for d := 800 * time.Millisecond; d < 30*time.Second; d += 250 * time.Millisecond {
		frame(d)
		m.tick(t0.Add(d))
	}
	m.drain(nil)
	n := 0
	for _, s := range append(own.all(), ext.all()...) {
		n += len(s.Reads)
		if len(s.Reads) > 0 && !s.Pass.First.After(t0) {
			t.Errorf("the camera read went into a pass from %v; fed at %v: not the case this test is for", s.Pass.First, t0)
		}
	}
	if n != 1 || len(m.joined) != 0 {
		t.Fatalf("the camera read is in %d passes, %d left in the merger", n, len(m.joined))
	}
}
