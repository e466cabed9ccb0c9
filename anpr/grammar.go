package anpr

import (
	"sort"
	"strings"
	"unicode"
)

// Grammar is one country's plate formats. In a format, 'N' is a digit, 'L' a
// letter from Letters and 'A' any letter or digit.
type Grammar struct {
	Country string
	Letters string
	Formats []string
}

// Letter sets. RU, UA and BY plates use only the Cyrillic letters that have
// Latin look-alikes; they are written here in their Latin form.
const (
	latinLetters    = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	ruLetters       = "ABEKMHOPCTYX"
	uaLetters       = "ABCEHIKMOPTX"
	byLetters       = "ABEIKMHOPCTX"
	genericFormatID = "EU"
)

// Grammars returns the built-in plate grammars in their default order of
// preference. The result is a fresh copy the caller may change.
func Grammars() []Grammar {
	g := []Grammar{
		// KZ since 2012: 123ABC02, 123AB02; 1993–2012: A123BCD, A123BC.
		{"KZ", latinLetters, []string{"NNNLLLNN", "NNNLLNN", "LNNNLLL", "LNNNLL"}},
		// RU: A123BC77, A123BC777; trailers AB123477 and AB1234777.
		{"RU", ruLetters, []string{"LNNNLLNN", "LNNNLLNNN", "LLNNNNNN", "LLNNNNNNN"}},
		// UA: AA1234BB.
		{"UA", uaLetters, []string{"LLNNNNLL"}},
		// BY: 1234AB7; trailers A1234B7.
		{"BY", byLetters, []string{"NNNNLLN", "LNNNNLN"}},
		// KG since 2016: 01123ABC (region, digits, letters).
		{"KG", latinLetters, []string{"NNNNNLLL"}},
		// UZ: 01A123BC private, 01123ABC legal entities.
		{"UZ", latinLetters, []string{"NNLNNNLL", "NNNNNLLL"}},
		// BR: ABC1234 (pre-2018), ABC1D23 (Mercosur).
		{"BR", latinLetters, []string{"LLLNNNN", "LLLNLNN"}},
	}
	return g
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

// cyrillicToLatin maps the Cyrillic plate letters to their Latin look-alikes,
// so a plate reads the same whichever alphabet a camera or an operator used.
var cyrillicToLatin = map[rune]rune{
	'А': 'A', 'В': 'B', 'Е': 'E', 'К': 'K', 'М': 'M', 'Н': 'H', 'О': 'O',
	'Р': 'P', 'С': 'C', 'Т': 'T', 'У': 'Y', 'Х': 'X', 'І': 'I', 'Ј': 'J',
	'Ѕ': 'S', 'Ё': 'E', 'Ї': 'I',
}

// Normalize upper-cases a plate string, maps Cyrillic look-alikes to Latin and
// drops everything that is not a letter or digit (spaces, dashes, dots, flags).
// Letters without a Latin look-alike are kept, upper-cased.
func Normalize(s string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(s) {
		if l, ok := cyrillicToLatin[r]; ok {
			r = l
		}
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			if r > unicode.MaxASCII && unicode.IsDigit(r) {
				continue // full-width and other digit forms are not plate text
			}
			b.WriteRune(r)
		}
	}
	return b.String()
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
	text = Normalize(text)
	var out []Match
	seen := map[string]bool{}
	for _, g := range grammars {
		for _, f := range g.Formats {
			fixed, changes, ok := fitFormat(text, f, g.Letters)
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
func fitFormat(text, format, letters string) (string, int, bool) {
	if len(text) != len(format) {
		return "", 0, false
	}
	b := []byte(text)
	changes := 0
	for i := range b {
		if fitsClass(b[i], format[i], letters) {
			continue
		}
		fixed := false
		for _, alt := range []byte(confusions[b[i]]) {
			if fitsClass(alt, format[i], letters) {
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

func fitsClass(c, class byte, letters string) bool {
	isDigit := c >= '0' && c <= '9'
	switch class {
	case 'N':
		return isDigit
	case 'L':
		return strings.IndexByte(letters, c) >= 0
	default:
		return isDigit || (c >= 'A' && c <= 'Z')
	}
}

// MatchesGrammar reports the first grammar (country) whose formats text fits
// exactly, without corrections.
func MatchesGrammar(text string, grammars []Grammar) (country, format string, ok bool) {
	for _, g := range grammars {
		for _, f := range g.Formats {
			if _, n, fits := fitFormat(text, f, g.Letters); fits && n == 0 {
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
		if !fitsClass(text[i], 'A', "") {
			return false
		}
	}
	return true
}
