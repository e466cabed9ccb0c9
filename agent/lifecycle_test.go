package agent

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"slices"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/kuzet/kuzet/config"
)

// The roles close in the reverse order they opened, written once: the
// HTTP listener first, the event log last; and a role that fails to open
// releases every store opened before it, so a second start finds none
// still locked.
func TestRolesCloseInReverseOrder(t *testing.T) {
	dir := t.TempDir()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	yaml := func(listen string) string {
		return fmt.Sprintf("node: {id: n, data_dir: %s, time_zone: UTC}\nhttp: {listen: %q}\narchive: {segment: 10s}\n"+
			"sftp_push: {host: 127.0.0.1, port: 1, user: u, password: p, known_host_key: \"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\", root: /x}\n",
			dir, listen)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))

	// the listener's address is taken: New fails at the last role
	cfg, err := config.Parse([]byte(yaml(busy.Addr().String())), config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New(cfg, log, Options{}); err == nil {
		t.Fatal("New succeeded on a taken HTTP address")
	}
	for _, f := range []string{"events.db", "archive.db", "plates.db", "visits.db", "alarms.db", "camera-reads.db", "sftp-push.db"} {
		db, err := bolt.Open(filepath.Join(dir, f), 0o600, &bolt.Options{Timeout: 200 * time.Millisecond})
		if err != nil {
			t.Fatalf("%s still held after New failed: %v", f, err)
		}
		db.Close()
	}

	cfg, err = config.Parse([]byte(yaml("127.0.0.1:0")), config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(cfg, log, Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := a.life.names()
	want := []string{"http", "sftp push", "alarm table", "visit index", "plate index", "plate reading", "camera-read journal", "archive", "event log"}
	if !slices.Equal(got, want) {
		t.Errorf("close order %v, want %v", got, want)
	}
	if err := a.life.closeAll(); err != nil {
		t.Fatal(err)
	}
}
