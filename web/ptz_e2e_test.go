package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/kuzet/kuzet/agent"
	"github.com/kuzet/kuzet/config"
	"github.com/kuzet/kuzet/internal/testkit"
	"github.com/kuzet/kuzet/testcam"
	"github.com/kuzet/kuzet/web"
)

// TestBrowserPTZ runs web/e2e/ptz.mjs in headless Chromium: an operator
// maximises a PTZ camera's tile, holds "Pan right" and the simulated head
// turns; saves a preset, moves away and goes back to it.
func TestBrowserPTZ(t *testing.T) {
	testkit.Long(t)
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	nodeBin, chromium := web.RequireTools(t, root)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cam, err := testcam.StartONVIF(testcam.ONVIFOptions{PTZ: true, User: "op", Password: "pw", Main: "rtsp://127.0.0.1:1/main", Sub: "rtsp://127.0.0.1:1/sub"})
	if err != nil {
		t.Fatal(err)
	}
	defer cam.Close()
	cfg, err := config.Parse([]byte(fmt.Sprintf(`
node: {id: gate, data_dir: %s, time_zone: UTC}
http: {listen: "127.0.0.1:0"}
cameras: [{id: Dome1, url: "rtsp://op:pw@127.0.0.1:1/main", offline_after: 1h, onvif: %q}]
`, t.TempDir(), cam.DeviceURL())), config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	a, err := agent.New(cfg, slog.New(slog.DiscardHandler), agent.Options{Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- a.Run(runCtx) }()
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("node stopped with %v", err)
		}
	}()
	shots := filepath.Join(root, "test-artifacts", "ui-ptz")
	_ = os.RemoveAll(shots)
	run := exec.CommandContext(ctx, nodeBin, filepath.Join("e2e", "ptz.mjs"))
	run.Env = append(os.Environ(), "KUZET_UI_URL=http://"+a.HTTPAddr(), "KUZET_UI_SHOTS="+shots, "KUZET_CHROMIUM="+chromium)
	run.WaitDelay = 10 * time.Second
	out, err := run.CombinedOutput()
	t.Logf("node e2e/ptz.mjs:\n%s", out)
	if err != nil {
		t.Fatalf("browser scenario failed (%v); screenshots in %s", err, shots)
	}
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
