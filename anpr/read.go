package anpr

import (
	"math"
	"sort"
)

// Decoder tuning. junkPenalty is the log cost of each non-separator step
// spent outside the plate string (bands, emblems, frame text); genericPrior
// is the log penalty of reading a plate with no country grammar.
const (
	junkPenalty  = float32(-3.0)
	genericPrior = float32(-6.0)
	maxCands     = 5
)

type scored struct {
	Candidate
	score float32
}

// decodeRead decodes one line (or two joined rows) into a plate read.
func (r *Recognizer) decodeRead(lp logProbs, q Quad, rows int) (Read, bool) {
	free := greedy(lp)
	var cands []scored
	add := func(text, country string, d decoded, score float32) {
		for i := range cands {
			if cands[i].Text == text {
				if score > cands[i].score {
					cands[i].score = score
				}
				return
			}
		}
		cands = append(cands, scored{Candidate{text, country, d.confidence()}, score})
	}
	for _, f := range r.formats {
		if d, ok := constrained(lp, f.sets, junkPenalty); ok {
			add(d.text, f.country, d, d.logp)
		}
	}
	if !r.opts.NoGeneric && genericPlate(free.text) {
		add(free.text, genericFormatID, free, free.logp+genericPrior)
	}
	if len(cands) == 0 {
		return Read{}, false
	}
	sort.SliceStable(cands, func(i, j int) bool { return cands[i].score > cands[j].score })
	if len(cands) > maxCands {
		cands = cands[:maxCands]
	}
	best := cands[0]
	rd := Read{
		Text:    best.Text,
		Country: best.Country,
		Box:     q.Bounds(),
		Quad:    q,
		Rows:    rows,
	}
	// How much of the line's probability the chosen reading keeps: near 1
	// when the free reading already is the plate, low when the grammar had to
	// overrule the recogniser or most of the line was junk.
	agree := math.Exp(float64(best.score-free.logp) / float64(max(1, len(best.Text))))
	rd.Confidence = best.Confidence * math.Min(1, agree) * plateShape(best.Text, best.Country, q, rows)
	for _, c := range cands {
		rd.Candidates = append(rd.Candidates, c.Candidate)
	}
	return rd, true
}

// plateShape scores how plate-like a reading and its box are (0–1): length
// and letter/digit mix of the text, and the character aspect implied by the
// box width over the number of characters.
func plateShape(text, country string, q Quad, rows int) float64 {
	s := 1.0
	n := len(text)
	if country == genericFormatID {
		// Country grammars are the stronger evidence of a plate.
		s *= 0.6
		digits := 0
		for i := 0; i < n; i++ {
			if text[i] >= '0' && text[i] <= '9' {
				digits++
			}
		}
		switch {
		case n < 4 || n > 8:
			s *= 0.3
		case digits == 0:
			s *= 0.4
		case digits == n && n >= 6:
			s *= 0.5 // dates, phone numbers, timestamps
		}
	}
	// Character cell width over height: plate fonts are ~0.4–0.8 of their
	// height; far wider cells mean a few large glyphs (logos), far narrower
	// ones small print.
	charW := q.width() / float64(max(1, n)) * float64(rows)
	charH := q.height() / float64(rows)
	if a := charW / math.Max(charH, 1); a < 0.25 || a > 1.6 {
		s *= 0.5
	}
	return s
}
