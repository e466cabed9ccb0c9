package anpr

import "testing"

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{
		"123 ABC 02":  "123ABC02",
		"а123вс 77":   "A123BC77", // Cyrillic look-alikes
		"АА 1234 ВВ":  "AA1234BB",
		"kz-123.ab02": "KZ123AB02",
		"１２３":         "",
	} {
		if got := Normalize(in); got != want {
			t.Errorf("Normalize(%q) = %q, want %q", in, got, want)
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
		"AA1234BB":  "UA",
		"1234AB7":   "BY",
		"01123ABC":  "KG",
		"01A123BC":  "UZ",
		"ABC1234":   "BR",
		"ABC1D23":   "BR",
	} {
		c, _, ok := MatchesGrammar(text, g)
		if !ok || c != want {
			t.Errorf("MatchesGrammar(%q) = %q %v, want %q", text, c, ok, want)
		}
	}
	// RU plates use only letters with Cyrillic look-alikes.
	if _, _, ok := MatchesGrammar("D123FG77", []Grammar{g[1]}); ok {
		t.Error("D123FG77 matched RU")
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
	if m := Correct("HELLO", Grammars()); len(m) != 0 {
		t.Errorf("HELLO fitted %v", m)
	}
}

func TestGrammarsForUnknown(t *testing.T) {
	g, unknown := GrammarsFor([]string{"kz", "XX"})
	if len(g) != 1 || g[0].Country != "KZ" || len(unknown) != 1 || unknown[0] != "XX" {
		t.Fatalf("GrammarsFor = %v, %v", g, unknown)
	}
}

func TestEditDistance(t *testing.T) {
	for _, c := range []struct {
		a, b string
		d    int
	}{{"", "", 0}, {"ABC", "ABC", 0}, {"ABC", "ABD", 1}, {"ABC", "AC", 1}, {"123ABC02", "123AB02", 1}, {"", "AB", 2}} {
		if got := EditDistance(c.a, c.b); got != c.d {
			t.Errorf("EditDistance(%q,%q) = %d, want %d", c.a, c.b, got, c.d)
		}
	}
}
