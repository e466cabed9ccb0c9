package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kuzet/kuzet/internal/testkit"
)

// demoPlates are the plates on the synthetic camera's trucks.
var demoPlates = []string{"123ABC02", "A123BC77", "AA1234BB", "456KTA05"}

// TestBrowserE2E runs the console in headless Chromium against a real
// `kuzet demo` (camera, site, centre over QUIC): web/e2e/ui.mjs logs in,
// checks the tree, plays live video, finds and corrects a plate read and
// plays its clip, acknowledges the offline gate camera's alarm, and checks
// what a viewer and an admin may see. Screenshots go to test-artifacts/ui/.
func TestBrowserE2E(t *testing.T) {
	testkit.Long(t)
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	nodeBin, chromium := requireTools(t, root)
	models := filepath.Join(root, ".cache", "anpr")
	if _, err := os.Stat(filepath.Join(models, "ch_PP-OCRv4_rec_infer.onnx")); err != nil {
		t.Fatalf("plate-recognition models missing in %s (the demo reads plates with them): run `make anpr-deps`", models)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	bin := kuzetBinary(t, root)

	dir := t.TempDir()
	ports := freeTCP(t, 6)
	centre := "127.0.0.1:" + ports[1]
	onvifAddr := testkit.Port(t) // UDP: the simulated dome's discovery
	logPath := filepath.Join(dir, "demo.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	cmd := exec.Command(bin, "demo", "--dir", filepath.Join(dir, "demo"),
		"--http", "127.0.0.1:"+ports[0], "--centre-http", centre,
		"--federation", testkit.Port(t), "--rtsp", "127.0.0.1:"+ports[2],
		"--webrtc", "127.0.0.1:0", "--centre-webrtc", "127.0.0.1:0",
		"--segment", "10s", "--models", models, "--onvif", onvifAddr,
		"--centre-seals", "127.0.0.1:"+ports[3], "--partner-http", "127.0.0.1:"+ports[4], "--partner-seals", "127.0.0.1:"+ports[5])
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s demo: %v", bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer stopDemo(t, cmd.Process, exited)
	showLog := func() {
		b, _ := os.ReadFile(logPath)
		if len(b) > 6000 {
			b = b[len(b)-6000:]
		}
		t.Logf("demo log (tail):\n%s", b)
	}

	base := "http://" + centre
	plate, err := waitForDemo(ctx, base, exited)
	if err != nil {
		showLog()
		t.Fatal(err)
	}
	t.Logf("demo up at %s; a read of %s exists", base, plate)

	uiURL := base
	if !servesConsole(ctx, base) {
		t.Fatalf("%s does not serve the console at /", bin)
	}
	if code := status(ctx, uiURL+Prefix+HLSAsset); code != http.StatusOK {
		t.Fatalf("%s%s answers %d: the console has no video player; run `make web-deps` and rebuild", uiURL, Prefix+HLSAsset, code)
	}

	shots := filepath.Join(root, "test-artifacts", "ui")
	if old, _ := filepath.Glob(filepath.Join(shots, "*.png")); len(old) > 0 {
		for _, f := range old {
			_ = os.Remove(f)
		}
	}
	run := exec.CommandContext(ctx, nodeBin, filepath.Join("e2e", "ui.mjs"))
	run.Env = append(os.Environ(), "KUZET_UI_URL="+uiURL, "KUZET_UI_SITE_URL=http://127.0.0.1:"+ports[0], "KUZET_UI_SHOTS="+shots, "KUZET_UI_PLATE="+plate, "KUZET_CHROMIUM="+chromium,
		"KUZET_BIN="+bin, "KUZET_UI_CA="+filepath.Join(dir, "demo", "pki", "ca.pem"), "KUZET_UI_ONVIF="+onvifAddr)
	run.WaitDelay = 10 * time.Second
	out, err := run.CombinedOutput()
	t.Logf("node e2e/ui.mjs:\n%s", out)
	if err != nil {
		showLog()
		t.Fatalf("browser scenario failed (%v); screenshots in %s", err, shots)
	}

	// the seal exchange: the sealed truck's seal left its route, and the
	// centre reported it to the partner operator over mutual TLS
	partner := "http://127.0.0.1:" + ports[4]
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	if res, err := hc.Post(partner+"/api/v1/auth/login", "application/json", strings.NewReader(`{"user":"viewer","password":"kuzet-viewer"}`)); err != nil || res.StatusCode != 200 {
		t.Fatalf("login at the partner: %v %v", err, res)
	} else {
		res.Body.Close()
	}
	for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(time.Second) {
		res, err := hc.Get(partner + "/api/v1/seals/messages?kind=tracking&peer=KZ.DEMO")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if strings.Contains(string(b), `"anomaly": "03"`) && strings.Contains(string(b), "RU-DEMO-0001") {
			break
		}
		if time.Now().After(deadline) {
			showLog()
			t.Fatalf("the partner never heard of the seal's deviation: %s", b)
		}
	}
	// and the sealed truck, read again from the clip, is a grave alarm at the centre
	if res, err := hc.Post(base+"/api/v1/auth/login", "application/json", strings.NewReader(`{"user":"viewer","password":"kuzet-viewer"}`)); err != nil || res.StatusCode != 200 {
		t.Fatalf("login at the centre: %v %v", err, res)
	} else {
		res.Body.Close()
	}
	for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(time.Second) {
		res, err := hc.Get(base + "/api/v1/alarms?state=open&type=sealed_vehicle_abnormal")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if strings.Contains(string(b), "RU-DEMO-0001") && strings.Contains(string(b), `"grave"`) {
			break
		}
		if time.Now().After(deadline) {
			showLog()
			t.Fatalf("no grave alarm for the sealed truck's read at the centre: %s", b)
		}
	}
}

// requireTools finds node, Chromium and playwright-core, or fails saying
// how to install them.
func requireTools(t *testing.T, root string) (node, chromium string) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node missing: apt-get install -y nodejs npm (then `make web-e2e-deps`)")
	}
	chromium = os.Getenv("KUZET_CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chromium); err != nil {
		t.Fatalf("%s missing: apt-get install -y chromium (or set KUZET_CHROMIUM)", chromium)
	}
	pw := filepath.Join(root, "web", "e2e", "node_modules", "playwright-core", "package.json")
	if _, err := os.Stat(pw); err != nil {
		t.Fatal("playwright-core missing in web/e2e/node_modules: run `make web-e2e-deps`")
	}
	return node, chromium
}

// kuzetBinary is $KUZET_BIN, or a build of ./cmd/node (testkit); a build
// needs the console's hls.js beside the sources.
func kuzetBinary(t *testing.T, root string) string {
	t.Helper()
	if os.Getenv("KUZET_BIN") == "" {
		if _, err := os.Stat(filepath.Join(root, "web", "static", HLSAsset)); err != nil {
			t.Fatal("web/static/vendor/hls.min.js missing: run `make web-deps` (the console needs it for video)")
		}
	}
	return testkit.Binary(t)
}

// freeTCP returns n port numbers as testkit.Ports chooses them.
func freeTCP(t *testing.T, n int) []string {
	t.Helper()
	var ports []string
	for _, a := range testkit.Ports(t, n) {
		_, p, _ := net.SplitHostPort(a)
		ports = append(ports, p)
	}
	return ports
}

// stopDemo interrupts the demo by its PID, as Ctrl-C would, and kills it
// if it does not stop.
func stopDemo(t *testing.T, p *os.Process, exited chan error) {
	_ = p.Signal(syscall.SIGINT)
	select {
	case <-exited:
	case <-time.After(20 * time.Second):
		t.Errorf("demo (pid %d) did not stop within 20 s of SIGINT; killing it", p.Pid)
		_ = p.Kill()
		<-exited
	}
}

// waitForDemo logs in at the centre and waits until a plate read of one
// of the demo's trucks has reached it; it returns that plate.
func waitForDemo(ctx context.Context, base string, exited chan error) (string, error) {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	deadline := time.Now().Add(150 * time.Second)
	loggedIn := false
	last := "nothing yet"
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			return "", fmt.Errorf("demo exited early: %v", err)
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(time.Second):
		}
		if !loggedIn {
			body, _ := json.Marshal(map[string]string{"user": "operator", "password": "kuzet-operator"})
			res, err := c.Post(base+"/api/v1/auth/login", "application/json", bytes.NewReader(body))
			if err != nil {
				last = "login: " + err.Error()
				continue
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				last = fmt.Sprintf("login: %d %s", res.StatusCode, b)
				continue
			}
			loggedIn = true
		}
		q := url.Values{"camera": {"demo-site/Camera1"}, "limit": {"100"}}
		res, err := c.Get(base + "/api/v1/plates?" + q.Encode())
		if err != nil {
			last = "plates: " + err.Error()
			continue
		}
		var hits []struct {
			Plate string `json:"plate"`
		}
		err = json.NewDecoder(res.Body).Decode(&hits)
		res.Body.Close()
		if err != nil {
			last = fmt.Sprintf("plates: %d: %v", res.StatusCode, err)
			continue
		}
		for _, h := range hits {
			if slices.Contains(demoPlates, h.Plate) {
				return h.Plate, nil
			}
		}
		last = fmt.Sprintf("%d reads, none of %v", len(hits), demoPlates)
	}
	return "", fmt.Errorf("no plate read of the demo's trucks reached the centre %s within 150 s (last: %s)", base, last)
}

func servesConsole(ctx context.Context, base string) bool {
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(res.Body, 1<<16))
	return res.StatusCode == http.StatusOK && strings.Contains(string(b), `name="kuzet-hls"`)
}

func status(ctx context.Context, u string) int {
	req, _ := http.NewRequestWithContext(ctx, "HEAD", u, nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	res.Body.Close()
	return res.StatusCode
}

func TestMain(m *testing.M) { testkit.Main(m) }
