package anpr

import (
	"image"
	"sort"
	"time"

	"github.com/kuzet/kuzet/plates/platetext"
)

// Outcome is how one evaluation image went.
type Outcome struct {
	File       string   `json:"file"`
	Truth      string   `json:"truth"`
	Read       string   `json:"read"`
	Confidence float64  `json:"confidence"`
	Margin     float64  `json:"margin"`
	Candidates []string `json:"candidates,omitempty"`
	Found      bool     `json:"found"`
	Exact      bool     `json:"exact"`
	Edits      int      `json:"edits"`
	DetectMS   float64  `json:"detect_ms"`
	RecogMS    float64  `json:"recognize_ms"`
	// Error tells why the image could not be read (scored as not read).
	Error string `json:"error,omitempty"`
}

// Score compares the reads of one image with its truth. A plate counts as
// found when some read's box overlaps the truth box (or, with no truth box,
// when some read is within one edit of the truth). The read scored is the
// best one over the truth box: a photo may show other plates than the one
// labelled, and a read of another car's plate says nothing of this one's
// (the node keeps both). With no truth box, or no read over it, it is the
// best read of the image.
func Score(t Truth, reads []Read, tm Timing) Outcome {
	o := Outcome{File: t.File, Truth: t.Plate, Edits: len(t.Plate),
		DetectMS: ms(tm.Detect), RecogMS: ms(tm.Recognize)}
	if len(reads) > 0 {
		best := reads[0]
		for _, rd := range reads {
			if !t.Box.Empty() && overlaps(rd.Box, t.Box) {
				best = rd
				break
			}
		}
		o.Read, o.Confidence, o.Margin = best.Text, best.Confidence, best.Margin
		for _, c := range best.Candidates {
			o.Candidates = append(o.Candidates, c.Text)
		}
		o.Edits = platetext.EditDistance(best.Text, t.Plate)
		o.Exact = o.Edits == 0
	}
	for _, rd := range reads {
		if t.Box.Empty() {
			if platetext.EditDistance(rd.Text, t.Plate) <= 1 {
				o.Found = true
			}
		} else if overlaps(rd.Box, t.Box) {
			o.Found = true
		}
	}
	return o
}

func overlaps(a, b image.Rectangle) bool {
	in := a.Intersect(b)
	if in.Empty() {
		return false
	}
	return float64(in.Dx()*in.Dy()) >= 0.3*float64(min(a.Dx()*a.Dy(), b.Dx()*b.Dy()))
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// Summary aggregates outcomes.
type Summary struct {
	Images        int     `json:"images"`
	Exact         float64 `json:"exact"`    // share read exactly
	OneEdit       float64 `json:"one_edit"` // share within one edit
	Found         float64 `json:"found"`    // share where the plate was found
	MedianDetect  float64 `json:"median_detect_ms"`
	MedianRecog   float64 `json:"median_recognize_ms"`
	MedianTotalMS float64 `json:"median_total_ms"`
	Unreadable    int     `json:"unreadable,omitempty"` // images that could not be decoded
}

// Summarize computes the shares and median times of outcomes.
func Summarize(outs []Outcome) Summary {
	s := Summary{Images: len(outs)}
	if len(outs) == 0 {
		return s
	}
	var det, rec, tot []float64
	for _, o := range outs {
		if o.Error != "" {
			s.Unreadable++
			continue
		}
		if o.Exact {
			s.Exact++
		}
		if o.Edits <= 1 {
			s.OneEdit++
		}
		if o.Found {
			s.Found++
		}
		det = append(det, o.DetectMS)
		rec = append(rec, o.RecogMS)
		tot = append(tot, o.DetectMS+o.RecogMS)
	}
	n := float64(len(outs))
	if len(det) == 0 {
		return s
	}
	s.Exact /= n
	s.OneEdit /= n
	s.Found /= n
	s.MedianDetect, s.MedianRecog, s.MedianTotalMS = median(det), median(rec), median(tot)
	return s
}

func median(v []float64) float64 {
	sort.Float64s(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

// CalibrationBand is one band of confidence in a calibration table: the
// reads whose confidence lies in [From, To) and how many of them were right.
type CalibrationBand struct {
	From, To float64
	Reads    int
	Right    int
}

// CalibrationEdges are the band edges of the calibration table.
var CalibrationEdges = []float64{0, 0.5, 0.7, 0.8, 0.9, 0.95, 0.99, 1.0001}

// Calibrate counts, per band of confidence, the reads made and the exact
// ones: a confidence means what it says when the share right in each band
// is at least its lower edge. Images with no read are left out.
func Calibrate(outs []Outcome) []CalibrationBand {
	bands := make([]CalibrationBand, len(CalibrationEdges)-1)
	for i := range bands {
		bands[i].From, bands[i].To = CalibrationEdges[i], CalibrationEdges[i+1]
	}
	for _, o := range outs {
		if o.Read == "" || o.Error != "" {
			continue
		}
		for i := range bands {
			if o.Confidence >= bands[i].From && o.Confidence < bands[i].To {
				bands[i].Reads++
				if o.Exact {
					bands[i].Right++
				}
				break
			}
		}
	}
	return bands
}

// Above counts the reads at or above a confidence threshold and the exact
// ones among them.
func Above(outs []Outcome, threshold float64) (reads, right int) {
	for _, o := range outs {
		if o.Read == "" || o.Error != "" || o.Confidence < threshold {
			continue
		}
		reads++
		if o.Exact {
			right++
		}
	}
	return reads, right
}
