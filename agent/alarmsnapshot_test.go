package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kuzet/kuzet/alarm"
	"github.com/kuzet/kuzet/archive/objstore"
	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/internal/testkit"
	"github.com/kuzet/kuzet/tamper"
)

// A tamper alarm raised at a site shows its frame at the centre: fetched
// once through the link and kept, so it still shows with the site gone.
func TestAlarmSnapshotFromTheSite(t *testing.T) {
	src, dir, tls := federationRig(t)
	// the centre's tier keeps what it fetched in a store its replicas share
	store, err := objstore.NewFS(filepath.Join(dir, "tier-store"))
	if err != nil {
		t.Fatal(err)
	}
	centre, _ := startAgentWith(t, fmt.Sprintf(`
node: {id: centre, data_dir: %s/centre}
http: {listen: "127.0.0.1:0"}
federation: {listen: "127.0.0.1:0", heartbeat: 200ms, tls: %s, fragments: {policy: none}}
`, dir, tls("centre")), Options{ArchiveStore: store})
	// the frame is there before the site starts: its snapshot retention
	// walks the folder at start
	frame := []byte("\xff\xd8 a covered camera \xff\xd9")
	rel := "Camera1/2026/12/04/120000.000_tamper_covered.jpg"
	p := filepath.Join(dir, "site", "tamper", "snapshots", filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, frame, 0o644); err != nil {
		t.Fatal(err)
	}
	site, stopSite := startAgent(t, fmt.Sprintf(`
node: {id: site, data_dir: %s/site}
http: {listen: "127.0.0.1:0"}
cameras: [{id: Camera1, url: %q}]
federation: {upstream: [%q], heartbeat: 200ms, tls: %s}
`, dir, src.URL("cam1"), centre.FederationAddr(), tls("site")))
	if _, err := site.Events().Append(event.New(event.KindAlarmRaised, "Camera1", event.SeverityGrave,
		tamper.Payload{Key: "tamper_covered:Camera1", Type: "tamper_covered", Message: "camera Camera1 covered", Snapshot: rel})); err != nil {
		t.Fatal(err)
	}
	var id string
	testkit.WaitFor(t, 20*time.Second, "the tamper alarm at the centre", func() bool {
		l := centre.alarms.List(alarm.Filter{Types: []string{"tamper_covered"}})
		if len(l) == 1 {
			id = l[0].ID
		}
		return id != ""
	})
	get := func(a *Agent) (int, []byte) {
		t.Helper()
		resp, err := http.Get("http://" + a.HTTPAddr() + "/api/v1/alarms/" + url.PathEscape(id) + "/snapshot.jpg")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	// a request that goes away before the photo arrives (a console
	// re-rendering its list) still leaves it pulled and kept
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := centre.Snapshot(gone, "site", tamperPrefix+rel); err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("a request gone at once: %v", err)
	}
	kept, err := centre.snapshotFile("site", tamperPrefix+rel)
	if err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, 20*time.Second, "the photo kept at the centre after its request went away", func() bool {
		_, err := os.Stat(kept)
		return err == nil
	})
	for _, a := range []*Agent{site, centre} {
		if code, b := get(a); code != 200 || string(b) != string(frame) {
			t.Fatalf("snapshot at %s: %d %q", a.cfg.Node.ID, code, b)
		}
	}
	if in, err := store.Stat(context.Background(), ".tier/snapshots/site/.tamper/"+rel); err != nil || in.Size != int64(len(frame)) {
		t.Fatalf("the snapshot in the tier's store: %+v %v", in, err)
	}
	if err := stopSite(); err != nil {
		t.Fatal(err)
	}
	if code, b := get(centre); code != 200 || string(b) != string(frame) {
		t.Fatalf("snapshot at the centre with the site gone: %d %q", code, b)
	}
	// a replica of the tier without its own copy finds it in the store
	if err := os.RemoveAll(filepath.Join(dir, "centre", "tamper", "snapshots", "site")); err != nil {
		t.Fatal(err)
	}
	if code, b := get(centre); code != 200 || string(b) != string(frame) {
		t.Fatalf("snapshot from the tier's store with the site gone: %d %q", code, b)
	}
	resp, err := http.Get("http://" + centre.HTTPAddr() + "/api/v1/alarms/nope/snapshot.jpg")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Fatalf("an unknown alarm's photo: %d", resp.StatusCode)
	}
}
