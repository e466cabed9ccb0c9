package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kuzet/kuzet/archive/objstore"
	"github.com/kuzet/kuzet/event"
)

// downStore fails Stat while down is set.
type downStore struct {
	objstore.Store
	down atomic.Bool
}

func (s *downStore) Stat(ctx context.Context, key string) (objstore.Info, error) {
	if s.down.Load() {
		return objstore.Info{}, &objstore.StoreError{Store: s.Name(), Op: "stat", Key: key, Err: errors.New("connection refused")}
	}
	return s.Store.Stat(ctx, key)
}

// GET /api/v1/archive/store says whether the tier's store answers and
// what failed last; a node without one answers 404.
func TestArchiveStoreStatus(t *testing.T) {
	dir := t.TempDir()
	fs, err := objstore.NewFS(filepath.Join(dir, "store"))
	if err != nil {
		t.Fatal(err)
	}
	store := &downStore{Store: fs}
	a, _ := startAgentWith(t, fmt.Sprintf("node: {id: region, data_dir: %s/region}\nhttp: {listen: \"127.0.0.1:0\"}\n", dir),
		Options{ArchiveStore: store})
	plain, _ := startAgent(t, fmt.Sprintf("node: {id: site, data_dir: %s/site}\nhttp: {listen: \"127.0.0.1:0\"}\n", dir))
	get := func(a *Agent) (int, map[string]any) {
		t.Helper()
		resp, err := http.Get("http://" + a.HTTPAddr() + "/api/v1/archive/store")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		return resp.StatusCode, m
	}
	if code, _ := get(plain); code != http.StatusNotFound {
		t.Fatalf("a node without a store: %d", code)
	}
	if code, m := get(a); code != 200 || m["ok"] != true || m["store"] != fs.Name() {
		t.Fatalf("a store that answers: %d %v", code, m)
	}
	store.down.Store(true)
	seg := event.Segment{Camera: "Camera1", Start: time.Now().Add(-time.Minute), End: time.Now(),
		Path: "Camera1/2026/12/05/10/Camera1_2026_12_05_10_00.mp4", Bytes: 10, SHA256: strings.Repeat("a", 64)}
	if _, err := a.archive.OpenPart(context.Background(), "site", seg); err == nil {
		t.Fatal("a store that is down took a part")
	}
	if code, m := get(a); code != 200 || m["ok"] != false || !strings.Contains(fmt.Sprint(m["last_error"]), "connection refused") {
		t.Fatalf("a store that failed: %d %v", code, m)
	}
	store.down.Store(false)
	if p, err := a.archive.OpenPart(context.Background(), "site", seg); err != nil {
		t.Fatal(err)
	} else {
		_ = p.Close()
	}
	if code, m := get(a); code != 200 || m["ok"] != true {
		t.Fatalf("the store back: %d %v", code, m)
	}
}
