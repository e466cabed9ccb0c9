package platetext

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

// Cameras send plates with separators, in either alphabet and in scripts
// without look-alikes.
func TestNormalizeCameraPlates(t *testing.T) {
	for in, want := range map[string]string{
		"123 abc 02":  "123ABC02",
		"А 123 ВС 77": "A123BC77", // Cyrillic look-alikes
		"aa-1234-bb":  "AA1234BB",
		"京A·12345":    "京A12345",
		"１２３ABC":      "ABC", // full-width digits are not plate text
		"":            "",
	} {
		if got := Normalize(in); got != want {
			t.Errorf("Normalize(%q) = %q, want %q", in, got, want)
		}
	}
}
