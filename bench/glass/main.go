// Command glass measures glass-to-glass delay in Chromium: a `kuzet demo`
// (synthetic camera, site, centre relaying the site over QUIC) is played
// by the console's own players over WebRTC and over LL-HLS (hls.js) side
// by side, at the site and at the centre, and every frame shown is
// compared with the wall clock it carries from the site
// (web/e2e/glass.mjs). It prints figures, and WebRTC's delay as a ratio of
// HLS's measured in the same run; not verdicts.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

type side struct {
	Transport  string  `json:"transport"`
	Why        string  `json:"why"`
	Frames     int     `json:"frames"`
	FirstFrame float64 `json:"first_frame_s"`
	P50        float64 `json:"p50"`
	P95        float64 `json:"p95"`
	Max        float64 `json:"max"`
}

type line struct {
	Node   string `json:"node"`
	Camera string `json:"camera"`
	WebRTC side   `json:"webrtc"`
	HLS    side   `json:"hls"`
}

func main() {
	kuzet := flag.String("kuzet", "bin/kuzet", "the kuzet binary")
	seconds := flag.Int("seconds", 20, "measuring window per node, after a 4 s warm-up")
	models := flag.String("models", ".cache/anpr", "plate models for the demo")
	chromium := flag.String("chromium", "/usr/bin/chromium", "Chromium")
	flag.Parse()
	if err := run(*kuzet, *models, *chromium, *seconds); err != nil {
		fmt.Fprintln(os.Stderr, "glass:", err)
		os.Exit(1)
	}
}

func run(kuzet, models, chromium string, seconds int) error {
	for _, need := range []struct{ path, fix string }{
		{kuzet, "make build"}, {chromium, "apt-get install -y chromium"},
		{"web/e2e/node_modules/playwright-core", "make web-e2e-deps"},
	} {
		if _, err := os.Stat(need.path); err != nil {
			return fmt.Errorf("%s missing: run `%s`", need.path, need.fix)
		}
	}
	if _, err := exec.LookPath("node"); err != nil {
		return errors.New("node missing: run `apt-get install -y nodejs`")
	}
	dir, err := os.MkdirTemp("", "kuzet-glass-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	site, centre := freeTCP(), freeTCP()
	cmd := exec.Command(kuzet, "demo", "--dir", filepath.Join(dir, "demo"), "--http", site, "--centre-http", centre,
		"--federation", freeUDP(), "--rtsp", freeTCP(), "--webrtc", "127.0.0.1:0", "--centre-webrtc", "127.0.0.1:0",
		"--segment", "10s", "--models", models)
	logf, err := os.Create(filepath.Join(dir, "demo.log"))
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		_, _ = cmd.Process.Wait()
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	// the site streams and the centre relays: both play Camera1's playlist
	for _, u := range []string{"http://" + site, "http://" + centre} {
		if err := waitLive(ctx, u); err != nil {
			b, _ := os.ReadFile(filepath.Join(dir, "demo.log"))
			return fmt.Errorf("%s: %v\ndemo log tail:\n%s", u, err, tail(b, 3000))
		}
	}
	fmt.Printf("glass-to-glass in Chromium (%s), %d s per node after 4 s of warm-up; frame clock = when the site received the frame\n",
		chromium, seconds)
	node := exec.CommandContext(ctx, "node", "glass.mjs")
	node.Dir = "web/e2e"
	node.Env = append(os.Environ(), "KUZET_CHROMIUM="+chromium, fmt.Sprintf("KUZET_GLASS_SECONDS=%d", seconds),
		"KUZET_GLASS_URLS=site=http://"+site+" centre=http://"+centre,
		"KUZET_GLASS_CAMERAS=site=Camera1 centre=demo-site/Camera1")
	node.Stderr = os.Stderr
	out, err := node.StdoutPipe()
	if err != nil {
		return err
	}
	if err := node.Start(); err != nil {
		return err
	}
	fmt.Printf("%-7s %-9s %7s %9s %9s %9s %12s\n", "node", "player", "frames", "p50", "p95", "max", "first frame")
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		var l line
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			fmt.Println(sc.Text())
			continue
		}
		for _, s := range []struct {
			name string
			v    side
		}{{"WebRTC", l.WebRTC}, {"hls.js", l.HLS}} {
			name := s.name
			if s.name == "WebRTC" && s.v.Transport != "webrtc" {
				name = "WebRTC→HLS (" + s.v.Why + ")"
			}
			fmt.Printf("%-7s %-9s %7d %8.3fs %8.3fs %8.3fs %11.2fs\n", l.Node, name, s.v.Frames, s.v.P50, s.v.P95, s.v.Max, s.v.FirstFrame)
		}
		if l.HLS.P50 > 0 {
			fmt.Printf("%-7s WebRTC/hls.js median delay: %.2f\n", l.Node, l.WebRTC.P50/l.HLS.P50)
		}
	}
	return node.Wait()
}

// waitLive logs in as the demo's viewer and waits for Camera1's live
// playlist (the centre: the relayed one).
func waitLive(ctx context.Context, base string) error {
	c := &http.Client{Timeout: 15 * time.Second}
	var cookie string
	last := "nothing yet"
	for {
		select {
		case <-ctx.Done():
			return fmt.Errorf("not live after 3 min: %s", last)
		case <-time.After(time.Second):
		}
		if cookie == "" {
			res, err := c.Post(base+"/api/v1/auth/login", "application/json",
				bytes.NewReader([]byte(`{"user":"viewer","password":"kuzet-viewer"}`)))
			if err != nil {
				last = err.Error()
				continue
			}
			res.Body.Close()
			for _, ck := range res.Cookies() {
				cookie = ck.Name + "=" + ck.Value
			}
			continue
		}
		path := "/live/Camera1/index.m3u8"
		if !isSite(ctx, c, base, cookie) {
			path = "/live/demo-site/Camera1/index.m3u8"
		}
		req, _ := http.NewRequestWithContext(ctx, "GET", base+path, nil)
		req.Header.Set("Cookie", cookie)
		res, err := c.Do(req)
		if err != nil {
			last = err.Error()
			continue
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode == 200 {
			return nil
		}
		last = fmt.Sprintf("%s: %d %s", path, res.StatusCode, b)
	}
}

// isSite tells the site from the centre by the node's ID.
func isSite(ctx context.Context, c *http.Client, base, cookie string) bool {
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/api/v1/node", nil)
	req.Header.Set("Cookie", cookie)
	res, err := c.Do(req)
	if err != nil {
		return false
	}
	defer res.Body.Close()
	var n struct {
		ID string `json:"id"`
	}
	_ = json.NewDecoder(res.Body).Decode(&n)
	return n.ID == "demo-site"
}

func freeTCP() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func freeUDP() string {
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer c.Close()
	return c.LocalAddr().String()
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
