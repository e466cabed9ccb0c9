package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// kuzetBin is the binary under test: $KUZET_BIN (make test sets it) or one
// built for this run.
var kuzetBin string

func TestMain(m *testing.M) {
	kuzetBin = os.Getenv("KUZET_BIN")
	if kuzetBin == "" {
		dir, err := os.MkdirTemp("", "kuzet-bin-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		kuzetBin = filepath.Join(dir, "kuzet")
		out, err := exec.Command("go", "build", "-o", kuzetBin, ".").CombinedOutput()
		if err != nil {
			fmt.Fprintf(os.Stderr, "build kuzet: %v\n%s", err, out)
			os.Exit(1)
		}
		code := m.Run()
		os.RemoveAll(dir)
		os.Exit(code)
	}
	os.Exit(m.Run())
}
