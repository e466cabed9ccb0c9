package anpr

import (
	"math"
	"testing"
)

// steps builds recogniser output for a sequence of frames, each given as the
// symbol it shows most and that symbol's probability; an optional rival
// symbol gets the rest of the mass.
type frame struct {
	top   byte
	p     float64
	rival byte
}

func steps(frames ...frame) logProbs {
	lp := make(logProbs, len(frames))
	for t, f := range frames {
		probs := make([]float64, nSym)
		rest := 1 - f.p
		probs[symOf(f.top)] = f.p
		if f.rival != 0 {
			probs[symOf(f.rival)] += rest * 0.9
			rest *= 0.1
		}
		for k := range probs {
			probs[k] += rest / nSym
		}
		for k := range probs {
			lp[t][k] = float32(math.Log(probs[k]))
		}
	}
	return lp
}

// blanks is n steps that show the separator.
func blanks(n int) []frame {
	f := make([]frame, n)
	for i := range f {
		f[i] = frame{'_', 0.95, 0}
	}
	return f
}

// text spells s with a separator after each character.
func text(s string, p float64) []frame {
	var f []frame
	for i := 0; i < len(s); i++ {
		f = append(f, frame{s[i], p, 0}, frame{'_', 0.95, 0})
	}
	return f
}

func TestGreedy(t *testing.T) {
	d := greedy(steps(text("123ABC02", 0.9)...))
	if d.text != "123ABC02" || len(d.probs) != 8 {
		t.Fatalf("greedy = %q %v", d.text, d.probs)
	}
	// Repeats without a separator collapse; with one they do not.
	d = greedy(steps(frame{'7', 0.9, 0}, frame{'7', 0.9, 0}, frame{'_', 0.9, 0}, frame{'7', 0.9, 0}))
	if d.text != "77" {
		t.Fatalf("greedy repeats = %q", d.text)
	}
}

func TestConstrainedFixesLookAlikes(t *testing.T) {
	// The recogniser prefers 0 for the first glyph of a RU plate, where a
	// letter must be; the grammar turns it into O.
	f := append([]frame{{'0', 0.6, 'O'}, {'_', 0.95, 0}}, text("123BC77", 0.9)...)
	lp := steps(f...)
	if g := greedy(lp); g.text != "0123BC77" {
		t.Fatalf("greedy = %q", g.text)
	}
	d, ok := constrained(lp, formatSets("LNNNLLNN", ruLetters, ruLetters), junkPenalty)
	if !ok || d.text != "O123BC77" {
		t.Fatalf("constrained = %q %v", d.text, ok)
	}
	if c := d.confidence(); c <= 0 || c >= 1 {
		t.Fatalf("confidence %v", c)
	}
}

// decoderFor is a Recognizer that only decodes, with the grammars of the
// given countries.
func decoderFor(countries ...string) *Recognizer {
	g, _ := GrammarsFor(countries)
	return &Recognizer{formats: compileFormats(g), priors: countryPriors(g, nil), opts: Options{}.withDefaults()}
}

var lineQuad = Quad{{0, 0}, {300, 0}, {300, 50}, {0, 50}}

// A grammar never drops a character read with confidence to make a shorter
// format fit: RK755AJ is not bent into the old KZ format K755AJ.
func TestDecodeKeepsConfidentCharacters(t *testing.T) {
	lp := steps(text("RK755AJ", 0.9)...)
	if d, ok := constrained(lp, formatSets("LNNNLL", latinLetters, latinLetters), junkPenalty); ok && greedy(lp).logp-d.logp < grammarBonus+listedBonus {
		t.Fatalf("dropping a confident R cost only %.1f", greedy(lp).logp-d.logp)
	}
	rd, ok := decoderFor("KZ").decodeRead(lp, lineQuad, 1, plateLook{})
	if !ok || rd.Text != "RK755AJ" || rd.Country != genericFormatID {
		t.Fatalf("read %q (%s), candidates %v", rd.Text, rd.Country, rd.Candidates)
	}
	// Faint text before the plate (a band's letters the geometry missed)
	// may still be junk.
	lp = steps(append(text("KZ", 0.3), text("123ABC02", 0.9)...)...)
	if d, ok := constrained(lp, formatSets("NNNLLLNN", latinLetters, latinLetters), junkPenalty); !ok || d.text != "123ABC02" {
		t.Fatalf("faint band: %q %v", d.text, ok)
	}
}

// A grammar re-ranks: a look-alike the format settles (0 where BR plates
// have a letter) wins over the free reading, an emblem read faintly as a
// digit between characters gives way to the format without it.
func TestDecodeGrammarAsEvidence(t *testing.T) {
	f := append(text("AY", 0.9), frame{'0', 0.8, 'O'}, frame{'_', 0.95, 0})
	f = append(f, text("9034", 0.9)...)
	rd, ok := decoderFor("BR").decodeRead(steps(f...), lineQuad, 1, plateLook{})
	if !ok || rd.Text != "AYO9034" || rd.Country != "BR" {
		t.Fatalf("read %q (%s), candidates %v", rd.Text, rd.Country, rd.Candidates)
	}
	f = append(text("1T4", 0.9), frame{'8', 0.35, '_'}, frame{'_', 0.95, 0})
	f = append(f, text("3213", 0.9)...)
	rd, ok = decoderFor("CZ").decodeRead(steps(f...), lineQuad, 1, plateLook{})
	if !ok || rd.Text != "1T43213" || rd.Country != "CZ" {
		t.Fatalf("read %q (%s), candidates %v", rd.Text, rd.Country, rd.Candidates)
	}
	// A plate of no known format is read as it is, not forced into one
	// (each glyph over two steps, as the recogniser outputs plate text).
	var wide []frame
	for _, c := range []byte("BA738DE") {
		wide = append(wide, frame{c, 0.9, 0}, frame{c, 0.9, 0}, frame{'_', 0.95, 0})
	}
	rd, ok = decoderFor("KZ", "RU").decodeRead(steps(wide...), lineQuad, 1, plateLook{})
	if !ok || rd.Text != "BA738DE" {
		t.Fatalf("read %q (%s), candidates %v", rd.Text, rd.Country, rd.Candidates)
	}
}

func TestConstrainedTooShort(t *testing.T) {
	if _, ok := constrained(steps(text("12", 0.9)...)[:2], formatSets("NNNLLLNN", latinLetters, latinLetters), junkPenalty); ok {
		t.Fatal("decoded 8 characters from 2 steps")
	}
}

func TestJoinRows(t *testing.T) {
	lp := joinRows(steps(text("A123", 0.9)...), steps(text("BC77", 0.9)...))
	d, ok := constrained(lp, formatSets("LNNNLLNN", ruLetters, ruLetters), junkPenalty)
	if !ok || d.text != "A123BC77" {
		t.Fatalf("two rows = %q %v", d.text, ok)
	}
}

// A glyph's probability split between the recogniser's twin classes (O and
// full-width Ｏ, a dotted zero read as θ) adds up on the plate character
// instead of losing to the separator; other scripts stay separators.
func TestPlateCharFoldsTwins(t *testing.T) {
	for class, want := range map[string]byte{
		"O": 'O', "o": 'O', "7": '7', "Ｏ": 'O', "ｏ": 'O', "０": '0', "９": '9',
		"①": '1', "θ": '0', "〇": 'O', "Ο": 'O', "É": 'E', "ü": 'U', "З": '3',
	} {
		if c, ok := plateChar(class); !ok || c != want {
			t.Errorf("plateChar(%q) = %q, %v; want %q", class, c, ok, want)
		}
	}
	for _, class := range []string{"中", " ", "-", "|", "⑴", "№", "Ⅱ", "И", "", "AB"} {
		if c, ok := plateChar(class); ok {
			t.Errorf("plateChar(%q) = %q; want a separator", class, c)
		}
	}
	dict := []string{"中", "Ｋ", "K", "θ"}
	m := symMap(dict, len(dict)+2)
	if m[0] != 0 || m[1] != 0 || m[2] != uint8(symOf('K')) || m[3] != m[2] || m[4] != uint8(symOf('0')) || m[5] != 0 {
		t.Errorf("symMap = %v", m)
	}
}

// A line of digits bent into a format by look-alikes (a date, a phone
// number: 0849805 as O8498O5) is doubted, unless the line carries a band
// or flag: then it is a plate whose O's the recogniser read as 0.
func TestDigitsBentIntoAFormat(t *testing.T) {
	var f []frame
	for _, c := range []byte("0849805") {
		top, rival := c, byte(0)
		if c == '0' {
			rival = 'O'
		}
		f = append(f, frame{top, 0.6, rival}, frame{'_', 0.95, 0})
	}
	lp := steps(f...)
	d := decoderFor("BY")
	plain, ok := d.decodeRead(lp, lineQuad, 1, plateLook{bg: bgLight})
	if !ok || plain.Text != "O8498O5" {
		t.Fatalf("read %q (%s), candidates %v", plain.Text, plain.Country, plain.Candidates)
	}
	flagged, _ := d.decodeRead(lp, lineQuad, 1, plateLook{left: seenFlag, bg: bgLight})
	if flagged.Text != "O8498O5" || flagged.Confidence < 3*plain.Confidence {
		t.Errorf("flagged %q at %.2f, plain at %.2f: the flag should lift the doubt", flagged.Text, flagged.Confidence, plain.Confidence)
	}
}

// Two stacked lines are a plate's rows only if each holds two characters
// or more: the Y of a logo above DCK6344 is none; nor is the RUS under a
// region's 430.
func TestPlateRows(t *testing.T) {
	if plateRows(steps(text("Y", 0.9)...), steps(text("DCK6344", 0.9)...)) {
		t.Error("a lone letter above a plate taken for its top row")
	}
	if plateRows(steps(text("430", 0.9)...), steps(text("RUS", 0.9)...)) {
		t.Error("a region's digits over RUS taken for two rows")
	}
	if !plateRows(steps(text("B4755", 0.9)...), steps(text("K0", 0.9)...)) {
		t.Error("B4755 over K0 not taken for two rows")
	}
}

// A line the detector outlined inside a longer line of lettering (the SE of
// SERVICE) is a piece of it, and so no row of the plate below; the plate
// and the lettering themselves are no pieces.
func TestLetteringPieces(t *testing.T) {
	box := func(x0, y0, x1, y1 float64) Quad { return Quad{{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}} }
	lines := []line{
		{quad: box(151, 268, 298, 318), lp: steps(text("UK9626", 0.9)...)},
		{quad: box(195, 223, 320, 259), lp: steps(text("SERVICE", 0.9)...)},
		{quad: box(195, 225, 225, 257), lp: steps(text("SE", 0.9)...)},
	}
	got := letteringPieces(lines)
	if got[0] || got[1] || !got[2] {
		t.Errorf("pieces %v, want only SE", got)
	}
}

// A plate whose letter the recogniser took for its look-alike digit (the S
// of 8S16841 read as a 5, S a close second) is no date bent into a format:
// the letter was half seen, and the read keeps its confidence. Where the
// recogniser was sure of the digit, the doubt stays.
func TestLettersSeenAreNoDate(t *testing.T) {
	line := func(pS float64) logProbs {
		var f []frame
		for _, c := range []byte("8516841") {
			fr := frame{c, 0.95, 0}
			if c == '5' {
				fr = frame{'5', 1 - pS/0.9 - 0.01, 'S'}
			}
			f = append(f, fr, frame{'_', 0.95, 0})
		}
		return steps(f...)
	}
	d := decoderFor("CZ")
	half, ok := d.decodeRead(line(0.36), lineQuad, 1, plateLook{bg: bgLight})
	if !ok || half.Text != "8S16841" || half.Confidence < 0.5 {
		t.Errorf("S half seen: read %q at %.2f, want 8S16841 at 0.5 or more", half.Text, half.Confidence)
	}
	sure, ok := d.decodeRead(line(0.07), lineQuad, 1, plateLook{bg: bgLight})
	if !ok || sure.Text != "8S16841" || sure.Confidence > 0.3 {
		t.Errorf("5 read surely: read %q at %.2f, want 8S16841 doubted below 0.3", sure.Text, sure.Confidence)
	}
}

// A plate of no known format and without a band names its round glyphs as
// digits: the recogniser's O of ML0C2S is a 0. A banded plate (a European
// one, whose serials use the letter) and a word keep their O.
func TestGenericReadingNamesRoundGlyphsZero(t *testing.T) {
	d := decoderFor("US")
	read := func(s string, look plateLook) string {
		var f []frame
		for i := 0; i < len(s); i++ {
			fr := frame{s[i], 0.95, 0}
			if s[i] == 'O' {
				fr = frame{'O', 0.9, '0'}
			}
			f = append(f, fr, frame{'_', 0.95, 0})
		}
		rd, ok := d.decodeRead(steps(f...), lineQuad, 1, look)
		if !ok {
			t.Fatalf("%s: no read", s)
		}
		if rd.Candidates[0].Text != rd.Text {
			t.Errorf("%s: first candidate %q, read %q", s, rd.Candidates[0].Text, rd.Text)
		}
		return rd.Text
	}
	light := plateLook{bg: bgLight}
	for _, c := range []struct {
		line string
		look plateLook
		want string
	}{
		{"MLOC2S", light, "ML0C2S"},
		{"AGOR6T", plateLook{}, "AG0R6T"},
		{"MLOC2SA", plateLook{left: seenBlue, bg: bgLight}, "MLOC2SA"},
		{"TOYOTA", light, "TOYOTA"},
		{"COLORADO7", light, "COLORADO7"},
	} {
		if got := read(c.line, c.look); got != c.want {
			t.Errorf("%s (%+v) read %q, want %q", c.line, c.look, got, c.want)
		}
	}
}
