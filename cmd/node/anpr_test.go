package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/kuzet/kuzet/anpr"
)

// TestPrintCalibration prints the bands and the share right at or above
// the review threshold, counting only images with a read.
func TestPrintCalibration(t *testing.T) {
	outs := []anpr.Outcome{
		{Read: "A", Confidence: 0.99, Exact: true},
		{Read: "B", Confidence: 0.96, Exact: false},
		{Read: "C", Confidence: 0.5, Exact: true},
		{Read: ""},
	}
	var b bytes.Buffer
	printCalibration(&b, outs, 0.95)
	out := b.String()
	for _, want := range []string{"| 0.99–1.00 | 1 | 100.0 % |", "| 0.95–0.99 | 1 | 0.0 % |", "| 0.50–0.70 | 1 | 100.0 % |",
		"At or above the review threshold 0.95: 2 of 3 reads (66.7 %), 50.0 % right"} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
	b.Reset()
	printCalibration(&b, outs, 0.999)
	if !strings.Contains(b.String(), "No read at or above the review threshold 1.00") {
		t.Errorf("threshold above every read: %s", b.String())
	}
}

// anpr passes names what is wrong with its arguments before loading any
// model.
func TestANPRPassesBadArguments(t *testing.T) {
	for args, want := range map[string]string{
		"--size 10x10":          `bad --size "10x10"`,
		"--size wide":           `bad --size "wide"`,
		"--country atlantis":    `unknown country or group "atlantis"`,
		"--models /nonexistent": "/nonexistent",
	} {
		code, out := runCLI(t, append([]string{"anpr", "passes"}, strings.Fields(args)...)...)
		if code == 0 || !strings.Contains(out, want) {
			t.Errorf("anpr passes %s: exit %d, %q; want an error naming %q", args, code, out, want)
		}
	}
}
