package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
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

// anpr synth --country each writes every grammar of every group into a
// directory of its own, N labelled scenes each: the per-grammar table of
// make anpr-eval-grammars reads one row per directory.
func TestANPRSynthEachCountry(t *testing.T) {
	dir := t.TempDir()
	var out, errb bytes.Buffer
	if err := anprSynth(context.Background(), []string{dir, "--country", "each", "--n", "2", "--size", "320x240", "--seed", "3"}, &out, &errb); err != nil {
		t.Fatalf("anpr synth: %v\n%s", err, errb.String())
	}
	var want []string
	for _, g := range anpr.SynthGroups {
		want = append(want, g.Countries...)
	}
	got, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d directories, want one per country (%d): %v", len(got), len(want), got)
	}
	for _, cc := range want {
		sub := filepath.Join(dir, strings.ToLower(cc))
		for i := 0; i < 2; i++ {
			name := fmt.Sprintf("%s%04d", strings.ToLower(cc), i)
			b, err := os.ReadFile(filepath.Join(sub, name+".txt"))
			if err != nil {
				t.Fatalf("%s: %v", cc, err)
			}
			tr, err := anpr.ParseTruth(bytes.NewReader(b))
			if err != nil || len(tr) != 1 || tr[0].File != name+".png" || tr[0].Plate == "" {
				t.Fatalf("%s: ground truth %q: %v", cc, b, err)
			}
			if _, err := os.Stat(filepath.Join(sub, name+".png")); err != nil {
				t.Fatalf("%s: %v", cc, err)
			}
		}
	}
	if !strings.Contains(out.String(), "wrote 2 TR scenes") {
		t.Errorf("no line for TR in %q", out.String())
	}
}
