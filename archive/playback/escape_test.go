package playback

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/kuzet/kuzet/media"
	"github.com/kuzet/kuzet/testcam"
)

// rawGet sends a request line exactly as given, without any client
// cleaning the path, and returns status and body.
func rawGet(t *testing.T, srvURL, target string) (int, []byte) {
	t.Helper()
	u, err := url.Parse(srvURL)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.DialTimeout("tcp", u.Host, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", target, u.Host)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("GET %s: %v", target, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}

// Nothing outside the archive root, and nothing inside it that is not a
// segment file, can be read through the file and media routes.
func testPathEscapes(t *testing.T, fx *fixture) {
	secret := []byte("SECRET-OUTSIDE-THE-ARCHIVE")
	outside := filepath.Join(fx.dir, "outside")
	if err := os.MkdirAll(outside, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"x.mp4", "secret.mp4"} {
		if err := os.WriteFile(filepath.Join(outside, n), secret, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	root := fx.arch.Root()
	links := map[string]string{
		filepath.Join(root, "Camera1", "outside.mp4"):     filepath.Join(outside, "secret.mp4"),
		filepath.Join(root, "Camera1", "relative.mp4"):    "../../outside/secret.mp4",
		filepath.Join(root, "Camera1", "inside-link.mp4"): fx.arch.Abs(fx.segs[0].Path),
		filepath.Join(root, "escape"):                     outside,
	}
	for link, target := range links {
		if err := os.Symlink(target, link); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(root, "dir.mp4"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for link := range links {
			os.Remove(link)
		}
		os.Remove(filepath.Join(root, "dir.mp4"))
	})

	p := "/api/v1/archive"
	cases := []struct {
		target string
		code   int
	}{
		{p + "/files/../index.db", 400},
		{p + "/files/Camera1/../../outside/secret.mp4", 400},
		{p + "/files/%2e%2e/%2e%2e/outside/secret.mp4", 400},
		{p + "/files/..%2f..%2foutside%2fsecret.mp4", 400},
		{p + "/files//etc/passwd", 400},
		{p + "/files/%2Fetc%2Fpasswd.mp4", 400},
		{p + "/files/./Camera1/x.mp4", 400},
		{p + "/files/index.db", 400},
		{p + "/files/Camera1%5C..%5C..%5Coutside%5Csecret.mp4", 400},
		{p + "/files/Camera1/outside.mp4", 404},
		{p + "/files/Camera1/relative.mp4", 404},
		{p + "/files/Camera1/inside-link.mp4", 404},
		{p + "/files/escape/x.mp4", 404},
		{p + "/files/escape/secret.mp4", 404},
		{p + "/files/dir.mp4", 404},
		{p + "/files/Camera1/nothing.mp4", 404},
		{p + "/media/0/../../outside/secret.mp4", 400},
		{p + "/media/0/escape/secret.mp4", 404},
		{p + "/media/0/Camera1/outside.mp4", 404},
		{p + "/cut/0/1/escape/secret.mp4", 404},
		{p + "/cut/0/1/%2e%2e/outside/secret.mp4", 400},
	}
	for _, c := range cases {
		code, body := rawGet(t, fx.srv.URL, c.target)
		var e struct{ Error, Param string }
		if code != c.code || bytes.Contains(body, secret) || json.Unmarshal(body, &e) != nil || e.Param != "path" {
			t.Errorf("%s: %d %s, want %d naming the path", c.target, code, body, c.code)
		}
	}
	// the real file is still served
	if code, body := rawGet(t, fx.srv.URL, p+"/files/"+fx.segs[0].Path); code != 200 || sha(body) != fx.segs[0].SHA256 {
		t.Errorf("segment file: %d", code)
	}
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func mustScan(t testing.TB, b []byte) *fileIndex {
	t.Helper()
	fi, err := scanFile(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("scan %d bytes: %v", len(b), err)
	}
	return fi
}

func demoClip() []byte { return testcam.DemoClip }

func demoTrack(c *testcam.Clip) media.Track {
	return media.Track{Codec: media.H264, SPS: c.SPS, PPS: c.PPS}
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// mustCounter finds kuzet_playback_requests_total{route, code}.
func mustCounter(t *testing.T, fx *fixture, route, code string) float64 {
	t.Helper()
	mfs, err := fx.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "kuzet_playback_requests_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			if label(m, "route") == route && label(m, "code") == code {
				return m.GetCounter().GetValue()
			}
		}
	}
	t.Fatalf("no kuzet_playback_requests_total{route=%q,code=%q}", route, code)
	return 0
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}
