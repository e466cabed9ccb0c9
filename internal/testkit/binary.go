package testkit

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

// The binary under test: $KUZET_BIN (make sets it), or one built once per
// test process from the module's ./cmd/node.
var binary struct {
	once sync.Once
	path string
	dir  string // a build of this process's own, removed by Main
	err  error
}

// Main runs a package's tests (call it from TestMain) and removes the
// binary Binary built, if any.
func Main(m *testing.M) {
	code := m.Run()
	if binary.dir != "" {
		os.RemoveAll(binary.dir)
	}
	os.Exit(code)
}

// Binary returns the kuzet binary, failing the test saying why there is
// none. It never skips: a test that silently does not run catches nothing.
func Binary(t testing.TB) string {
	t.Helper()
	binary.once.Do(func() { binary.path, binary.err = findBinary() })
	if binary.err != nil {
		t.Fatal(binary.err)
	}
	return binary.path
}

func findBinary() (string, error) {
	if b := os.Getenv("KUZET_BIN"); b != "" {
		if _, err := os.Stat(b); err != nil {
			return "", fmt.Errorf("KUZET_BIN=%s: %w (run `make build`, or unset KUZET_BIN to let the test build one)", b, err)
		}
		return b, nil
	}
	root, err := ModuleRoot()
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "kuzet-test-bin-")
	if err != nil {
		return "", err
	}
	binary.dir = dir
	out := filepath.Join(dir, "kuzet")
	cmd := exec.Command("go", "build", "-o", out, "./cmd/node")
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("KUZET_BIN is unset and building the kuzet binary failed (go build ./cmd/node: %v):\n%s"+
			"fix the build, or run `make build` and set KUZET_BIN=$PWD/bin/kuzet", err, b)
	}
	return out, nil
}

// ModuleRoot is the directory holding the module's go.mod.
func ModuleRoot() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", fmt.Errorf("testkit: cannot locate its own source")
	}
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", "..")), nil
}
