package anpr

import (
	"image"
	"image/color"
	"image/draw"
	"testing"
)

// plateOnCar draws a flat synthetic plate of country on a red car body
// and returns the image and the quad of its characters (right of a left
// band, left of a right one).
func plateOnCar(t *testing.T, s *Synthesizer, country, text string) (*image.RGBA, Quad) {
	t.Helper()
	p, err := s.NationalPlate(country, text, 1)
	if err != nil {
		t.Fatal(err)
	}
	img := image.NewRGBA(image.Rect(0, 0, 800, 300))
	draw.Draw(img, img.Bounds(), &image.Uniform{color.RGBA{140, 40, 40, 255}}, image.Point{}, draw.Src)
	at := image.Pt(140, 94)
	draw.Draw(img, p.Bounds().Add(at), p, image.Point{}, draw.Src)
	x0, x1 := 72.0, 440.0 // the characters of a 520×112 plate
	st := styleOf(country)
	if st.band == bandNone {
		x0 = 16
	}
	if st.right {
		x0, x1 = 16, 450
	}
	ox, oy := float64(at.X), float64(at.Y)
	return img, Quad{{ox + x0, oy + 24}, {ox + x1, oy + 24}, {ox + x1, oy + 88}, {ox + x0, oy + 88}}
}

// TestLookAround: the look of a plate tells the EU's blue band from a
// national flag and from no band, and blue and yellow plates from white.
func TestLookAround(t *testing.T) {
	s, err := NewSynthesizer(1)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		country, text string
		left, right   bandSeen
		bg            plateBg
	}{
		{"PL", "WA12345", seenBlue, seenNothing, bgLight},
		{"DE", "BAB1234", seenBlue, seenNothing, bgLight},
		{"KZ", "123ABC02", seenFlag, seenNothing, bgLight},
		{"BY", "1234AB7", seenFlag, seenNothing, bgLight},
		{"RU", "A123BC77", seenNothing, seenNothing, bgLight},
		{"KG", "01123ABC", seenNothing, seenFlag, bgLight},
		{"NL", "AB12CD", seenBlue, seenNothing, bgYellow},
		{"CN", "A12345", seenNothing, seenNothing, bgBlue},
	} {
		img, q := plateOnCar(t, s, c.country, c.text)
		l := lookAround(img, q)
		if l.left != c.left || l.right != c.right || l.bg != c.bg {
			t.Errorf("%s: look %+v, want left %d right %d bg %d", c.country, l, c.left, c.right, c.bg)
		}
	}
	// A grey (infrared) picture tells nothing.
	img, q := plateOnCar(t, s, "PL", "WA12345")
	for i := 0; i < len(img.Pix); i += 4 {
		l := uint8((int(img.Pix[i]) + int(img.Pix[i+1]) + int(img.Pix[i+2])) / 3)
		img.Pix[i], img.Pix[i+1], img.Pix[i+2] = l, l, l
	}
	if l := lookAround(img, q); l != (plateLook{}) {
		t.Errorf("grey picture: look %+v", l)
	}
}

// TestLookDecidesLookAlikes: with 30 grammars a wrong country's exact fit
// (NL L103BB) beats two look-alike swaps into the right one (CN L10388)
// unless the plate's look (a blue plate) says otherwise.
func TestLookDecidesLookAlikes(t *testing.T) {
	f := text("L103", 0.9)
	for i := 0; i < 2; i++ {
		f = append(f, frame{'B', 0.6, '8'}, frame{'_', 0.95, 0})
	}
	r := decoderFor(countryCodes()...)
	rd, ok := r.decodeRead(steps(f...), lineQuad, 1, plateLook{})
	if !ok || rd.Text != "L103BB" {
		t.Fatalf("no look: read %q (%s), candidates %v", rd.Text, rd.Country, rd.Candidates)
	}
	rd, ok = r.decodeRead(steps(f...), lineQuad, 1, plateLook{bg: bgBlue})
	if !ok || rd.Text != "L10388" || rd.Country != "CN" {
		t.Fatalf("blue plate: read %q (%s), candidates %v", rd.Text, rd.Country, rd.Candidates)
	}
	// The same trailer format (1234AB02) is KZ's and TJ's: a flag band at
	// the left end says KZ, where TJ plates have nothing.
	f = text("5931KK91", 0.9)
	if rd, _ := r.decodeRead(steps(f...), lineQuad, 1, plateLook{}); rd.Country != "TJ" {
		t.Fatalf("no look: read %q (%s)", rd.Text, rd.Country)
	}
	rd, ok = r.decodeRead(steps(f...), lineQuad, 1, plateLook{left: seenFlag, bg: bgLight})
	if !ok || rd.Text != "5931KK91" || rd.Country != "KZ" {
		t.Fatalf("flag band: read %q (%s), candidates %v", rd.Text, rd.Country, rd.Candidates)
	}
}

// TestDecodeUSPlates: a California plate is read as it is, not bent into
// a format of another country by a confident 5 read as S; a Missouri
// plate (AB1 C2D) whose 0 and 1 the recogniser took for O and I is read
// with its digits, as its format puts them, and found: the letters-only
// free reading, which no plate could be, does not win the line only to be
// dropped for its shape.
func TestDecodeUSPlates(t *testing.T) {
	r := decoderFor(countryCodes()...)
	for _, plate := range []string{"5EZP631", "6LSU216", "4GLS168"} {
		rd, ok := r.decodeRead(steps(text(plate, 0.95)...), lineQuad, 1, plateLook{bg: bgLight})
		if !ok || rd.Text != plate {
			t.Errorf("%s: read %q (%s), candidates %v", plate, rd.Text, rd.Country, rd.Candidates)
		}
	}
	for seen, plate := range map[string]string{"CKOAIF": "CK0A1F", "UHIFOF": "UH1F0F", "CHOP8Y": "CH0P8Y"} {
		var f []frame
		for i := 0; i < len(seen); i++ {
			fr := frame{seen[i], 0.95, 0}
			if seen[i] != plate[i] {
				fr = frame{seen[i], 0.8, plate[i]}
			}
			f = append(f, fr, frame{'_', 0.95, 0})
		}
		rd, ok := r.decodeRead(steps(f...), lineQuad, 1, plateLook{bg: bgLight})
		if !ok || rd.Text != plate || rd.Country != "US" || rd.Confidence < 0.2 {
			t.Errorf("%s: read %q (%s) at %.2f, candidates %v", seen, rd.Text, rd.Country, rd.Confidence, rd.Candidates)
		}
		// The free reading named as the plate's digits is the format's
		// reading, not a rival that halves its confidence.
		for _, c := range rd.Candidates[1:] {
			if zeroForO(c.Text) == plate {
				t.Errorf("%s: %s is a rival of %s", seen, c.Text, plate)
			}
		}
	}
	// A Californian truck (12345A1) is read as it is, not bent into
	// Kyrgyzstan's 12345AB through its last 1 taken for an I; a
	// Belarusian trailer beginning with an I or O, the same string as
	// such a truck's leading 1 or 0, stays the trailer it is.
	if rd, ok := r.decodeRead(steps(text("47366J1", 0.95)...), lineQuad, 1, plateLook{bg: bgLight}); !ok || rd.Text != "47366J1" || rd.Country != "US" {
		t.Errorf("47366J1: read %q (%s), candidates %v", rd.Text, rd.Country, rd.Candidates)
	}
	for seen, trailer := range map[string]string{"10688M7": "I0688M7", "04512K7": "O4512K7"} {
		for _, look := range []plateLook{{bg: bgLight}, {}} {
			if rd, ok := r.decodeRead(steps(text(seen, 0.9)...), lineQuad, 1, look); !ok || rd.Text != trailer || rd.Country != "BY" {
				t.Errorf("%s (look %+v): read %q (%s), candidates %v", seen, look, rd.Text, rd.Country, rd.Candidates)
			}
		}
	}
}

// TestLookOfUSPlates: US plates come in every colour, so the colour tells
// nothing for or against them; none has a band or flag at an end, so one
// seen counts against them.
func TestLookOfUSPlates(t *testing.T) {
	for _, bg := range []plateBg{bgLight, bgBlue, bgYellow, bgOther} {
		if e := (plateLook{bg: bg}).evidence("US"); e != 0 {
			t.Errorf("plate colour %v: evidence %.2f for the US, want 0", bg, e)
		}
	}
	for _, l := range []plateLook{{bg: bgLight, left: seenFlag}, {bg: bgLight, left: seenBlue}, {bg: bgLight, right: seenFlag}} {
		if e := l.evidence("US"); e >= 0 {
			t.Errorf("%+v: evidence %.2f for the US, want < 0", l, e)
		}
	}
}

func countryCodes() []string {
	var cs []string
	for _, g := range Grammars() {
		cs = append(cs, g.Country)
	}
	return cs
}

// TestSuppressPieces: a piece of a word (NS24 of TRANS 24) is no plate,
// and a reading that holds another's text and more (409PTK39 beside the
// cut-short 409PTK) is kept in its place, unless it is a free reading and
// the other a format's.
func TestSuppressPieces(t *testing.T) {
	box := image.Rect(100, 100, 300, 140)
	// Pieces read together rank above one of them read alone, not above
	// a reading of a box that holds them all.
	pieces := []Read{
		{Text: "8968", Country: genericFormatID, Confidence: 0.42, Box: image.Rect(95, 110, 215, 150), pieces: 1, Rows: 1},
		{Text: "8968VE", Country: "TM", Confidence: 0.79, Box: image.Rect(95, 110, 290, 150), pieces: 3, Rows: 1},
	}
	whole := Read{Text: "8968VFT", Country: "ES", Confidence: 0.9, Box: image.Rect(110, 100, 320, 160), pieces: 1, Rows: 1}
	for _, c := range []struct {
		why   string
		reads []Read
		want  string
	}{
		{"word piece", []Read{
			{Text: "NS24", Country: "DE", Confidence: 1, Box: image.Rect(200, 100, 300, 140), pieces: 1, Rows: 1},
			{Text: "TRANS24", Country: genericFormatID, Confidence: 0.42, Box: box, pieces: 1, Rows: 1},
		}, "TRANS24"},
		{"cut short", []Read{
			{Text: "409PTK", Country: "EE", Confidence: 1, Box: image.Rect(100, 100, 260, 140), pieces: 1, Rows: 1},
			{Text: "409PTK39", Country: "KZ", Confidence: 0.95, Box: box, pieces: 1, Rows: 1},
		}, "409PTK39"},
		// The piece's free reading named its O as a digit; the whole
		// line's format kept the letter.
		{"cut short, O named 0", []Read{
			{Text: "570E", Country: genericFormatID, Confidence: 0.82, Box: image.Rect(100, 100, 200, 140), pieces: 1, Rows: 1},
			{Text: "57OE073", Country: "AM", Confidence: 0.7, Box: box, pieces: 1, Rows: 1},
		}, "57OE073"},
		// A free reading that adds a row of lettering to a plate's
		// format is no fuller read of it.
		{"lettering above", []Read{
			{Text: "17CS302", Country: "AZ", Confidence: 0.99, Box: image.Rect(100, 110, 300, 140), pieces: 1, Rows: 1},
			{Text: "S17CS302", Country: genericFormatID, Confidence: 0.84, Box: image.Rect(100, 60, 300, 140), pieces: 2, Rows: 2},
		}, "17CS302"},
		// A free reading of a box cut short gives way to a format's
		// reading of the whole line at well under its confidence;
		// another format's reading does not.
		{"free reading cut short", []Read{
			{Text: "B5633", Country: genericFormatID, Confidence: 0.78, Box: image.Rect(100, 100, 260, 140), pieces: 1, Rows: 1},
			{Text: "B5633A0", Country: "BY", Confidence: 0.5, Box: box, pieces: 1, Rows: 1},
		}, "B5633A0"},
		{"a format's reading displaced by a less sure one", []Read{
			{Text: "8D79882", Country: "US", Confidence: 0.92, Box: image.Rect(110, 100, 300, 140), pieces: 1, Rows: 1},
			{Text: "68D79882", Country: "TR", Confidence: 0.56, Box: box, pieces: 1, Rows: 1},
		}, "8D79882"},
		// A box across the upper half of the glyphs read the plate's rim
		// as one more character; the whole line's reading stands.
		{"a cut across the glyphs", []Read{
			{Text: "AK68919", Country: "PL", Confidence: 0.97, Box: image.Rect(489, 540, 664, 583), pieces: 1, Rows: 1},
			{Text: "AK689191", Country: "RU", Confidence: 0.9, Box: image.Rect(497, 546, 660, 564), pieces: 1, Rows: 1},
		}, "AK68919"},
		{"pieces read together", pieces, "8968VE"},
		{"pieces read together beside the whole line", append(append([]Read(nil), pieces...), whole), "8968VFT"},
	} {
		if reads := suppress(c.reads, 0.2); len(reads) != 1 || reads[0].Text != c.want {
			t.Errorf("%s: %+v, want only %s", c.why, reads, c.want)
		}
	}
}

// TestRandomPlatesFit: every synthetic plate fits its country's grammar
// (a lower-case class such as KZ's F stands for the letter itself).
func TestRandomPlatesFit(t *testing.T) {
	s, err := NewSynthesizer(3)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range Grammars() {
		for i := 0; i < 40; i++ {
			text, _, err := s.RandomPlate(g.Country)
			if err != nil {
				t.Fatal(err)
			}
			if c, _, ok := MatchesGrammar(text, []Grammar{g}); !ok || c != g.Country {
				t.Fatalf("%s: random plate %s does not fit", g.Country, text)
			}
		}
	}
}
