package anpr

import (
	"math"
	"sort"
	"strings"

	"github.com/kuzet/kuzet/plates"
)

// Decoder tuning, in natural-log units of the recogniser's probabilities.
//
// A grammar is evidence, not scissors: the free (unconstrained) reading of a
// line is always a candidate, and a country format competes with it by what
// its best CTC path costs against the free path. grammarBonus is how much a
// format may cost and still win: about one look-alike swap the glyphs leave
// open (O/0, I/1, B/8), not a confident S read as 5 (see lookAlikePairs).
// A country's prior adds listedBonus when the camera lists it, takes
// familyPenalty per natural log of its number of formats and adds what the
// plate's look says for it (band, colours; see plateLook); a format other
// than the country's first, common one takes rareFormat.
// junkPenalty is the cost of each step spent outside the plate string
// before or after it, and junkKeep the log probability from which a
// character is never junk: a character the recogniser is sure of is never
// dropped to make a format fit (bands, flags and emblems are removed from
// the crop by geometry before recognition, see cleanLine).
const (
	junkPenalty   = float32(-3.0)
	junkKeep      = float32(-0.7) // log 0.5
	sureChar      = float32(0.5)
	grammarBonus  = float32(2.0)
	listedBonus   = float32(0.5)
	familyPenalty = float32(0.3)
	rareFormat    = float32(0.4)
	maxCands      = 5
	noRival       = 20.0 // Margin of a reading with no other candidate
	marginScale   = 0.5  // the score gap that makes a reading e times likelier than its rival
	genericShape  = 0.85 // plateShape's doubt of a reading of no format
)

type scored struct {
	plates.Candidate
	score float32
	logp  float32
}

// decodeRead decodes one line (or two joined rows) into a plate read; look
// is what the plate's geometry and colours tell about its country.
func (r *Recognizer) decodeRead(lp logProbs, q Quad, rows int, look plateLook) (Read, bool) {
	free := greedy(lp)
	var cands []scored
	add := func(text, country string, d decoded, score float32) {
		for i := range cands {
			if cands[i].Text == text {
				if score > cands[i].score {
					cands[i] = scored{plates.Candidate{Text: text, Country: country, Confidence: d.confidence()}, score, d.logp}
				}
				return
			}
		}
		cands = append(cands, scored{plates.Candidate{Text: text, Country: country, Confidence: d.confidence()}, score, d.logp})
	}
	if !r.opts.NoGeneric && genericPlate(free.text) {
		text := free.text
		if !look.banded() {
			// A plate of no known format names its round glyphs as
			// digits; a format that reads the same text is one reading
			// with it, not its rival.
			text = zeroForO(text)
		}
		add(text, genericFormatID, free, 0)
	}
	n := len(free.text)
	var swapped logProbs
	for _, f := range r.formats {
		// A format much shorter than the free reading would have to drop
		// characters read with confidence; much longer, invent some.
		if k := len(f.sets); k < n-3 || k > n+2 {
			continue
		}
		if swapped == nil {
			swapped = withLookAlikes(lp)
		}
		d, ok := constrained(swapped, f.sets, junkPenalty)
		if !ok || dropsSure(free, d, sureChar) {
			continue
		}
		country, prior := f.countries[0], float32(math.Inf(-1))
		for i, c := range f.countries {
			p := r.priors[c] + look.evidence(c)
			if !f.common[i] {
				p -= rareFormat
			}
			if p > prior {
				country, prior = c, p
			}
		}
		add(d.text, country, d, grammarBonus+prior-(free.logp-d.logp))
	}
	if len(cands) == 0 {
		return Read{}, false
	}
	// A reading whose shape alone puts it below the least confidence a
	// read is kept at (six letters, as the recogniser named the 0 and 1
	// of a Missouri AB1 C2D) would win its line only to be dropped, with
	// a format's reading of the same glyphs behind it: its shape counts
	// against it (beside the free reading's general doubt, which
	// grammarBonus weighs already). A word such as TOYOTA still beats the
	// format that would have to bend its letters into digits.
	for i, c := range cands {
		if s := plateShape(c.Text, c.Country, q, rows); s < r.opts.MinConfidence {
			if c.Country == genericFormatID {
				s /= genericShape
			}
			cands[i].score += float32(math.Log(max(s, 1e-6)))
		}
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
	agree := math.Exp(float64(best.logp-free.logp) / float64(max(1, len(best.Text))))
	rd.Confidence = best.Confidence * math.Min(1, agree) * plateShape(best.Text, best.Country, q, rows)
	if wordLike(free.text) && !wordLike(best.Text) && !twinsNamed(free.text, best.Text) {
		// A word bent into a format (CARGO as CAR60); a reading that only
		// names the recogniser's O and I as the 0 and 1 they are one glyph
		// with in plate fonts bends nothing.
		rd.Confidence *= 0.5
	}
	if digitsOnly(free.text) && len(free.text) >= 6 && !digitsOnly(best.Text) && !look.banded() && !lettersSeen(free, best.Text, lp) {
		// A date or counter bent into a format (which has no band or flag,
		// and whose digits the recogniser read as such).
		rd.Confidence *= 0.25
	}
	rd.Margin = noRival
	if len(cands) > 1 {
		rd.Margin = float64(best.score - cands[1].score)
	}
	// A reading that a rival with another text nearly matched is as
	// uncertain as the choice between them: weigh in the two's share of
	// the decoder's evidence (fitted on the tuning seed so that reads above
	// the default review threshold are right 99 % of the time).
	rd.Confidence /= 1 + math.Exp(-rd.Margin/marginScale)
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
		// A country format is somewhat stronger evidence of a plate (this
		// ranks lines of a frame, not the readings of one line).
		s *= genericShape
		digits := 0
		for i := 0; i < n; i++ {
			if text[i] >= '0' && text[i] <= '9' {
				digits++
			}
		}
		if n < 4 || n > 8 {
			s *= 0.3
		}
		switch {
		case digits == 0:
			s *= 0.4
		case digits == n && n >= 8:
			s *= 0.2 // dates, phone numbers, timestamps
		case digits == n:
			s *= 0.5 // years, house and phone numbers
		}
	}
	if wordLike(text) {
		s *= 0.5
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

// wordLike reports whether text reads like a word (CARGO, EXPRESS, a
// brand) more than a plate: five letters in a row, or fewer than two
// digits.
func wordLike(text string) bool {
	run, longest, digits := 0, 0, 0
	for i := 0; i < len(text); i++ {
		if text[i] >= '0' && text[i] <= '9' {
			run = 0
			digits++
			continue
		}
		run++
		longest = max(longest, run)
	}
	return longest >= 5 || digits < 2
}

// seenLetter is the least probability the recogniser must itself give a
// letter that a format puts where it read the look-alike digit for the
// letter to count as seen (an S read at 0.2 beside a 5 at 0.7).
const seenLetter = float32(0.1)

// lettersSeen reports whether a format bent a free reading of digits only
// into letters the recogniser itself half saw: every character it changed
// is one the recogniser gave at least seenLetter at that glyph's steps,
// and one at least is no twin of its digit (O and 0, I and 1 are one glyph
// in plate fonts, so the recogniser's split between them tells nothing).
// The digits of a date or a phone number are crisp and bend, if at all,
// only into twins; a plate whose S or G the recogniser took for 5 or 6
// (0SG719 read 056719) does not lose its read for it.
func lettersSeen(free decoded, text string, lp logProbs) bool {
	if len(free.text) != len(text) {
		return false
	}
	seen := false
	for i := 0; i < len(text); i++ {
		d, l := free.text[i], text[i]
		if d == l || d == '0' && l == 'O' || d == '1' && l == 'I' {
			continue
		}
		p := float32(0)
		for t := free.spans[i][0]; t <= free.spans[i][1]; t++ {
			p = max(p, exp32(lp[t][symOf(l)]))
		}
		if p < seenLetter {
			return false
		}
		seen = true
	}
	return seen
}

// zeroForO names the round glyphs of a generic reading, a plate of no
// known format and without a band (a US plate above all), as the digit 0:
// O and 0 are nearly one glyph to the recogniser, whose split between them
// is habit more than shape (see shape.go); no format settles it here, and
// the serials of such plates keep the letter O out for the digit's sake
// (ML0C2S, not MLOC2S). A reading without other digits, or with a run of
// five letters, is a word (a vanity plate, a name) and keeps its O.
func zeroForO(text string) string {
	digits, run, longest := 0, 0, 0
	for i := 0; i < len(text); i++ {
		if c := text[i]; c >= '0' && c <= '9' {
			digits++
			run = 0
			continue
		}
		run++
		longest = max(longest, run)
	}
	if digits == 0 || longest >= 5 {
		return text
	}
	return strings.ReplaceAll(text, "O", "0")
}

// twinsAsDigits names the letters O and I as the digits they are one glyph
// with.
func twinsAsDigits(text string) string { return twinDigits.Replace(text) }

var twinDigits = strings.NewReplacer("O", "0", "I", "1")

// twinsNamed reports whether text is free with some of its letters O and
// I named as the digits 0 and 1, and nothing else changed.
func twinsNamed(free, text string) bool {
	if len(free) != len(text) {
		return false
	}
	for i := 0; i < len(free); i++ {
		if a, b := free[i], text[i]; a != b && !(a == 'O' && b == '0') && !(a == 'I' && b == '1') {
			return false
		}
	}
	return true
}

func digitsOnly(text string) bool {
	for i := 0; i < len(text); i++ {
		if text[i] < '0' || text[i] > '9' {
			return false
		}
	}
	return text != ""
}
