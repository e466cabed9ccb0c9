package agent

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/internal/testkit"
	"github.com/kuzet/kuzet/plugin"
	"github.com/kuzet/kuzet/topology"
)

// A plugin the catalogue rolls out runs from the site's plugins_dir, and
// only from there: one not installed, or one others may change, is
// reported and not run; a slice without it stops it.
func TestCataloguePluginRollout(t *testing.T) {
	src, dir, _ := federationRig(t)
	plugins := filepath.Join(dir, "plugins")
	if err := os.MkdirAll(plugins, 0o755); err != nil {
		t.Fatal(err)
	}
	buildColorchange(t, filepath.Join(plugins, "colorchange"))
	if err := os.WriteFile(filepath.Join(plugins, "lax"), []byte("#!/bin/sh\nexit 0\n"), 0o777); err != nil {
		t.Fatal(err)
	}
	_ = os.Chmod(filepath.Join(plugins, "lax"), 0o777) // whatever the umask
	site, _ := startAgent(t, fmt.Sprintf(`
node: {id: site, data_dir: %s/site}
http: {listen: "127.0.0.1:0"}
cameras: [{id: Camera1, url: %q}]
plugins_dir: %s
`, dir, src.URL("cam1"), plugins))

	slice := func(rev uint64, ps ...topology.NodePlugin) {
		t.Helper()
		b, _ := json.Marshal(topology.Slice{Schema: topology.SliceSchema, Node: "site", Role: topology.RoleSite, Revision: rev,
			Cameras: []topology.Camera{}, Policy: topology.Policy{Node: "site", Fragments: topology.FragmentsAll},
			RevokedNodes: []topology.RevokedNode{}, Plugins: ps})
		if err := site.onSlice(rev, b); err != nil {
			t.Fatal(err)
		}
	}
	status := func() map[string]plugin.Status {
		resp, err := http.Get("http://" + site.HTTPAddr() + "/api/v1/plugins")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var l []plugin.Status
		_ = json.NewDecoder(resp.Body).Decode(&l)
		out := map[string]plugin.Status{}
		for _, s := range l {
			out[s.Name] = s
		}
		return out
	}
	slice(2, topology.NodePlugin{Name: "colorchange", Args: []string{"-threshold", "0.5", "-smooth", "1", "-cooldown", "1s"}, Cameras: []string{"Camera1"},
		FPS: 4, Width: 160, Height: 90, Format: "rgb24"},
		topology.NodePlugin{Name: "lax"}, topology.NodePlugin{Name: "absent"})
	testkit.WaitFor(t, 60*time.Second, "the catalogue's plugin at work", func() bool {
		evs, _ := site.events.Search(1, func(e event.Event) bool { return e.Kind == "plugin.colorchange.color_change" })
		return len(evs) == 1
	})
	st := status()
	if st["colorchange"].State != "running" || !strings.Contains(st["lax"].LastError, "changed by others") ||
		!strings.Contains(st["absent"].LastError, "not installed") || st["lax"].State != "failed" {
		t.Fatalf("status %+v", st)
	}
	pid := st["colorchange"].PID

	// taken out of the catalogue: stopped
	slice(3)
	testkit.WaitFor(t, 15*time.Second, "the plugin stopped", func() bool {
		return len(status()) == 0 && syscall.Kill(pid, 0) != nil
	})
}
