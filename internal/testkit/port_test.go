package testkit

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// A port handed to one test is not handed to another while the first
// runs, even in another process (another package's tests), and even
// while nothing listens on it.
func TestPortIsReservedAcrossProcesses(t *testing.T) {
	if os.Getenv("KUZET_PORT_CHILD") != "" {
		// the child: take a tenth of the range (without the locks, it
		// would be given about five of the parent's fifty)
		for range (portHigh - portLow) / 10 {
			t.Log("got", Port(t))
		}
		return
	}
	mine := map[string]bool{}
	for _, a := range Ports(t, 50) {
		mine[a] = true
	}
	if len(mine) != 50 {
		t.Fatalf("Ports(50) gave %d distinct addresses", len(mine))
	}
	cmd := exec.Command(os.Args[0], "-test.run", "^TestPortIsReservedAcrossProcesses$", "-test.v")
	cmd.Env = append(os.Environ(), "KUZET_PORT_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the other process: %v\n%s", err, out)
	}
	n := 0
	for _, l := range strings.Split(string(out), "\n") {
		if _, a, ok := strings.Cut(l, "got "); ok {
			n++
			if mine[strings.TrimSpace(a)] {
				t.Errorf("the other process was given %s, held here", a)
			}
		}
	}
	if n != (portHigh-portLow)/10 {
		t.Fatalf("the other process took only %d ports:\n%s", n, out)
	}
}
