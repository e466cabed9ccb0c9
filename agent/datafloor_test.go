package agent

import (
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/internal/testkit"
)

// A data directory on its own file system has a floor of its own: under
// archive.min_free_gb it raises a grave disk_floor alarm naming it, and
// clears it when space returns; the archive's file system is untouched.
func TestDataDirectoryFloor(t *testing.T) {
	data, err := os.MkdirTemp("/dev/shm", "kuzet-data-")
	if err != nil {
		t.Fatalf("a tmpfs for the data directory: %v (the test needs /dev/shm)", err)
	}
	t.Cleanup(func() { os.RemoveAll(data) })
	archive := t.TempDir()
	if sameFilesystem(data, archive) {
		t.Fatalf("/dev/shm and %s are one file system here: the test needs them apart", archive)
	}
	old := dataFloorEvery
	dataFloorEvery = 100 * time.Millisecond
	t.Cleanup(func() { dataFloorEvery = old })
	var dataFree atomic.Uint64
	dataFree.Store(1 << 30)
	a, _ := startAgentWith(t, fmt.Sprintf(`
node: {id: site, data_dir: %s}
http: {listen: "127.0.0.1:0"}
archive: {root: %s, min_free_gb: 2}
`, data, archive), Options{DiskFree: func(dir string) (uint64, error) {
		if dir == data {
			return dataFree.Load(), nil
		}
		return 100 << 30, nil
	}})
	key := event.AlarmDiskFloor + ":" + data
	testkit.WaitFor(t, 10*time.Second, "disk_floor raised for the data directory", func() bool { return a.alarms.Active("site", key) })
	if a.alarms.Active("site", event.AlarmDiskFloor+":"+archive) {
		t.Fatal("the archive's floor was raised too")
	}
	dataFree.Store(10 << 30)
	testkit.WaitFor(t, 10*time.Second, "disk_floor cleared", func() bool { return !a.alarms.Active("site", key) })
	raised, _ := a.events.Search(0, func(e event.Event) bool { return e.Kind == event.KindAlarmRaised && e.Severity == event.SeverityGrave })
	if len(raised) != 1 {
		t.Fatalf("raised %d times, want once", len(raised))
	}
}
