package faults

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// The binary under test: $KUZET_BIN (make sets it), or one built for this
// run from ../cmd/node when the harness first needs it.
var binary struct {
	once sync.Once
	path string
	dir  string // a build of our own, removed at the end
	err  string
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binary.dir != "" {
		os.RemoveAll(binary.dir)
	}
	os.Exit(code)
}

// kuzetBinary returns the kuzet binary or fails the test saying why there
// is none. It never skips: a harness that silently does not run catches
// nothing.
func kuzetBinary(t *testing.T) string {
	t.Helper()
	binary.once.Do(func() {
		if b := os.Getenv("KUZET_BIN"); b != "" {
			if _, err := os.Stat(b); err != nil {
				binary.err = "KUZET_BIN=" + b + ": " + err.Error() + " (run `make build`, or unset KUZET_BIN to let the test build one)"
				return
			}
			binary.path = b
			return
		}
		dir, err := os.MkdirTemp("", "kuzet-faults-bin-")
		if err != nil {
			binary.err = err.Error()
			return
		}
		binary.dir = dir
		out := filepath.Join(dir, "kuzet")
		cmd := exec.Command("go", "build", "-o", out, "./cmd/node")
		cmd.Dir = ".."
		if b, err := cmd.CombinedOutput(); err != nil {
			binary.err = "KUZET_BIN is unset and building the kuzet binary failed (go build ./cmd/node: " + err.Error() + "):\n" +
				string(b) + "fix the build, or run `make build` and set KUZET_BIN=$PWD/bin/kuzet"
			return
		}
		binary.path = out
	})
	if binary.err != "" {
		t.Fatal(binary.err)
	}
	return binary.path
}
