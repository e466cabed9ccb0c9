package web

import (
	"os/exec"
	"testing"
)

// The live tiles' frozen-picture judgement (static/js/freeze.js), run by
// node on synthetic pictures (e2e/freeze.mjs).
func TestFrozenPictureDetector(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node missing: apt-get install -y nodejs")
	}
	out, err := exec.Command(node, "e2e/freeze.mjs").CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
}
