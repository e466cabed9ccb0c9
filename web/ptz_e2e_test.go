package web_test

import (
	"encoding/json"
	"fmt"
	"math"
	"testing"

	"github.com/kuzet/kuzet/testcam"
)

// TestBrowserPTZ runs web/e2e/ptz.mjs in headless Chromium: an operator
// maximises a PTZ camera's tile, holds "Pan right" and the simulated head
// turns; saves a preset, moves away and goes back to it.
func TestBrowserPTZ(t *testing.T) {
	ctx, rig := newBrowserRig(t)
	cam, err := testcam.StartONVIF(testcam.ONVIFOptions{PTZ: true, User: "op", Password: "pw", Main: "rtsp://127.0.0.1:1/main", Sub: "rtsp://127.0.0.1:1/sub"})
	if err != nil {
		t.Fatal(err)
	}
	defer cam.Close()
	a := startNode(t, ctx, fmt.Sprintf(`
node: {id: gate, data_dir: %s, time_zone: UTC}
http: {listen: "127.0.0.1:0"}
cameras: [{id: Dome1, url: "rtsp://op:pw@127.0.0.1:1/main", offline_after: 1h, onvif: %q}]
`, t.TempDir(), cam.DeviceURL()))
	out := rig.run(t, ctx, "ptz", "http://"+a.HTTPAddr())
	var res struct{ Pan, Tilt float64 }
	if err := json.Unmarshal(lastLine(out), &res); err != nil {
		t.Fatalf("the scenario's result: %v", err)
	}
	if x, y, _ := cam.Position(); math.Abs(x-res.Pan) > 0.006 || math.Abs(y-res.Tilt) > 0.006 || x <= 0.1 {
		t.Fatalf("the head is at %v %v; the console said %+v (at the preset, after panning right)", x, y, res)
	}
}

func lastLine(b []byte) []byte {
	var last []byte
	for _, l := range splitLines(b) {
		if len(l) > 0 && l[0] == '{' {
			last = l
		}
	}
	return last
}

func splitLines(b []byte) [][]byte {
	var out [][]byte
	start := 0
	for i, c := range b {
		if c == '\n' {
			out = append(out, b[start:i])
			start = i + 1
		}
	}
	return append(out, b[start:])
}
