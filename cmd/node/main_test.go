package main

import (
	"testing"

	"github.com/kuzet/kuzet/internal/testkit"
)

// TestMain removes the binary testkit.Binary built for this run, if any.
func TestMain(m *testing.M) { testkit.Main(m) }
