package audit

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A node that comes back with an empty store starts a
// new chain; a parent holding both chains reports the restart instead of
// calling the log intact, and neither chain is taken for a forgery.
func TestRestartIsReportedNotIntact(t *testing.T) {
	dir := t.TempDir()
	centre := openLog(t, filepath.Join(dir, "centre.db"), "centre")
	defer centre.Close()
	var incs []uint64
	for i, name := range []string{"first.db", "second.db"} {
		if i == 1 {
			time.Sleep(2 * time.Millisecond) // a later store, a later incarnation
		}
		l := openLog(t, filepath.Join(dir, name), "site-1")
		rec, err := New(l, Options{Now: newClock().Now})
		if err != nil {
			t.Fatal(err)
		}
		for range 3 {
			if _, err := rec.Record(Entry{User: "olga", Role: "operator", Action: ActionLogin}); err != nil {
				t.Fatal(err)
			}
		}
		evs, _ := l.Range(0, 0)
		if _, err := centre.Ingest(evs, "site-1"); err != nil {
			t.Fatal(err)
		}
		incs = append(incs, l.Incarnation())
		l.Close()
	}
	centre.Close()
	var out bytes.Buffer
	intact, err := VerifyFile(filepath.Join(dir, "centre.db"), &out)
	if err != nil {
		t.Fatal(err)
	}
	evs, _, _ := ReadFile(filepath.Join(dir, "centre.db"))
	rep := Check(evs)
	if intact || !rep.OK || rep.Intact || len(rep.Problems) != 0 || len(rep.Chains) != 2 || len(rep.Restarts) != 1 {
		t.Fatalf("intact=%v report %+v\n%s", intact, rep, out.String())
	}
	r := rep.Restarts[0]
	if r.Origin != "site-1" || r.Incarnation != incs[1] || r.Previous != incs[0] || r.PreviousLast != 3 ||
		!strings.Contains(out.String(), "RESTARTED: site-1 restarted with an empty store") || !strings.Contains(out.String(), "NOT INTACT") {
		t.Fatalf("restart %+v\n%s", r, out.String())
	}
	if !rep.Chains[0].OK || !rep.Chains[1].OK || rep.Chains[1].First != 1 {
		t.Fatalf("chains %+v", rep.Chains)
	}
}
