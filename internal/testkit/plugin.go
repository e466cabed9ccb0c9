package testkit

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

// MisbehavingPlugin is a test or bench program run as an analytics plugin
// (docs/plugins.md) that does one thing wrong, by mode: crash (exits at
// once), noread (holds a frame stream of each granted camera and reads
// nothing), flood (posts events as fast as it can), garbled (posts
// malformed events). It returns the exit status.
func MisbehavingPlugin(mode string) int {
	sock := os.Getenv("KUZET_PLUGIN_SOCKET")
	c := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", sock)
	}}}
	post := func(body string) {
		if resp, err := c.Post("http://plugin/v1/events", "application/json", strings.NewReader(body)); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}
	switch mode {
	case "crash":
		fmt.Fprintln(os.Stderr, "Error: cannot load the model")
		return 3
	case "noread":
		var hello struct{ Cameras []string }
		if resp, err := c.Get("http://plugin/v1/hello"); err == nil {
			_ = json.NewDecoder(resp.Body).Decode(&hello)
			resp.Body.Close()
		}
		for _, cam := range hello.Cameras {
			// until the camera streams; then held open, never read
			for {
				resp, err := c.Get("http://plugin/v1/frames?camera=" + cam)
				if err == nil && resp.StatusCode == http.StatusOK {
					defer resp.Body.Close()
					break
				}
				if err == nil {
					resp.Body.Close()
				}
				time.Sleep(200 * time.Millisecond)
			}
		}
		time.Sleep(time.Hour)
	case "flood":
		for {
			post(`{"kind": "spam"}`)
		}
	case "garbled":
		for {
			post(`{"kind": "NOT A KIND", "boxes": [{"x": 9}]}`)
			time.Sleep(50 * time.Millisecond)
		}
	}
	return 2
}
