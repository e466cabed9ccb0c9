package anpr

import (
	"image"
	"strings"
	"testing"
)

func TestParseTruth(t *testing.T) {
	in := "# comment\nAYO9034.jpg\t528\t412\t162\t52\tAYO9034\n\ncar 2.jpg\t-3\t10\t5\t6\t123 ABC-02\n"
	got, err := ParseTruth(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []Truth{
		{"AYO9034.jpg", image.Rect(528, 412, 690, 464), "AYO9034"},
		{"car 2.jpg", image.Rect(-3, 10, 2, 16), "123ABC02"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("line %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	for _, bad := range []string{"a.jpg\t1\t2\t3\tX", "a.jpg\tx\t2\t3\t4\tX", "a.jpg\t1\t2\t-3\t4\tX", "\t1\t2\t3\t4\tX", "a.jpg\t1\t2\t3\t4\t--"} {
		if _, err := ParseTruth(strings.NewReader(bad)); err == nil {
			t.Errorf("ParseTruth(%q) succeeded", bad)
		}
	}
}

func FuzzParseTruth(f *testing.F) {
	f.Add("AYO9034.jpg\t528\t412\t162\t52\tAYO9034\n")
	f.Add("a b c d e f g h\n# x\n\n")
	f.Add("x.png\t-1\t0\t0\t0\tА123ВС77")
	f.Fuzz(func(t *testing.T, in string) {
		ts, err := ParseTruth(strings.NewReader(in))
		if err != nil {
			return
		}
		for _, tr := range ts {
			if tr.Plate == "" || tr.File == "" || tr.Box.Dx() < 0 || tr.Box.Dy() < 0 {
				t.Fatalf("bad truth %+v from %q", tr, in)
			}
			// What FormatTruth writes parses back to the same truth, unless
			// the name holds characters the line format cannot carry.
			if strings.ContainsAny(tr.File, "\t\n\r") || strings.TrimSpace(tr.File) != tr.File {
				continue
			}
			back, err := ParseTruth(strings.NewReader(FormatTruth(tr)))
			if err != nil || len(back) != 1 || back[0] != tr {
				t.Fatalf("round trip of %+v: %v %v", tr, back, err)
			}
		}
	})
}
