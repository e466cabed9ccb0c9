package anpr

import (
	"image"
	"testing"
)

// TestCalibrate bands reads by confidence, counts the right ones, and
// leaves out images with no read or an error.
func TestCalibrate(t *testing.T) {
	outs := []Outcome{
		{Read: "A", Confidence: 0.99, Exact: true},
		{Read: "B", Confidence: 0.995, Exact: false},
		{Read: "C", Confidence: 1, Exact: true},
		{Read: "D", Confidence: 0.92, Exact: true},
		{Read: "E", Confidence: 0.3, Exact: false},
		{Read: "", Confidence: 0},
		{Read: "F", Confidence: 0.97, Error: "truncated PNG"},
	}
	bands := Calibrate(outs)
	want := map[float64][2]int{0: {1, 0}, 0.9: {1, 1}, 0.99: {3, 2}}
	for _, b := range bands {
		w := want[b.From]
		if b.Reads != w[0] || b.Right != w[1] {
			t.Errorf("band %.2f–%.2f: %d reads, %d right; want %d, %d", b.From, b.To, b.Reads, b.Right, w[0], w[1])
		}
	}
	if reads, right := Above(outs, 0.95); reads != 3 || right != 2 {
		t.Errorf("Above(0.95) = %d, %d; want 3, 2", reads, right)
	}
	if reads, _ := Above(outs, 0); reads != 5 {
		t.Errorf("Above(0) = %d reads, want 5", reads)
	}
}

// TestScoreReadsTheLabelledPlate: in a photo of two cars, the read scored
// is the one over the labelled plate's box, even when another car's plate
// read surer; with no read over the box, or no box, the photo's best read
// is scored.
func TestScoreReadsTheLabelledPlate(t *testing.T) {
	box := image.Rect(500, 300, 590, 345)
	other := Read{Text: "6MTP929", Confidence: 0.98, Box: image.Rect(100, 400, 190, 445)}
	this := Read{Text: "6TIX874", Confidence: 0.7, Box: image.Rect(505, 305, 585, 340)}
	o := Score(Truth{Box: box, Plate: "6TIX874"}, []Read{other, this}, Timing{})
	if o.Read != "6TIX874" || !o.Exact || !o.Found || o.Confidence != 0.7 {
		t.Errorf("two plates: scored %+v, want the labelled plate's read", o)
	}
	o = Score(Truth{Box: box, Plate: "6TIX874"}, []Read{other}, Timing{})
	if o.Read != "6MTP929" || o.Exact || o.Found {
		t.Errorf("only another plate read: scored %+v, want it scored wrong and the plate not found", o)
	}
	o = Score(Truth{Plate: "6TIX874"}, []Read{other, this}, Timing{})
	if o.Read != "6MTP929" || !o.Found {
		t.Errorf("no truth box: scored %+v, want the best read, and the plate found among the reads", o)
	}
}
