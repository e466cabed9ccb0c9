package platetext

import "testing"

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
