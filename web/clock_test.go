package web

import (
	"os/exec"
	"testing"
)

// The console's clock helpers (static/js/webrtc.js, static/js/dom.js): a
// WebRTC frame's wall clock from its RTP timestamp, and the 24-hour date
// fields (e2e/clock.mjs, run by node).
func TestConsoleClockHelpers(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node missing: apt-get install -y nodejs")
	}
	out, err := exec.Command(node, "e2e/clock.mjs").CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
}
