package anpr

import "testing"

// gateExamples are real-looking plates of every grammar (Latin forms,
// characters only), as a Kazakh border crossing sees them.
var gateExamples = map[string][]string{
	"KZ": {"123ABC02", "777AAA01", "123AB02", "F123402", "H000117", "1234AB02", "A123BCD", "Z585CU"},
	"RU": {"A123BC77", "O001OO199", "AB123477", "AB1234777", "AB123C77", "TX12378"},
	"BY": {"1234AB7", "A1234B7", "7777MK5"},
	"KG": {"01123ABC", "08456KG"},
	"UZ": {"01A123BC", "30123ABC"},
	"TJ": {"1234AB01", "0707TJ02"},
	"TM": {"AG1234AG", "1234LB"},
	"AM": {"12AB123", "35LL046"},
	"AZ": {"10AB123", "90RT771"},
	"GE": {"AB123CD", "TT001TT"},
	"MN": {"1234UBA", "0845UNE"},
	"CN": {"A12345", "AB1234", "A1B234", "A1234B", "AD12345", "A12345F"},
	"TR": {"34A1234", "06A12345", "34AB123", "35AB1234", "34ABC12", "16ABC123"},
	"UA": {"AA1234BB", "KA0007XX"},
	"MD": {"ABC123", "KLE5050"},
	"PL": {"WA12345", "WE1234A", "KR123AC", "WX1A234", "PO1AC23", "GDA1234", "DW1234A", "ELW12AC", "KRA1A23", "WPI1AC2", "WPIS123"},
	"LT": {"ABC123"},
	"LV": {"AB1234", "KL123"},
	"EE": {"123ABC"},
	"DE": {"BAB1234", "MXY12", "HHAB123", "KHH7712", "BAB12", "STEM1234"},
	"NL": {"XT12ZB", "12GBB3", "1KBD23", "GB123D", "G123BB", "GBB01B", "1KB234", "12GH34", "BD1234", "1234BD", "12BDFG", "OT12BX"},
	"CZ": {"1A23456", "5T97412", "2AB1234"},
	"SK": {"BA738DE", "KE123AB"},
	"HU": {"ABC123", "AAAA123"},
	"RO": {"B123ABC", "CJ12ABC", "B12ABC"},
	"BG": {"CA1234AB", "A1234BC"},
	"AT": {"W123AB", "G1234A", "L1234AB", "W12345A", "GU123AB", "BL1234A", "KL12ABC", "S12ABC"},
	"IT": {"AB123CD"},
	"FR": {"AB123CD"},
	"ES": {"1234BCD", "0000BBB"},
	"BR": {"ABC1234", "ABC1D23"},
	"US": {"7ABC123", "ABC1234", "ABC123", "123ABC", "AB12345", "1AB234", "A12BCD", "ABCD12", "AB1C2D", "8D79882"},
}

// TestGrammarsOfTheGate checks every grammar against its examples, and
// that every built-in grammar has examples.
func TestGrammarsOfTheGate(t *testing.T) {
	for _, g := range Grammars() {
		ex := gateExamples[g.Country]
		if len(ex) == 0 {
			t.Errorf("%s: no examples", g.Country)
		}
		for _, text := range ex {
			if c, _, ok := MatchesGrammar(text, []Grammar{g}); !ok || c != g.Country {
				t.Errorf("%s: example %s does not fit", g.Country, text)
			}
		}
	}
	want := []string{"KZ", "RU", "BY", "KG", "UZ", "TJ", "TM", "AM", "AZ", "GE", "MN", "CN", "TR", "UA", "MD",
		"PL", "LT", "LV", "EE", "DE", "NL", "CZ", "SK", "HU", "RO", "BG", "AT", "IT", "FR", "ES"}
	for _, c := range want {
		if gs, _ := GrammarsFor([]string{c}); len(gs) != 1 {
			t.Errorf("no grammar for %s", c)
		}
	}
	// Letters outside a country's set do not fit: RU and UA use only the
	// Cyrillic letters with Latin look-alikes, Spain consonants, KZ foreign
	// plates begin with F or H, Turkey has no Q, W or X, Italy no I, O, Q
	// or U, France no I, O or U, China no I or O, the Netherlands no vowel
	// but O, nor C, Q or Y.
	for cc, text := range map[string]string{"RU": "D123FG77", "UA": "AA1234DF", "ES": "1234BAE", "KZ": "E123402", "BG": "CA1234AD",
		"TR": "34Q1234", "IT": "AO123CD", "FR": "AB123CU", "CN": "AI1234", "NL": "12ABC3"} {
		gs, _ := GrammarsFor([]string{cc})
		if _, _, ok := MatchesGrammar(text, gs); ok {
			t.Errorf("%s matched %s", text, cc)
		}
	}
}

func TestMatchesGrammar(t *testing.T) {
	g := Grammars()
	for text, want := range map[string]string{
		"123ABC02":  "KZ",
		"123AB02":   "KZ",
		"A123BC77":  "RU",
		"A123BC777": "RU",
		"1234AB7":   "BY",
		"01123ABC":  "KG",
		"01A123BC":  "UZ",
	} {
		c, _, ok := MatchesGrammar(text, g)
		if !ok || c != want {
			t.Errorf("MatchesGrammar(%q) = %q %v, want %q", text, c, ok, want)
		}
	}
}

// TestOrderGrammars: a camera's countries come first, the rest follow.
func TestOrderGrammars(t *testing.T) {
	g, unknown := OrderGrammars([]string{"ua", "BR"})
	if len(unknown) != 0 || len(g) != len(Grammars()) || g[0].Country != "UA" || g[1].Country != "BR" || g[2].Country != "KZ" {
		t.Fatalf("OrderGrammars = %v %v", g[:3], unknown)
	}
	if c, _, _ := MatchesGrammar("AA1234BB", g); c != "UA" {
		t.Fatalf("AA1234BB read as %s with UA first", c)
	}
}

func TestCorrect(t *testing.T) {
	kz, _ := GrammarsFor([]string{"KZ"})
	ru, _ := GrammarsFor([]string{"RU"})
	ua, _ := GrammarsFor([]string{"UA"})
	cases := []struct {
		in   string
		g    []Grammar
		want string
	}{
		{"I23ABC02", kz, "123ABC02"},   // I -> 1 where a digit must be
		{"123A8C0Z", kz, "123ABC02"},   // 8 -> B, Z -> 2
		{"0123BC77", ru, "O123BC77"},   // 0 -> O where a letter must be
		{"AA12348B", ua, "AA1234BB"},   // 8 -> B at the end
		{"AAI2S4BB", ua, "AA1254BB"},   // I -> 1, S -> 5
		{"AA 1234 ВВ", ua, "AA1234BB"}, // Cyrillic and spaces
	}
	for _, c := range cases {
		m := Correct(c.in, c.g)
		got := ""
		if len(m) > 0 {
			got = m[0].Text
		}
		if got != c.want {
			t.Errorf("Correct(%q) = %q (%v), want %q", c.in, got, m, c.want)
		}
	}
	if m := Correct("123ABC02", kz); len(m) == 0 || m[0].Changes != 0 {
		t.Errorf("exact plate needed changes: %v", m)
	}
	if m := Correct("HELLOWORLD", Grammars()); len(m) != 0 {
		t.Errorf("HELLOWORLD fitted %v", m)
	}
}

func TestGrammarsForUnknown(t *testing.T) {
	g, unknown := GrammarsFor([]string{"kz", "XX"})
	if len(g) != 1 || g[0].Country != "KZ" || len(unknown) != 1 || unknown[0] != "XX" {
		t.Fatalf("GrammarsFor = %v, %v", g, unknown)
	}
}

// TestPolishSeriesLeavesOutLookAlikes: a Polish plate's series after its
// district has no B, D, I, O or Z (they would read as 8, 0, 1, 0 and 2), so
// an O read there is a 0.
func TestPolishSeriesLeavesOutLookAlikes(t *testing.T) {
	pl, _ := GrammarsFor([]string{"PL"})
	for _, text := range []string{"WA1O234", "KR123AB", "ELW12OZ", "PO1DI23"} {
		if _, f, ok := MatchesGrammar(text, pl); ok {
			t.Errorf("%s fits PL format %s, with a look-alike letter in its series", text, f)
		}
	}
	if m := Correct("WA1O234", pl); len(m) == 0 || m[0].Text != "WA10234" {
		t.Errorf("WA1O234 corrected to %+v, want WA10234", m)
	}
	// The district keeps every letter.
	if _, _, ok := MatchesGrammar("ZDO1234", pl); !ok {
		t.Error("a district ZDO does not fit")
	}
}

// TestCzechLettersLeaveOutLookAlikes: a Czech plate's second character is
// one of the 14 region letters, and no G, O, Q or W is issued.
func TestCzechLettersLeaveOutLookAlikes(t *testing.T) {
	cz, _ := GrammarsFor([]string{"CZ"})
	for _, text := range []string{"1O23456", "1G23456", "1AO2345", "2AW1234", "1D23456"} {
		if _, f, ok := MatchesGrammar(text, cz); ok {
			t.Errorf("%s fits CZ format %s", text, f)
		}
	}
	if m := Correct("1AO2345", cz); len(m) == 0 || m[0].Text != "1A02345" {
		t.Errorf("1AO2345 corrected to %+v, want 1A02345", m)
	}
}

// TestGenericPlate: a plate of no known format is 2–10 letters and digits,
// any Latin letter among them.
func TestGenericPlate(t *testing.T) {
	for text, want := range map[string]bool{
		"SGTE5": true, "TOYOTA": true, "AB": true, "1234567890": true, "QWXZ12": true,
		"A": false, "ABCDEFGHIJK": false, "AB-12": false, "ab12": false, "": false,
	} {
		if got := genericPlate(text); got != want {
			t.Errorf("genericPlate(%q) = %v, want %v", text, got, want)
		}
	}
}
