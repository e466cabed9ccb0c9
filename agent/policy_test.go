package agent

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kuzet/kuzet/archive"
	"github.com/kuzet/kuzet/audit"
	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/internal/mediatest"
	"github.com/kuzet/kuzet/testcam"
)

// auditEntries are the node's audit entries of an action.
func auditEntries(t *testing.T, a *Agent, action string) []audit.Payload {
	t.Helper()
	evs, err := a.Events().Search(0, func(e event.Event) bool { return e.Kind == audit.Kind })
	if err != nil {
		t.Fatal(err)
	}
	var out []audit.Payload
	for _, e := range evs {
		var p audit.Payload
		if json.Unmarshal(e.Payload, &p) == nil && p.Action == action {
			out = append(out, p)
		}
	}
	return out
}

// waitAudit waits for an entry of action by user whose detail contains
// every word.
func waitAudit(t *testing.T, a *Agent, action, user string, words ...string) audit.Payload {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		for _, p := range auditEntries(t, a, action) {
			ok := p.User == user
			for _, w := range words {
				ok = ok && strings.Contains(p.Object+" "+p.Detail, w)
			}
			if ok {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s entry by %s with %q: %+v", action, user, words, auditEntries(t, a, action))
		}
	}
}

// rtspProbe runs ffprobe on an RTSP URL and returns its error output.
func rtspProbe(url string) (string, error) {
	out, err := exec.Command("ffprobe", "-v", "error", "-rtsp_transport", "tcp", "-select_streams", "v:0",
		"-show_entries", "stream=codec_name", "-of", "csv=p=0", url).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// Issue 14: with users configured, RTSP readers log in as one of them —
// nobody reads anonymously, the old shared credential no longer opens
// anything, wrong passwords are throttled like the API's, an account's
// address rules and http.allow hold — and each session is in the audit
// chain.
func TestLiveRTSPAccess(t *testing.T) {
	needFFmpeg(t)
	src, err := testcam.Start(testcam.Options{Listen: "127.0.0.1:0", DisableUDP: true})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	users := fmt.Sprintf(`
users:
  - {name: vera, role: viewer, password_hash: %q}
  - {name: ivan, role: viewer, password_hash: %q, allow: [10.0.0.0/8]}
`, cheapHash(t, "viewer-pass"), cheapHash(t, "remote-pass"))
	a, _ := startAgent(t, fmt.Sprintf(`
node: {id: site, data_dir: %s}
http: {listen: "127.0.0.1:0", login_throttle: {user_free: 3, base: 1m}}
cameras: [{id: Camera1, url: %q}]
rtsp: {listen: "127.0.0.1:0", user: shared, password: shared-pass}
`, t.TempDir(), src.URL("cam1"))+users)
	base := "rtsp://" + a.RTSPAddr() + "/Camera1"
	with := func(user, pw string) string { return "rtsp://" + user + ":" + pw + "@" + a.RTSPAddr() + "/Camera1" }
	var codec string
	for deadline := time.Now().Add(30 * time.Second); codec != "h264"; time.Sleep(300 * time.Millisecond) {
		out, err := rtspProbe(with("vera", "viewer-pass"))
		if err == nil {
			codec = out
		} else if !strings.Contains(out, "503") || time.Now().After(deadline) {
			t.Fatalf("viewer: %v %s", err, out)
		}
	}
	p := waitAudit(t, a, audit.ActionViewLive, "vera", "Camera1", "rtsp over TCP from ", "bytes sent")
	if p.Role != "viewer" || p.Source != "127.0.0.1" || p.Object != "Camera1" {
		t.Errorf("session entry %+v", p)
	}
	t.Logf("session entry: %s %s %s", p.User, p.Object, p.Detail)
	for _, c := range []struct{ what, url, want string }{
		{"anonymous", base, "401"},
		{"the shared rtsp.user", with("shared", "shared-pass"), "401"},
		{"a user outside its addresses", with("ivan", "remote-pass"), "401"},
		{"guess 1", with("vera", "guess-1"), "401"},
		{"guess 2", with("vera", "guess-2"), "401"},
		{"guess 3", with("vera", "guess-3"), "401"},
		{"guess 4, throttled", with("vera", "guess-4"), "429"},
		{"the right password, throttled", with("vera", "viewer-pass"), "429"},
	} {
		if out, err := rtspProbe(c.url); err == nil || !strings.Contains(out, c.want) {
			t.Errorf("%s: %v %q, want %s", c.what, err, out, c.want)
		}
	}
	waitAudit(t, a, audit.ActionLoginFailed, "vera", "rtsp: wrong password")
	waitAudit(t, a, audit.ActionLoginFailed, "vera", "rtsp: too many failed logins")
	waitAudit(t, a, audit.ActionLoginFailed, "ivan", "may not log in from 127.0.0.1")

	// http.allow binds RTSP readers too
	b, _ := startAgent(t, fmt.Sprintf(`
node: {id: site2, data_dir: %s}
http: {listen: "127.0.0.1:0", allow: [10.0.0.0/8]}
cameras: [{id: Camera1, url: %q}]
rtsp: {listen: "127.0.0.1:0"}
`, t.TempDir(), src.URL("cam1"))+users)
	if out, err := rtspProbe("rtsp://vera:viewer-pass@" + b.RTSPAddr() + "/Camera1"); err == nil || !strings.Contains(out, "403") {
		t.Errorf("outside http.allow: %v %q, want 403", err, out)
	}
}

// Issue 14: one policy for every way out of the archive — a viewer plays
// (HLS VOD through the links its playlist signs), an operator exports
// (files, media, cuts, MP4), and each export is an audit entry with who,
// what, the range and the bytes actually sent.
func TestArchiveAccessPolicy(t *testing.T) {
	ffmpeg := needFFmpeg(t)
	src, err := testcam.Start(testcam.Options{Listen: "127.0.0.1:0", DisableUDP: true})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	a, _ := startAgent(t, fmt.Sprintf(`
node: {id: site, data_dir: %s, time_zone: UTC}
http: {listen: "127.0.0.1:0"}
archive: {segment: 2s}
cameras: [{id: Camera1, url: %q}]
users:
  - {name: vera, role: viewer, password_hash: %q}
  - {name: olga, role: operator, password_hash: %q}
`, t.TempDir(), src.URL("cam1"), cheapHash(t, "viewer-pass"), cheapHash(t, "operator-pass")))
	httpBase := "http://" + a.HTTPAddr()
	viewer, operator := newClient(t, httpBase), newClient(t, httpBase)
	if viewer.login("vera", "viewer-pass") != 200 || operator.login("olga", "operator-pass") != 200 {
		t.Fatal("login")
	}
	var seg archive.Segment
	for deadline := time.Now().Add(45 * time.Second); seg.Path == ""; time.Sleep(200 * time.Millisecond) {
		segs, _ := a.Archive().Index().Segments("Camera1", time.Time{}, time.Time{})
		for _, s := range segs {
			if s.Duration() >= 1500*time.Millisecond && seg.Path == "" {
				seg = s // the first file may be cut short by the wall clock
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("nothing recorded")
		}
	}
	rng := url.Values{"camera": {"Camera1"}, "from": {seg.Start.Format(time.RFC3339Nano)},
		"to": {seg.End.Add(-300 * time.Millisecond).Format(time.RFC3339Nano)}}.Encode()
	span := seg.Duration() - 300*time.Millisecond
	playlist := "/api/v1/archive/play.m3u8?" + rng
	exp := "/api/v1/archive/export.mp4?" + rng
	file := "/api/v1/archive/files/" + seg.Path
	media := "/api/v1/archive/media/0/" + seg.Path
	cut := "/api/v1/archive/cut/0/1000/" + seg.Path

	// the viewer plays, and exports nothing
	code, pl := viewer.do("GET", playlist, "")
	if code != 200 || !strings.Contains(pl, "vod/") {
		t.Fatalf("viewer's playlist: %d %s", code, pl)
	}
	for _, p := range []string{file, media, cut, exp} {
		if code, body := viewer.do("GET", p, ""); code != 403 {
			t.Errorf("viewer GET %s: %d %.200s", p, code, body)
		}
	}
	m := regexp.MustCompile(`#EXT-X-BYTERANGE:(\d+)@(\d+)\n(vod/\S+)`).FindStringSubmatch(pl)
	if m == nil {
		t.Fatalf("no media in the playlist:\n%s", pl)
	}
	n, _ := strconv.Atoi(m[1])
	off, _ := strconv.Atoi(m[2])
	link := "/api/v1/archive/" + m[3]
	get := func(c *client, path, rng string) (int, []byte) {
		req, _ := http.NewRequest("GET", httpBase+path, nil)
		if rng != "" {
			req.Header.Set("Range", rng)
		}
		resp, err := c.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	listed := fmt.Sprintf("bytes=%d-%d", off, off+n-1)
	if code, b := get(viewer, link, listed); code != 206 || len(b) != n {
		t.Errorf("viewer's media link, listed range: %d, %d bytes", code, len(b))
	}
	if code, _ := get(viewer, link, ""); code != 416 {
		t.Errorf("viewer's media link, whole file: %d", code)
	}
	if code, _ := get(operator, link, listed); code != 404 {
		t.Errorf("viewer's media link used by the operator: %d", code)
	}
	// a real player: ffmpeg with the viewer's session plays the range
	cookie := ""
	u, _ := url.Parse(httpBase)
	for _, c := range viewer.http.Jar.Cookies(u) {
		cookie += c.Name + "=" + c.Value
	}
	out := filepath.Join(t.TempDir(), "played.mp4")
	if b, err := exec.Command(ffmpeg, "-v", "error", "-y", "-headers", "Cookie: "+cookie+"\r\n",
		"-i", httpBase+playlist, "-c", "copy", out).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg playing as the viewer: %v\n%s", err, b)
	}
	if p := mediatest.Probe(t, out); p.Codec != "h264" || p.Duration < span.Seconds()-0.1 {
		t.Errorf("played %+v of a %v range", p, span)
	}
	waitAudit(t, a, audit.ActionPlayArchive, "vera", "Camera1 ")
	if n := len(auditEntries(t, a, audit.ActionDownloadArchive)) + len(auditEntries(t, a, audit.ActionExportArchive)); n != 0 {
		t.Errorf("%d exports recorded for the viewer's playback", n)
	}

	// the operator exports; each one is recorded with the bytes sent
	if code, b := get(operator, file, "bytes=0-99"); code != 206 || len(b) != 100 {
		t.Errorf("operator's ranged download: %d, %d bytes", code, len(b))
	}
	code, whole := get(operator, file, "")
	if code != 200 || int64(len(whole)) != seg.Bytes {
		t.Errorf("operator's download: %d, %d bytes of %d", code, len(whole), seg.Bytes)
	}
	code, mp4 := get(operator, exp, "")
	if code != 200 || len(mp4) == 0 {
		t.Fatalf("operator's export: %d", code)
	}
	if code, _ := get(operator, media, "bytes=0-9"); code != 206 {
		t.Errorf("operator's media: %d", code)
	}
	r := waitAudit(t, a, audit.ActionDownloadArchive, "olga", seg.Path, "Range bytes=0-99: 206", "100 bytes sent of 100")
	if r.Role != "operator" || r.Source != "127.0.0.1" {
		t.Errorf("download entry %+v", r)
	}
	waitAudit(t, a, audit.ActionDownloadArchive, "olga", seg.Path, fmt.Sprintf("GET: 200, %d bytes sent of %d", seg.Bytes, seg.Bytes))
	waitAudit(t, a, audit.ActionDownloadArchive, "olga", seg.Path+" shift 0", "Range bytes=0-9: 206")
	e := waitAudit(t, a, audit.ActionExportArchive, "olga", "Camera1 "+seg.Start.Format(time.RFC3339Nano),
		fmt.Sprintf("%d bytes sent of %d", len(mp4), len(mp4)), "video ")
	t.Logf("export entry: %s | %s", e.Object, e.Detail)
}
