package anpr

import (
	"cmp"
	"sort"
	"strings"

	"github.com/kuzet/kuzet/plates/platetext"
)

// Grammar is one country's plate formats. In a format, 'N' is a digit, 'L' a
// letter from Letters, 'S' a letter from Series (a series that leaves out
// letters its district or region codes use; Letters when empty), 'A' a digit
// or a letter of the series, 'D' a digit other than 0 and 1 (the twins of
// the letters O and I) and a lower-case letter that letter itself (KZ
// foreign plates begin with F or H).
type Grammar struct {
	Country string
	Letters string
	Formats []string
	Series  string // the letters of 'S'; Letters when empty
}

// series is the letters of a format's 'S' (and the letters of its 'A').
func (g Grammar) series() string { return cmp.Or(g.Series, g.Letters) }

// Letter sets. RU, UA, BY and BG plates use only the Cyrillic letters
// that have Latin look-alikes; they are written here in their Latin form.
// Spanish plates use consonants only; Turkish ones the letters of the
// Turkish alphabet (no Q, W, X); Italian ones leave out I, O, Q and U,
// French ones I, O and U, and Chinese ones I and O, which plate fonts
// cannot tell from 1 and 0. Dutch plates since 1978 have no vowels (but
// the O that begins a semi-trailer's), nor C, Q or Y. A Polish plate's
// series after its district leaves out B, D, I, O and Z, the look-alikes of
// 8, 0, 1, 0 and 2; a Czech plate's region is one of 14 letters, and no G,
// O, Q or W is issued.
const (
	latinLetters    = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	ruLetters       = "ABEKMHOPCTYX"
	uaLetters       = "ABCEHIKMOPTX"
	byLetters       = "ABEIKMHOPCTX"
	bgLetters       = "ABEKMHOPCTYX"
	esLetters       = "BCDFGHJKLMNPRSTVWXYZ"
	trLetters       = "ABCDEFGHIJKLMNOPRSTUVYZ"
	itLetters       = "ABCDEFGHJKLMNPRSTVWXYZ"
	frLetters       = "ABCDEFGHJKLMNPQRSTVWXYZ"
	cnLetters       = "ABCDEFGHJKLMNPQRSTUVWXYZ"
	nlLetters       = "BDFGHJKLMNOPRSTVWXZ"
	plSeries        = "ACEFGHJKLMNPQRSTUVWXY"
	czRegions       = "ABCEHJKLMPSTUZ"
	czLetters       = "ABCDEFHIJKLMNPRSTUVXYZ"
	genericFormatID = "EU"
)

// Grammars returns the built-in plate grammars in their default order of
// preference (the countries a Kazakh border crossing sees most first). The
// result is a fresh copy the caller may change.
//
// Formats are the plate's characters in reading order, two-row plates top
// row first; separators, bands, flags, emblems and the province character
// of Chinese plates are not part of them.
func Grammars() []Grammar {
	g := []Grammar{
		// KZ since 2012: 123ABC02 (private), 123AB02 (legal entities), also
		// in two rows; F123402 / H123402 (foreign owners: F or H, four
		// digits, region; also used on transit plates); trailers 1234AB02
		// (two rows); 1993–2012: A123BCD, A123BC (region letter first).
		{"KZ", latinLetters, []string{"NNNLLLNN", "NNNLLNN", "fNNNNNN", "hNNNNNN", "NNNNLLNN", "LNNNLLL", "LNNNLL"}, ""},
		// RU: A123BC77, A123BC777; trailers AB123477, AB1234777; transit
		// AB123C77(7); taxis and buses AB12377(7).
		{"RU", ruLetters, []string{"LNNNLLNN", "LNNNLLNNN", "LLNNNNNN", "LLNNNNNNN", "LLNNNLNN", "LLNNNLNNN", "LLNNNNN"}, ""},
		// BY: 1234AB7; trailers A1234B7; since 2023 transit 1234AB-7 same.
		{"BY", byLetters, []string{"NNNNLLN", "LNNNNLN"}, ""},
		// KG since 2016: 01123ABC (region, digits, letters), legal 01123AB.
		{"KG", latinLetters, []string{"NNNNNLLL", "NNNNNLL"}, ""},
		// UZ: 01A123BC private, 01123ABC legal entities.
		{"UZ", latinLetters, []string{"NNLNNNLL", "NNNNNLLL"}, ""},
		// TJ: 1234AB01 (number, series, region).
		{"TJ", latinLetters, []string{"NNNNLLNN"}, ""},
		// TM: AB1234AG (series, number, region letters), 1234AG.
		{"TM", latinLetters, []string{"LLNNNNLL", "NNNNLL"}, ""},
		// AM: 12AB123; AZ: 10AB123 (region, series, number).
		{"AM", latinLetters, []string{"NNLLNNN"}, ""},
		{"AZ", latinLetters, []string{"NNLLNNN"}, ""},
		// GE: AB123CD.
		{"GE", latinLetters, []string{"LLNNNLL"}, ""},
		// MN: 1234UBA (number, aimag letters; Cyrillic, written here in
		// Latin form).
		{"MN", latinLetters, []string{"NNNNLLL"}, ""},
		// CN: province character (not a plate symbol here: the recogniser's
		// Chinese classes fold into the separator), the city letter, then
		// five digits with at most two letters among them (A12345, AB1234,
		// A1B234, A1234B …); new-energy plates D or F and five digits.
		{"CN", cnLetters, []string{"LNNNNN", "LLNNNN", "LNLNNN", "LNNLNN", "LNNNLN", "LNNNNL", "LLLNNN", "LLNNNNN", "LNNNNNL"}, ""},
		// TR: 34A1234, 34A12345, 34AB123, 34AB1234, 34ABC12, 34ABC123.
		{"TR", trLetters, []string{"NNLNNNN", "NNLNNNNN", "NNLLNNN", "NNLLNNNN", "NNLLLNN", "NNLLLNNN"}, ""},
		// UA: AA1234BB.
		{"UA", uaLetters, []string{"LLNNNNLL"}, ""},
		// MD: ABC123, older C AB123.
		{"MD", latinLetters, []string{"LLLNNN", "LLLNNNN"}, ""},
		// PL: district of two or three letters, then four or five letters
		// and digits beginning with a digit or ending with one; the
		// series' letters are not B, D, I, O or Z.
		{"PL", latinLetters, []string{"LLNNNNN", "LLNNNNS", "LLNNNSS", "LLNSNNN", "LLNSSNN", "LLLNNNN", "LLLNNNS", "LLLNNSS", "LLLNSNN", "LLLNSSN", "LLLSNNN"}, plSeries},
		// LT: ABC123; LV: AB1234; EE: 123ABC.
		{"LT", latinLetters, []string{"LLLNNN"}, ""},
		{"LV", latinLetters, []string{"LLNNNN", "LLNNN"}, ""},
		{"EE", latinLetters, []string{"NNNLLL"}, ""},
		// DE: district of 1–3 letters, 1–2 letters, 1–4 digits (seals
		// between district and letters are emblems); the rare forms with
		// five letters or one digit are left out, since words on a truck
		// (CARGO, TRANS 24) would fit them.
		{"DE", latinLetters, deFormats(), ""},
		// NL side codes since 1978.
		{"NL", nlLetters, []string{"LLNNLL", "NNLLNN", "NNLLLN", "NLLLNN", "LLNNNL", "LNNNLL", "LLLNNL", "NLLNNN", "LLNNNN", "NNNNLL", "NNLLLL"}, ""},
		// CZ: 1A23456 (region letter second, third a letter or digit).
		{"CZ", czRegions, []string{"NLANNNN"}, czLetters},
		// SK: BA123AB (coat of arms after the district), since 2023 AB123CD.
		{"SK", latinLetters, []string{"LLNNNLL"}, ""},
		// HU: ABC123, since 2022 AAAA123.
		{"HU", latinLetters, []string{"LLLNNN", "LLLLNNN"}, ""},
		// RO: B123ABC, CJ12ABC, B12ABC.
		{"RO", latinLetters, []string{"LNNLLL", "LNNNLLL", "LLNNLLL"}, ""},
		// BG: CA1234AB, A1234BC (Cyrillic look-alikes).
		{"BG", bgLetters, []string{"LLNNNNLL", "LNNNNLL"}, ""},
		// AT: district (1–2 letters), the state's arms, then digits and
		// letters: W12345A, G123AB, L1234AB.
		{"AT", latinLetters, []string{"LNNNLL", "LNNNNL", "LNNNNLL", "LNNNNNL", "LLNNNLL", "LLNNNNL", "LLNNLLL", "LNNLLL"}, ""},
		// IT: AB123CD; FR: AB123CD; ES: 1234BCD.
		{"IT", itLetters, []string{"LLNNNLL"}, ""},
		{"FR", frLetters, []string{"LLNNNLL"}, ""},
		{"ES", esLetters, []string{"NNNNLLL"}, ""},
		// BR: ABC1234 (pre-2018), ABC1D23 (Mercosur).
		{"BR", latinLetters, []string{"LLLNNNN", "LLLNLNN"}, ""},
		// US: the common passenger series of the states: 1ABC234 (CA),
		// ABC1234 (TX, NY, PA, OH and most others), ABC123 and 123ABC
		// (older series), AB12345 (IL), 1AB234 (MA, NV), A12BCD (NJ),
		// ABCD12 (FL), AB1 C2D (MO), 1A23456 and 12345A1 (CA
		// commercial; the latter's first digit is held to 2–9 here, for a
		// Belarusian trailer's I1234A-7 or O1234A-7 is the same string as
		// a Californian truck's 11234A7 or 01234A7, and at a crossing the
		// trailer is far likelier). Vanity plates are left to the generic
		// reading.
		{"US", latinLetters, []string{"NLLLNNN", "LLLNNNN", "LLLNNN", "NNNLLL", "LLNNNNN", "NLLNNN", "LNNLLL", "LLLLNN", "LLNLNL", "NLNNNNN", "DNNNNLN"}, ""},
	}
	return g
}

// deFormats lists German plates of four to eight characters: letters
// (district and series, 2–4 in all) followed by 2–4 digits.
func deFormats() []string {
	var out []string
	for letters := 2; letters <= 4; letters++ {
		for digits := 2; digits <= 4; digits++ {
			if n := letters + digits; n >= 4 && n <= 8 {
				out = append(out, strings.Repeat("L", letters)+strings.Repeat("N", digits))
			}
		}
	}
	return out
}

// GrammarsFor returns the built-in grammars of the named countries (upper
// case ISO codes) in the order given; unknown names are reported.
func GrammarsFor(countries []string) ([]Grammar, []string) {
	all := Grammars()
	var out []Grammar
	var unknown []string
	for _, c := range countries {
		c = strings.ToUpper(strings.TrimSpace(c))
		found := false
		for _, g := range all {
			if g.Country == c {
				out = append(out, g)
				found = true
			}
		}
		if !found && c != genericFormatID {
			unknown = append(unknown, c)
		}
	}
	return out, unknown
}

// OrderGrammars returns every built-in grammar, the named countries first in
// the order given and the rest after them in their default order: a
// camera's countries say which formats to prefer, never which plates to
// read. Unknown names are reported.
func OrderGrammars(countries []string) ([]Grammar, []string) {
	first, unknown := GrammarsFor(countries)
	out := append([]Grammar(nil), first...)
	for _, g := range Grammars() {
		listed := false
		for _, f := range first {
			listed = listed || f.Country == g.Country
		}
		if !listed {
			out = append(out, g)
		}
	}
	return out, unknown
}

// Match is a plate string that fits a country format.
type Match struct {
	Text    string
	Country string
	Format  string
	Changes int // characters replaced by their look-alikes to fit
}

// confusions lists the look-alike characters a recogniser swaps; correction
// may replace a character only by one of these, and only where the grammar
// demands the other class (a digit where a letter must be, or the reverse).
var confusions = map[byte]string{
	'O': "0", 'Q': "0", 'D': "0", 'U': "0", '0': "ODQ",
	'I': "1", 'L': "1", 'J': "1", 'T': "1", '1': "ITJ",
	'B': "8", '8': "B",
	'S': "5", '5': "S",
	'Z': "2", '2': "Z",
	'G': "6", '6': "G",
	'A': "4", '4': "A",
	'E': "3",
}

// Correct fits a read plate string to the grammars, replacing look-alike
// characters where a position's class demands it (O/0, I/1, B/8, S/5, Z/2,
// D/0 …). Results are sorted by the number of changes, then by grammar order.
func Correct(text string, grammars []Grammar) []Match {
	text = platetext.Normalize(text)
	var out []Match
	seen := map[string]bool{}
	for _, g := range grammars {
		for _, f := range g.Formats {
			fixed, changes, ok := fitFormat(text, f, g)
			if !ok {
				continue
			}
			key := fixed + "/" + g.Country
			if seen[key] {
				continue
			}
			seen[key] = true
			out = append(out, Match{Text: fixed, Country: g.Country, Format: f, Changes: changes})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Changes < out[j].Changes })
	return out
}

// fitFormat returns text changed to fit format, or false when some position
// cannot be made to fit with a single look-alike swap.
func fitFormat(text, format string, g Grammar) (string, int, bool) {
	if len(text) != len(format) {
		return "", 0, false
	}
	b := []byte(text)
	changes := 0
	series := g.series()
	for i := range b {
		if fitsClass(b[i], format[i], g.Letters, series) {
			continue
		}
		fixed := false
		for _, alt := range []byte(confusions[b[i]]) {
			if fitsClass(alt, format[i], g.Letters, series) {
				b[i] = alt
				changes++
				fixed = true
				break
			}
		}
		if !fixed {
			return "", 0, false
		}
	}
	return string(b), changes, true
}

// fitsClass reports whether c fits a format's class, given the grammar's
// letters and series letters (see Grammar.series).
func fitsClass(c, class byte, letters, series string) bool {
	isDigit := c >= '0' && c <= '9'
	if class >= 'a' && class <= 'z' {
		return c == class-'a'+'A'
	}
	switch class {
	case 'N':
		return isDigit
	case 'D':
		return isDigit && c != '0' && c != '1'
	case 'L':
		return strings.IndexByte(letters, c) >= 0
	case 'S':
		return strings.IndexByte(series, c) >= 0
	case 'A':
		return isDigit || strings.IndexByte(series, c) >= 0
	default:
		return isDigit || (c >= 'A' && c <= 'Z')
	}
}

// MatchesGrammar reports the first grammar (country) whose formats text fits
// exactly, without corrections.
func MatchesGrammar(text string, grammars []Grammar) (country, format string, ok bool) {
	for _, g := range grammars {
		for _, f := range g.Formats {
			if _, n, fits := fitFormat(text, f, g); fits && n == 0 {
				return g.Country, f, true
			}
		}
	}
	return "", "", false
}

// genericPlate reports whether text looks like a plate of a country without
// a grammar here (most European and US plates): 2–10 letters and digits.
func genericPlate(text string) bool {
	if len(text) < 2 || len(text) > 10 {
		return false
	}
	for i := 0; i < len(text); i++ {
		if !fitsClass(text[i], 'A', "", latinLetters) {
			return false
		}
	}
	return true
}
