package agent

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kuzet/kuzet/internal/testkit"
)

// A node removes, from its start, the plate photos and tamper frames of
// days past their camera's retention, and keeps the rest.
func TestPlatePhotosFollowRetention(t *testing.T) {
	dir := t.TempDir()
	now := time.Now().UTC()
	old := filepath.Join(dir, "plates", "Gate1", now.AddDate(0, 0, -40).Format("2006/01/02"))
	young := filepath.Join(dir, "plates", "Gate1", now.AddDate(0, 0, -20).Format("2006/01/02"))
	below := filepath.Join(dir, "plates", "site-a", "Gate9", now.AddDate(0, 0, -40).Format("2006/01/02"))
	tamper := filepath.Join(dir, "tamper", "snapshots", "Gate1", now.AddDate(0, 0, -40).Format("2006/01/02"))
	for _, d := range []string{old, young, below, tamper} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "080000.000_123ABC02_crop.jpg"), []byte("jpeg"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	startAgent(t, fmt.Sprintf(`
node: {id: gate, data_dir: %s, time_zone: UTC}
http: {listen: "127.0.0.1:0"}
archive: {retention_days: 30}
cameras: [{id: Gate1, url: "rtsp://127.0.0.1:1/gate1", offline_after: 1h}]
`, dir))
	testkit.WaitFor(t, 10*time.Second, "the old days removed", func() bool {
		_, e1 := os.Stat(old)
		_, e2 := os.Stat(below)
		_, e3 := os.Stat(tamper)
		return os.IsNotExist(e1) && os.IsNotExist(e2) && os.IsNotExist(e3)
	})
	if _, err := os.Stat(young); err != nil {
		t.Fatalf("a day within the retention: %v", err)
	}
}
