package anpr

import (
	"context"
	"fmt"
	"image"
	"time"

	"github.com/kuzet/kuzet/plates/platetext"
)

// EvalPass reads a synthetic pass the way a camera's analyzer does: frame
// after frame through a Stream (motion gate, scans, looks around followed
// plates), taken 1/fps apart, voted into passes by a Tracker. The vehicle's
// read is the pass seen in most frames; Outcome.Confidence is that pass's,
// so the calibration of passes can be printed like that of photos.
// Extra counts the other passes the tracker made of the same vehicle.
func EvalPass(rec *Recognizer, sp SynthPass, fps float64) (o Outcome, extra int, err error) {
	o = Outcome{Truth: sp.Text, Edits: -1}
	st := NewStream(rec, StreamOptions{})
	tr := NewTracker(TrackerConfig{})
	step := time.Duration(float64(time.Second) / fps)
	at := time.Unix(1_700_000_000, 0)
	var passes []Pass
	var det, recog time.Duration
	for _, f := range sp.Frames {
		reads, tm, err := st.Read(f, image.Rectangle{})
		if err != nil {
			return o, 0, err
		}
		det += tm.Detect
		recog += tm.Recognize
		passes = append(passes, tr.Observe(at, reads)...)
		at = at.Add(step)
	}
	passes = append(passes, tr.Flush()...)
	n := float64(max(len(sp.Frames), 1))
	o.DetectMS = float64(det.Microseconds()) / 1000 / n
	o.RecogMS = float64(recog.Microseconds()) / 1000 / n
	if len(passes) == 0 {
		return o, 0, nil
	}
	best := 0
	for i, p := range passes {
		if p.Frames > passes[best].Frames {
			best = i
		}
	}
	p := passes[best]
	o.Found = true
	o.Read, o.Confidence = p.Text, p.Confidence
	for _, c := range p.Candidates {
		o.Candidates = append(o.Candidates, c.Text)
	}
	o.Edits = platetext.EditDistance(p.Text, sp.Text)
	o.Exact = o.Edits == 0
	return o, len(passes) - 1, nil
}

// PassSummary sums the passes of a set.
type PassSummary struct {
	Summary
	Passes int // vehicles
	Extra  int // passes beyond one per vehicle
}

// EvalPasses draws n passes, taking countries in turn, and reads them (see
// EvalPass), calling each with every outcome.
func EvalPasses(ctx context.Context, rec *Recognizer, syn *Synthesizer, countries []string, n, w, h, frames int, fps float64, each func(Outcome)) ([]Outcome, PassSummary, error) {
	var outs []Outcome
	extra := 0
	for i := range n {
		if err := ctx.Err(); err != nil {
			return outs, PassSummary{}, err
		}
		c := countries[i%len(countries)]
		sp, err := syn.Pass(c, w, h, frames)
		if err != nil {
			return outs, PassSummary{}, fmt.Errorf("draw pass %d (%s): %w", i, c, err)
		}
		o, x, err := EvalPass(rec, sp, fps)
		if err != nil {
			return outs, PassSummary{}, fmt.Errorf("read pass %d (%s): %w", i, c, err)
		}
		o.File = fmt.Sprintf("%s%04d", c, i)
		extra += x
		outs = append(outs, o)
		if each != nil {
			each(o)
		}
	}
	return outs, PassSummary{Summary: Summarize(outs), Passes: len(outs), Extra: extra}, nil
}
