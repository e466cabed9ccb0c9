package agent

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/internal/testkit"
	"github.com/kuzet/kuzet/pki"
	"github.com/kuzet/kuzet/plugin"
)

// The Go example plugin run as a remote plugin: another process, with a
// certificate of 'kuzet pki plugin', connects to the site's
// plugins_listen over mutual TLS and works as it does on a socket; the
// site shows it connected from its address, then disconnected when it is
// stopped. A certificate for another site's plugin of the same name does
// not get in.
func TestRemotePluginAtASite(t *testing.T) {
	src, dir, tls := federationRig(t)
	pkiDir := filepath.Join(dir, "pki")
	for _, node := range []string{"site", "centre"} {
		if _, err := pki.IssuePlugin(pkiDir, node, "colorchange", pkiDir, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(dir, "colorchange")
	buildColorchange(t, bin)
	site, _ := startAgent(t, fmt.Sprintf(`
node: {id: site, data_dir: %[1]s/site}
http: {listen: "127.0.0.1:0"}
archive: {segment: 2s}
cameras: [{id: Camera1, url: %[2]q}]
federation: {tls: %[3]s}
plugins_listen: "127.0.0.1:0"
plugins:
  - {name: colorchange, remote: true, cameras: [Camera1], frames: {fps: 4, width: 160, height: 90, format: rgb24}}
`, dir, src.URL("cam1"), tls("site")))
	var addr string
	testkit.WaitFor(t, 10*time.Second, "the site's plugins_listen", func() bool {
		site.plugins.mu.Lock()
		m := site.plugins.m
		site.plugins.mu.Unlock()
		if a := m.Addr(); a != nil {
			addr = a.String()
		}
		return addr != ""
	})
	start := func(node string) (*exec.Cmd, *strings.Builder) {
		cmd := exec.Command(bin, "-threshold", "0.5", "-smooth", "1", "-cooldown", "1s")
		var out strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &out
		cmd.Env = []string{"KUZET_PLUGIN_ADDRESS=" + addr, "KUZET_PLUGIN_NODE=site",
			"KUZET_PLUGIN_CA=" + filepath.Join(pkiDir, "ca.pem"),
			"KUZET_PLUGIN_CERT=" + filepath.Join(pkiDir, node+".colorchange.pem"),
			"KUZET_PLUGIN_KEY=" + filepath.Join(pkiDir, node+".colorchange-key.pem")}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		return cmd, &out
	}
	status := func() plugin.Status {
		resp, err := http.Get("http://" + site.HTTPAddr() + "/api/v1/plugins")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var st []plugin.Status
		_ = json.NewDecoder(resp.Body).Decode(&st)
		if len(st) != 1 {
			t.Fatalf("plugins %+v", st)
		}
		return st[0]
	}

	// the centre's certificate for a plugin of the same name is refused
	intruder, out := start("centre")
	waitErr := make(chan error, 1)
	go func() { waitErr <- intruder.Wait() }()
	select {
	case <-waitErr:
	case <-time.After(20 * time.Second):
		t.Fatal("a plugin with another node's certificate kept running")
	}
	// TLS 1.3 refuses a client's certificate after the client's side of the
	// handshake: the plugin learns it on its first request
	if !strings.Contains(out.String(), "/v1/hello") {
		t.Fatalf("the refused plugin said: %s", out.String())
	}
	if st := status(); st.State == "connected" {
		t.Fatalf("status after a refused plugin %+v", st)
	}

	plug, out := start("site")
	evs := func() []event.Event {
		evs, err := site.events.Search(0, func(e event.Event) bool { return e.Kind == "plugin.colorchange.color_change" })
		if err != nil {
			t.Fatal(err)
		}
		return evs
	}
	testkit.WaitFor(t, 60*time.Second, "the remote plugin's events at the site", func() bool { return len(evs()) > 0 })
	// (the status counts an event once it is stored, a moment later)
	testkit.WaitFor(t, 10*time.Second, "the remote plugin's status to count its events", func() bool { return status().EventsStored > 0 })
	st := status()
	if st.State != "connected" || !st.Remote || !strings.HasPrefix(st.Address, "127.0.0.1:") || st.FramesSent == 0 || st.EventsStored == 0 {
		t.Fatalf("status of the remote plugin %+v", st)
	}
	var p plugin.Payload
	if err := json.Unmarshal(evs()[0].Payload, &p); err != nil || p.Plugin != "colorchange" {
		t.Fatalf("payload %+v: %v", p, err)
	}
	_ = plug.Process.Signal(syscall.SIGTERM)
	testkit.WaitFor(t, 30*time.Second, "disconnected once it stops", func() bool { return status().State == "disconnected" })
	if _, err := os.Stat(filepath.Join(dir, "site", "plugins", "colorchange.sock")); err == nil {
		t.Fatal("a remote plugin got a socket")
	}
	t.Logf("remote plugin: %d events, %d frames sent, it said: %.300s", len(evs()), st.FramesSent, out.String())
}

// The Go example as a plugin service the site dials (plugins[].connect):
// a site whose uplink lets it only dial out uses analytics elsewhere. The
// service listens with its certificate, the site dials it, and the
// example's events are stored under the plugin's name. A service that
// presents another plugin's certificate is refused by the site.
func TestDialledPluginService(t *testing.T) {
	src, dir, tls := federationRig(t)
	pkiDir := filepath.Join(dir, "pki")
	for _, name := range []string{"smoke", "other"} {
		if _, err := pki.IssuePlugin(pkiDir, "site", name, pkiDir, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(dir, "colorchange")
	buildColorchange(t, bin)
	service := testkit.Port(t)
	serve := func(cert string) *exec.Cmd {
		cmd := exec.Command(bin, "-threshold", "0.5", "-smooth", "1", "-cooldown", "1s")
		cmd.Env = []string{"KUZET_PLUGIN_LISTEN=" + service, "KUZET_PLUGIN_NODE=site",
			"KUZET_PLUGIN_CA=" + filepath.Join(pkiDir, "ca.pem"),
			"KUZET_PLUGIN_CERT=" + filepath.Join(pkiDir, "site."+cert+".pem"),
			"KUZET_PLUGIN_KEY=" + filepath.Join(pkiDir, "site."+cert+"-key.pem")}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		return cmd
	}
	impostor := serve("other")
	site, _ := startAgentWith(t, fmt.Sprintf(`
node: {id: site, data_dir: %[1]s/site}
http: {listen: "127.0.0.1:0"}
archive: {segment: 2s}
cameras: [{id: Camera1, url: %[2]q}]
federation: {tls: %[3]s}
plugins:
  - {name: smoke, remote: true, connect: %[4]q, cameras: [Camera1], frames: {fps: 4, width: 160, height: 90, format: rgb24}}
`, dir, src.URL("cam1"), tls("site"), service), Options{Version: "test"})
	status := func() plugin.Status {
		for _, p := range site.pluginList() {
			if p.Name == "smoke" {
				return p
			}
		}
		t.Fatal("no plugin smoke")
		return plugin.Status{}
	}
	testkit.WaitFor(t, 20*time.Second, "the impostor refused", func() bool {
		return strings.Contains(status().LastError, "not smoke's")
	})
	if st := status(); st.State == "connected" {
		t.Fatalf("connected to a service with another plugin's certificate: %+v", st)
	}
	_ = impostor.Process.Kill()
	_ = impostor.Wait()

	serve("smoke")
	evs := func() []event.Event {
		evs, err := site.events.Search(0, func(e event.Event) bool { return e.Kind == "plugin.smoke.color_change" })
		if err != nil {
			t.Fatal(err)
		}
		return evs
	}
	testkit.WaitFor(t, 90*time.Second, "the service's events at the site", func() bool { return len(evs()) > 0 })
	st := status()
	if st.State != "connected" || !st.Remote || st.Address != service || st.FramesSent == 0 {
		t.Fatalf("status of the dialled plugin %+v", st)
	}
	t.Logf("dialled service: %d events, %d frames sent", len(evs()), st.FramesSent)
}
