package onvif

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/kuzet/kuzet/testcam"
)

func startCam(t *testing.T, o testcam.ONVIFOptions) *testcam.ONVIF {
	t.Helper()
	if o.Main == "" {
		o.Main, o.Sub = "rtsp://127.0.0.1:8554/cam1", "rtsp://127.0.0.1:8554/cam1-sub"
	}
	d, err := testcam.StartONVIF(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	return d
}

// A directed probe finds the simulated camera; its description, asked
// with a WS-Security password digest, names it, its profiles and their
// streams, the largest H.264 as the main stream and the smaller as sub.
func TestDiscoverAndDescribe(t *testing.T) {
	cam := startCam(t, testcam.ONVIFOptions{User: "admin", Password: "s3cret", Name: "Gate 4"})
	ctx := context.Background()
	found, err := Discover(ctx, DiscoverOptions{Targets: []string{cam.DiscoveryAddr()}, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if len(found.Devices) != 1 || found.Devices[0].Name != "Gate 4" || found.Devices[0].Hardware != "KZT-100" ||
		found.Devices[0].XAddrs[0] != cam.DeviceURL() || found.Devices[0].From != "127.0.0.1" {
		t.Fatalf("discovery: %+v", found)
	}
	c := &Client{Device: found.Devices[0].XAddrs[0], User: "admin", Password: "s3cret"}
	d, err := c.Describe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d.Info.Manufacturer != "Kuzet" || d.Info.Model != "KZT-100" || d.Info.Serial != "KZT100-0042" {
		t.Fatalf("info: %+v", d.Info)
	}
	if d.Main == nil || d.Main.URI != "rtsp://127.0.0.1:8554/cam1" || d.Main.Width != 1280 || d.Main.Encoding != "H264" ||
		d.Sub == nil || d.Sub.URI != "rtsp://127.0.0.1:8554/cam1-sub" || d.Sub.Height != 360 {
		t.Fatalf("streams: main %+v sub %+v", d.Main, d.Sub)
	}
	if !strings.HasSuffix(d.Services.Media, "/onvif/media_service") {
		t.Fatalf("services: %+v", d.Services)
	}
}

// Wrong credentials are refused by name, with WS-Security and with HTTP
// digest; right ones over HTTP digest work.
func TestCredentials(t *testing.T) {
	ctx := context.Background()
	ws := startCam(t, testcam.ONVIFOptions{User: "admin", Password: "s3cret"})
	if _, err := (&Client{Device: ws.DeviceURL(), User: "admin", Password: "wrong"}).DeviceInformation(ctx); err == nil ||
		!strings.Contains(err.Error(), "NotAuthorized") {
		t.Fatalf("a wrong password (WS-Security): %v", err)
	}
	dg := startCam(t, testcam.ONVIFOptions{User: "admin", Password: "s3cret", DigestHTTP: true})
	if _, err := (&Client{Device: dg.DeviceURL(), User: "admin", Password: "s3cret"}).Describe(ctx); err != nil {
		t.Fatalf("HTTP digest: %v", err)
	}
	if _, err := (&Client{Device: dg.DeviceURL(), User: "admin", Password: "wrong"}).DeviceInformation(ctx); err == nil ||
		!strings.Contains(err.Error(), "refused the credentials") {
		t.Fatalf("a wrong password (HTTP digest): %v", err)
	}
}

// A device answering garbage, a fault, a non-RTSP stream URI or an empty
// answer gets an error naming it.
func TestBadDevices(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct{ body, says string }{
		{"<html>not soap</html>", "not a SOAP envelope"},
		{"\x00\x01garbage", "not a SOAP envelope"},
		{`<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Body></e:Body></e:Envelope>`, "no GetDeviceInformationResponse"},
		{`<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Body><e:Fault><e:Code><e:Value>e:Receiver</e:Value></e:Code>` +
			`<e:Reason><e:Text>busy</e:Text></e:Reason></e:Fault></e:Body></e:Envelope>`, "device fault e:Receiver: busy"},
		{strings.Repeat("x", MaxResponse+10), "over"},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, c.body) }))
		_, err := (&Client{Device: srv.URL}).DeviceInformation(ctx)
		srv.Close()
		if err == nil || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%.40q: %v, want it to say %q", c.body, err, c.says)
		}
	}
	cam := startCam(t, testcam.ONVIFOptions{Main: "http://not-rtsp/", Sub: "rtsp://x/sub"})
	if _, err := (&Client{Device: cam.DeviceURL()}).StreamURI(ctx, "main"); err == nil || !strings.Contains(err.Error(), "is not an rtsp:// URL") {
		t.Fatalf("a non-RTSP stream: %v", err)
	}
	if _, err := (&Client{Device: cam.DeviceURL()}).StreamURI(ctx, "nope"); err == nil || !strings.Contains(err.Error(), "NoProfile") {
		t.Fatalf("an unknown profile: %v", err)
	}
}

// A storm of answers — garbage, answers to other probes, thousands of
// devices — is bounded: at most MaxDevices are kept, the rest counted.
func TestDiscoveryStorm(t *testing.T) {
	storm, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer storm.Close()
	go func() {
		buf := make([]byte, 64<<10)
		n, from, err := storm.ReadFromUDP(buf)
		if err != nil {
			return
		}
		var id string
		if i := strings.Index(string(buf[:n]), "<a:MessageID>"); i >= 0 {
			rest := string(buf[i+len("<a:MessageID>") : n])
			id = rest[:strings.Index(rest, "<")]
		}
		for i := 0; i < 1500; i++ {
			_, _ = storm.WriteToUDP([]byte("garbage"), from)
			_, _ = storm.WriteToUDP([]byte(match("urn:uuid:other-probe", i)), from)
			_, _ = storm.WriteToUDP([]byte(match(id, i)), from)
			if i%100 == 0 {
				time.Sleep(time.Millisecond) // let the reader keep up
			}
		}
	}()
	found, err := Discover(context.Background(), DiscoverOptions{Targets: []string{storm.LocalAddr().String()}, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if len(found.Devices) == 0 || len(found.Devices) > MaxDevices || found.Ignored == 0 {
		t.Fatalf("%d devices kept, %d ignored", len(found.Devices), found.Ignored)
	}
	for _, d := range found.Devices {
		if !strings.HasPrefix(d.Endpoint, "urn:uuid:dev-") {
			t.Fatalf("an answer to another probe was kept: %+v", d)
		}
	}
}

func match(relates string, i int) string {
	return fmt.Sprintf(`<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" `+
		`xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery"><e:Header><a:RelatesTo>%s</a:RelatesTo></e:Header><e:Body><d:ProbeMatches><d:ProbeMatch>`+
		`<a:EndpointReference><a:Address>urn:uuid:dev-%d</a:Address></a:EndpointReference><d:XAddrs>http://10.0.%d.%d/onvif/device_service</d:XAddrs>`+
		`</d:ProbeMatch></d:ProbeMatches></e:Body></e:Envelope>`, relates, i, i/250, i%250)
}

func FuzzParseProbeMatches(f *testing.F) {
	f.Add([]byte(match("urn:uuid:x", 1)), "urn:uuid:x")
	f.Add([]byte("<e:Envelope/>"), "")
	f.Fuzz(func(t *testing.T, b []byte, id string) {
		devs, err := ParseProbeMatches(b, id)
		if err == nil {
			for _, d := range devs {
				if d.Endpoint == "" || len(d.XAddrs) == 0 {
					t.Fatalf("a device without identity or address: %+v", d)
				}
			}
		}
	})
}

func FuzzReadEnvelope(f *testing.F) {
	f.Add([]byte(`<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Body><x:GetProfilesResponse xmlns:x="u"><x:Profiles token="a"/></x:GetProfilesResponse></e:Body></e:Envelope>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var r profilesResponse
		_, _ = readEnvelope(strings.NewReader(string(b)), &r)
	})
}

// A probe to the WS-Discovery group finds a camera listening on it. The
// test runs itself again in a network namespace of its own, whose
// loopback carries multicast.
func TestMulticastDiscoveryInNamespace(t *testing.T) {
	if os.Getenv("KUZET_ONVIF_NETNS") == "" {
		for _, tool := range []string{"unshare", "ip"} {
			if _, err := exec.LookPath(tool); err != nil {
				t.Fatalf("%s missing: apt-get install -y util-linux iproute2", tool)
			}
		}
		script := `ip link set lo up && ip link set lo multicast on && ip route add 239.0.0.0/8 dev lo && exec "$0" -test.run '^TestMulticastDiscoveryInNamespace$' -test.v`
		cmd := exec.Command("unshare", "--net", "--", "sh", "-c", script, os.Args[0])
		cmd.Env = append(os.Environ(), "KUZET_ONVIF_NETNS=1")
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "--- PASS: TestMulticastDiscoveryInNamespace") {
			t.Fatalf("in a network namespace (needs root, or unprivileged user namespaces): %v\n%s", err, out)
		}
		return
	}
	cam := startCam(t, testcam.ONVIFOptions{Multicast: true, Name: "Gate 5"})
	found, err := Discover(context.Background(), DiscoverOptions{Multicast: true, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if len(found.Devices) != 1 || found.Devices[0].XAddrs[0] != cam.DeviceURL() || found.Devices[0].Name != "Gate 5" {
		t.Fatalf("multicast discovery: %+v", found)
	}
}

// PTZ on the simulated camera: a continuous move changes the position
// until Stop; absolute and relative moves; a preset round-trip; bad
// coordinates, an unknown preset and a camera without PTZ are refused by
// name.
func TestPTZ(t *testing.T) {
	ctx := context.Background()
	cam := startCam(t, testcam.ONVIFOptions{PTZ: true, User: "op", Password: "pw"})
	p, err := (&Client{Device: cam.DeviceURL(), User: "op", Password: "pw"}).PTZ(ctx, "main")
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Move(ctx, Position{Pan: 0.5}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if err := p.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	pos, err := p.Status(ctx)
	if err != nil || pos.Pan < 0.1 || pos.Pan > 0.5 || pos.Tilt != 0 {
		t.Fatalf("after panning right for 0.3 s: %+v %v", pos, err)
	}
	time.Sleep(200 * time.Millisecond)
	if again, _ := p.Status(ctx); again != pos {
		t.Fatalf("the head moved after Stop: %+v then %+v", pos, again)
	}
	if err := p.Absolute(ctx, Position{Pan: -0.25, Tilt: 0.5, Zoom: 0.75}); err != nil {
		t.Fatal(err)
	}
	tok, err := p.SetPreset(ctx, "Lane 2")
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Relative(ctx, Position{Pan: 0.5}); err != nil {
		t.Fatal(err)
	}
	if pos, _ := p.Status(ctx); pos.Pan != 0.25 {
		t.Fatalf("after a relative move: %+v", pos)
	}
	if err := p.Goto(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if x, y, z := cam.Position(); x != -0.25 || y != 0.5 || z != 0.75 {
		t.Fatalf("at preset %s: %v %v %v", tok, x, y, z)
	}
	if ps, err := p.Presets(ctx); err != nil || len(ps) != 1 || ps[0].Name != "Lane 2" || ps[0].Token != tok {
		t.Fatalf("presets: %+v %v", ps, err)
	}
	for _, c := range []struct {
		err  error
		says string
	}{
		{p.Absolute(ctx, Position{Pan: 1.5}), "pan: 1.5 is out of range -1..1"},
		{p.Absolute(ctx, Position{Zoom: -0.5}), "zoom: -0.5 is out of range 0..1"},
		{p.Goto(ctx, "preset-99"), "NoToken"},
	} {
		if c.err == nil || !strings.Contains(c.err.Error(), c.says) {
			t.Errorf("%v, want it to say %q", c.err, c.says)
		}
	}
	fixed := startCam(t, testcam.ONVIFOptions{})
	if _, err := (&Client{Device: fixed.DeviceURL()}).PTZ(ctx, "main"); err == nil || !strings.Contains(err.Error(), "has no PTZ service") {
		t.Fatalf("a camera without PTZ: %v", err)
	}
}
