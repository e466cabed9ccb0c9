package faults

import (
	"testing"

	"github.com/kuzet/kuzet/internal/testkit"
)

// The binary under test: $KUZET_BIN (make sets it), or one testkit builds
// for this run; the harness never skips for want of one.
func TestMain(m *testing.M) { testkit.Main(m) }

func kuzetBinary(t *testing.T) string { return testkit.Binary(t) }
