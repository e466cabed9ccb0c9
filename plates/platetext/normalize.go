package platetext

import (
	"strings"
	"unicode"
)

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
