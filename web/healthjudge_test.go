package web

import (
	"os/exec"
	"testing"
)

// The health view's judgement of a node (static/js/views/health.js),
// plugins included, run by node on statuses (e2e/healthjudge.mjs).
func TestHealthJudgement(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node missing: apt-get install -y nodejs")
	}
	out, err := exec.Command(node, "e2e/healthjudge.mjs").CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
}
