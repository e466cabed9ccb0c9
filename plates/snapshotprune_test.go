package plates

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Plate photos go with their camera's video: the days past a camera's
// retention are removed (this node's cameras and the copies of a node
// below), younger days and other files stay, and emptied month and year
// folders go too.
func TestPruneSnapshots(t *testing.T) {
	dir := t.TempDir()
	loc := time.FixedZone("Almaty", 5*3600)
	now := time.Date(2026, 12, 5, 10, 0, 0, 0, loc)
	put := func(rel string, n int) {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, make([]byte, n), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	put("Gate1/2026/10/31/235959.000_123ABC02_overview.jpg", 1000) // 35 days old
	put("Gate1/2026/11/04/080000.000_123ABC02_crop.jpg", 100)      // ends 30 days and 10 h ago
	put("Gate1/2026/11/05/080000.000_777KZ02_crop.jpg", 100)       // ends 29 days and 10 h ago: kept
	put("Yard1/2026/11/20/080000.000_777KZ02_crop.jpg", 100)       // a camera kept 90 days
	put("site-a/Gate9/2025/12/31/080000.000_A_crop.jpg", 10)       // a copy from a node below
	put("site-a/Gate9/2026/12/01/080000.000_A_crop.jpg", 10)
	put("notes.txt", 1)
	keep := func(origin, camera string) time.Duration {
		if origin == "" && camera == "Yard1" {
			return 90 * 24 * time.Hour
		}
		return 30 * 24 * time.Hour
	}
	days, freed := PruneSnapshots(dir, loc, now, keep)
	if days != 3 || freed != 1110 {
		t.Fatalf("removed %d days, %d bytes; want 3 days, 1110 bytes", days, freed)
	}
	for rel, want := range map[string]bool{
		"Gate1/2026/10": false, "Gate1/2026/11/04": false, "Gate1/2026/11/05": true, "Yard1/2026/11/20": true,
		"site-a/Gate9/2025": false, "site-a/Gate9/2026/12/01": true, "notes.txt": true,
	} {
		if _, err := os.Stat(filepath.Join(dir, rel)); (err == nil) != want {
			t.Errorf("%s: present %v, want %v", rel, err == nil, want)
		}
	}
	if d, _ := PruneSnapshots(dir, loc, now, keep); d != 0 {
		t.Errorf("a second sweep removed %d days", d)
	}
}
