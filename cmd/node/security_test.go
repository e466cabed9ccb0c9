package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/kuzet/kuzet/audit"
	"github.com/kuzet/kuzet/event"
)

// kuzet audit verify reads a stopped node's log and says whether every
// origin's chain holds; kuzet user hash prints a usable hash.
func TestAuditVerifyAndUserHashCommands(t *testing.T) {
	dir := t.TempDir()
	log, err := event.OpenLog(filepath.Join(dir, "events.db"), "site", nil)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := audit.New(log, audit.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []string{audit.ActionLogin, audit.ActionPlayArchive, audit.ActionLogout} {
		if _, err := rec.Record(audit.Entry{User: "olga", Role: "operator", Action: a, Source: "127.0.0.1"}); err != nil {
			t.Fatal(err)
		}
	}
	log.Close()
	if code, out := runCLI(t, "audit", "verify", "--data", dir); code != 0 || !strings.Contains(out, "site") {
		t.Fatalf("verify: %d %s", code, out)
	}
	if code, out := runCLI(t, "audit", "verify"); code == 0 || !strings.Contains(out, "--data") {
		t.Fatalf("verify without a log: %d %s", code, out)
	}
	if code, out := runCLI(t, "audit", "verify", "--events", filepath.Join(dir, "nothing.db")); code == 0 {
		t.Fatalf("verify of a missing file: %d %s", code, out)
	}
}
