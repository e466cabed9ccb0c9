package agent

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/internal/testkit"
	"github.com/kuzet/kuzet/plugin"
)

// The two example plugins of sdk/ (Go and Node.js) run at a site beside
// one that dies in a loop: their events are stored under their names and
// reach the centre exactly once, the dying one raises plugin_failed, and
// the site goes on recording.
func TestExamplePluginsAtASite(t *testing.T) {
	root, err := testkit.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	src, dir, tls := federationRig(t)
	bin := filepath.Join(dir, "colorchange")
	build := exec.Command("go", "build", "-o", bin, "./examples/colorchange")
	build.Dir = filepath.Join(root, "sdk")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the Go example plugin: %v\n%s", err, out)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is not installed (apt-get install nodejs): %v", err)
	}
	centre, _ := startAgent(t, fmt.Sprintf(`
node: {id: centre, data_dir: %s/centre}
http: {listen: "127.0.0.1:0"}
federation: {listen: "127.0.0.1:0", heartbeat: 200ms, tls: %s, fragments: {policy: none}}
`, dir, tls("centre")))
	site, _ := startAgent(t, fmt.Sprintf(`
node: {id: site, data_dir: %[1]s/site}
http: {listen: "127.0.0.1:0"}
archive: {segment: 2s}
cameras: [{id: Camera1, url: %[2]q}]
federation: {upstream: [%[3]q], heartbeat: 200ms, tls: %[4]s}
plugins:
  - {name: colorchange, command: %[5]s, args: ["-threshold", "0.5", "-smooth", "1", "-cooldown", "1s"], cameras: [Camera1],
     frames: {fps: 4, width: 160, height: 90, format: rgb24}}
  - {name: linecount, command: %[6]s, args: [%[7]q], cameras: [Camera1], env: [LINECOUNT_THRESHOLD=100],
     frames: {fps: 4, width: 160, height: 90}}
  - {name: dies, command: /bin/false}
`, dir, src.URL("cam1"), centre.FederationAddr(), tls("site"), bin, node, filepath.Join(root, "sdk/examples/node/linecount.js")))

	kinds := func(a *Agent, prefix string) map[string][]event.Event {
		evs, err := a.events.Search(0, func(e event.Event) bool { return strings.HasPrefix(e.Kind, prefix) })
		if err != nil {
			t.Fatal(err)
		}
		out := map[string][]event.Event{}
		for _, e := range evs {
			out[e.Kind] = append(out[e.Kind], e)
		}
		return out
	}
	testkit.WaitFor(t, 60*time.Second, "both example plugins' events at the site", func() bool {
		k := kinds(site, "plugin.")
		return len(k["plugin.colorchange.color_change"]) > 0 && len(k["plugin.linecount.started"]) > 0
	})
	testkit.WaitFor(t, 30*time.Second, "plugin_failed for the one that dies", func() bool {
		for _, e := range kinds(site, event.KindAlarmRaised)[event.KindAlarmRaised] {
			if strings.Contains(string(e.Payload), "plugin_failed:dies") {
				return true
			}
		}
		return false
	})
	// the centre holds each of the site's plugin events once
	var atSite map[string][]event.Event
	testkit.WaitFor(t, 30*time.Second, "the plugin events at the centre", func() bool {
		atSite = kinds(site, "plugin.")
		atCentre := kinds(centre, "plugin.")
		for k, evs := range atSite {
			if len(atCentre[k]) < len(evs) {
				return false
			}
		}
		return true
	})
	seen := map[string]int{}
	for _, evs := range kinds(centre, "plugin.") {
		for _, e := range evs {
			seen[e.ID()]++
			if seen[e.ID()] > 1 {
				t.Fatalf("%s twice at the centre", e.ID())
			}
		}
	}
	var p plugin.Payload
	cc := atSite["plugin.colorchange.color_change"][0]
	if err := json.Unmarshal(cc.Payload, &p); err != nil || p.Plugin != "colorchange" || cc.Camera != "Camera1" || cc.Origin != "site" {
		t.Fatalf("a color_change event: %+v %+v", cc, p)
	}
	// the status names each, and the site recorded all along
	resp, err := http.Get("http://" + site.HTTPAddr() + "/api/v1/plugins")
	if err != nil {
		t.Fatal(err)
	}
	var st []plugin.Status
	_ = json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	if len(st) != 3 || st[0].State != "running" || st[0].FramesSent == 0 || st[1].State != "running" || st[2].Restarts == 0 {
		t.Fatalf("plugin status %+v", st)
	}
	// and the centre's health view sees them through the link
	resp, err = http.Get("http://" + centre.HTTPAddr() + "/api/v1/sites/health")
	if err != nil {
		t.Fatal(err)
	}
	var health []struct {
		Node   string
		Status struct {
			Plugins []struct{ Name, State string }
		}
	}
	_ = json.NewDecoder(resp.Body).Decode(&health)
	resp.Body.Close()
	var seenPlugins []string
	for _, h := range health {
		if h.Node == "site" {
			for _, p := range h.Status.Plugins {
				seenPlugins = append(seenPlugins, p.Name+":"+p.State)
			}
		}
	}
	if len(seenPlugins) != 3 || seenPlugins[0] != "colorchange:running" || seenPlugins[2] == "dies:running" {
		t.Fatalf("the site's plugins in the centre's health view: %v", seenPlugins)
	}
	segs, _ := site.archive.Index().Segments("Camera1", time.Time{}, time.Time{})
	if len(segs) < 3 {
		t.Fatalf("the site recorded %d segments beside its plugins", len(segs))
	}
	t.Logf("site: %d color_change, %d line_crossing; frames sent %d/%d, dropped %d/%d; %d segments",
		len(atSite["plugin.colorchange.color_change"]), len(atSite["plugin.linecount.line_crossing"]),
		st[0].FramesSent, st[1].FramesSent, st[0].FramesDropped, st[1].FramesDropped, len(segs))
}
