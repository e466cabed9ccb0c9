package web_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/kuzet/kuzet/testcam"
)

// NVMS-6.13 in the console: an engineer finds the simulated ONVIF camera
// from the Tree view, describes it and adds it; without a catalogue the
// console gives the lines for the node's file, with the sub-stream and
// the device service for PTZ.
func TestBrowserDiscover(t *testing.T) {
	ctx, rig := newBrowserRig(t)
	cam, err := testcam.StartONVIF(testcam.ONVIFOptions{PTZ: true, User: "op", Password: "pw",
		Main: "rtsp://127.0.0.1:554/main", Sub: "rtsp://127.0.0.1:554/sub"})
	if err != nil {
		t.Fatal(err)
	}
	defer cam.Close()
	a := startNode(t, ctx, fmt.Sprintf(`
node: {id: gate, data_dir: %s, time_zone: UTC}
http: {listen: "127.0.0.1:0"}
`, t.TempDir()))
	out := rig.run(t, ctx, "discover", "http://"+a.HTTPAddr(), "KUZET_ONVIF_TARGET="+cam.DiscoveryAddr())
	var res struct{ YAML string }
	if err := json.Unmarshal(lastLine(out), &res); err != nil {
		t.Fatalf("the scenario's result: %v", err)
	}
	for _, want := range []string{"url: \"rtsp://op:pw@127.0.0.1:554/main\"", "sub_path: \"/sub\"", "onvif: " + cam.DeviceURL()} {
		if !strings.Contains(res.YAML, want) {
			t.Errorf("the lines for the node file lack %q:\n%s", want, res.YAML)
		}
	}
	if n := cam.Calls("GetProfiles"); n == 0 {
		t.Error("the camera was never asked for its profiles")
	}
}
