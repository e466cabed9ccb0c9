package agent

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kuzet/kuzet/audit"
	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/internal/testkit"
	"github.com/kuzet/kuzet/plates"
	"github.com/kuzet/kuzet/plugin"
)

// The test binary is also the misbehaving plugins of
// TestExamplePluginsAtASite: KUZET_AGENT_TEST_PLUGIN says how.
func TestMain(m *testing.M) {
	if mode := os.Getenv("KUZET_AGENT_TEST_PLUGIN"); mode != "" {
		os.Exit(testkit.MisbehavingPlugin(mode))
	}
	os.Exit(m.Run())
}

// The two example plugins of sdk/ (Go and Node.js) run at a site that
// reads plates, beside four that misbehave: one dies in a loop, one never
// reads its frames, one floods events and one posts malformed ones. Each
// of the four raises its alarm naming it, while the site records, reads
// plates, and the examples' events are stored under their names and reach
// the centre exactly once. An engineer's restart starts a plugin again.
func TestExamplePluginsAtASite(t *testing.T) {
	root, err := testkit.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	src, dir, tls := federationRig(t)
	bin := filepath.Join(dir, "colorchange")
	buildColorchange(t, bin)
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is not installed (apt-get install nodejs): %v", err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	models, _ := filepath.Abs("../.cache/anpr")
	if _, err := os.Stat(filepath.Join(models, "libonnxruntime.so.1")); err != nil {
		t.Fatalf("plate models missing in %s: run make anpr-deps", models)
	}
	centre, _ := startAgent(t, fmt.Sprintf(`
node: {id: centre, data_dir: %s/centre}
http: {listen: "127.0.0.1:0"}
federation: {listen: "127.0.0.1:0", heartbeat: 200ms, tls: %s, fragments: {policy: none}}
`, dir, tls("centre")))
	site, _ := startAgentWith(t, fmt.Sprintf(`
node: {id: site, data_dir: %[1]s/site}
http: {listen: "127.0.0.1:0"}
archive: {segment: 2s}
anpr: {models: %[8]s}
cameras:
  - {id: Camera1, url: %[2]q, anpr: {enabled: true, fps: 2, countries: [KZ, RU, UA]}}
federation: {upstream: [%[3]q], heartbeat: 200ms, tls: %[4]s}
plugins:
  - {name: colorchange, command: %[5]s, args: ["-threshold", "0.5", "-smooth", "1", "-cooldown", "1s"], cameras: [Camera1],
     frames: {fps: 4, width: 160, height: 90, format: rgb24}}
  - {name: linecount, command: %[6]s, args: [%[7]q], cameras: [Camera1], env: [LINECOUNT_THRESHOLD=100],
     frames: {fps: 4, width: 160, height: 90}}
  - {name: dies, command: /bin/false}
  - {name: noread, command: %[9]s, env: [KUZET_AGENT_TEST_PLUGIN=noread], cameras: [Camera1], frames: {fps: 10, width: 320, height: 180}}
  - {name: flood, command: %[9]s, env: [KUZET_AGENT_TEST_PLUGIN=flood], limits: {events_per_minute: 60}}
  - {name: garbled, command: %[9]s, env: [KUZET_AGENT_TEST_PLUGIN=garbled]}
`, dir, src.URL("cam1"), centre.FederationAddr(), tls("site"), bin, node, filepath.Join(root, "sdk/examples/node/linecount.js"), models, self),
		Options{Version: "test", Plugins: func(o *plugin.Options) { o.Stall = 3 * time.Second }})

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
	alarmed := func() map[string]bool {
		out := map[string]bool{}
		for _, e := range kinds(site, event.KindAlarmRaised)[event.KindAlarmRaised] {
			var al event.Alarm
			_ = json.Unmarshal(e.Payload, &al)
			out[al.Key] = true
		}
		return out
	}
	want := []string{"plugin_failed:dies", "plugin_stalled:noread:Camera1", "plugin_misbehaving:flood", "plugin_misbehaving:garbled"}
	testkit.WaitFor(t, 60*time.Second, "an alarm for each misbehaving plugin", func() bool {
		a := alarmed()
		for _, k := range want {
			if !a[k] {
				return false
			}
		}
		return true
	})
	// the examples, plates and recording carry on after the alarms
	alarmsAt := time.Now()
	carried := func() (colors, plateReads, segs int) {
		all, err := site.events.Search(0, func(e event.Event) bool { return !e.Time.Before(alarmsAt) })
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range all {
			switch e.Kind {
			case "plugin.colorchange.color_change":
				colors++
			case plates.KindPlateRead:
				plateReads++
			case event.KindSegmentClosed:
				segs++
			}
		}
		return
	}
	testkit.WaitFor(t, 60*time.Second, "colorchange events, plate reads and segments after the alarms", func() bool {
		c, p, s := carried()
		return c > 0 && p > 0 && s >= 3
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
	if len(st) != 6 || st[0].State != "running" || st[0].FramesSent == 0 || st[1].State != "running" || st[2].Restarts == 0 ||
		st[3].FramesDropped == 0 || st[4].EventsRefused == 0 || st[5].EventsRefused == 0 {
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
	if len(seenPlugins) != 6 || seenPlugins[0] != "colorchange:running" || seenPlugins[2] == "dies:running" {
		t.Fatalf("the site's plugins in the centre's health view: %v", seenPlugins)
	}
	segs, _ := site.archive.Index().Segments("Camera1", time.Time{}, time.Time{})
	if len(segs) < 3 {
		t.Fatalf("the site recorded %d segments beside its plugins", len(segs))
	}
	// an engineer starts colorchange again: a new process, audited
	first := st[0].PID
	resp, err = http.Post("http://"+site.HTTPAddr()+"/api/v1/plugins/colorchange/restart", "", nil)
	if err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("restart: %v %v", err, resp)
	}
	resp.Body.Close()
	testkit.WaitFor(t, 20*time.Second, "colorchange running again", func() bool {
		for _, p := range site.pluginList() {
			if p.Name == "colorchange" {
				return p.State == "running" && p.PID != 0 && p.PID != first
			}
		}
		return false
	})
	if resp, err := http.Post("http://"+site.HTTPAddr()+"/api/v1/plugins/nobody/restart", "", nil); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("restart of no plugin: %v %v", err, resp)
	}
	restarts, err := site.events.Search(0, func(e event.Event) bool {
		return e.Kind == audit.Kind && strings.Contains(string(e.Payload), audit.ActionPluginRestart)
	})
	if err != nil || len(restarts) != 2 {
		t.Fatalf("audited restarts: %d %v", len(restarts), err)
	}
	nc, np, ns := carried()
	t.Logf("site: %d color_change, %d line_crossing; frames sent %d/%d, dropped %d/%d (never read: %d); refused flood %d, garbled %d; "+
		"after the alarms: %d color_change, %d plate reads, %d segments",
		len(atSite["plugin.colorchange.color_change"]), len(atSite["plugin.linecount.line_crossing"]),
		st[0].FramesSent, st[1].FramesSent, st[0].FramesDropped, st[1].FramesDropped, st[3].FramesDropped,
		st[4].EventsRefused, st[5].EventsRefused, nc, np, ns)
}

// buildColorchange builds the Go example plugin of sdk/ into bin.
func buildColorchange(t *testing.T, bin string) {
	t.Helper()
	root, err := testkit.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	build := exec.Command("go", "build", "-o", bin, "./examples/colorchange")
	build.Dir = filepath.Join(root, "sdk")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the Go example plugin: %v\n%s", err, out)
	}
}
