package plugin

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/media"
	"github.com/kuzet/kuzet/testcam"
)

// The test binary is also the plugin the manager starts: KUZET_TEST_PLUGIN
// says how it behaves.
func TestMain(m *testing.M) {
	switch os.Getenv("KUZET_TEST_PLUGIN") {
	case "":
		os.Exit(m.Run())
	case "idle": // waits to be stopped; the test speaks for it
		fmt.Fprintln(os.Stderr, "idle plugin up on", os.Getenv("KUZET_PLUGIN_SOCKET"))
		time.Sleep(24 * time.Hour)
	case "crash":
		fmt.Fprintln(os.Stderr, "cannot open my model file")
		os.Exit(3)
	case "hog": // takes more memory than its limit
		var keep [][]byte
		for range 1000 {
			b := make([]byte, 1<<20)
			for i := range b {
				b[i] = 1
			}
			keep = append(keep, b)
		}
		fmt.Fprintln(os.Stderr, "took", len(keep), "MiB")
		time.Sleep(24 * time.Hour)
	}
	os.Exit(2)
}

// rig is a node's event log and the plugins' manager over it.
type rig struct {
	m    *Manager
	log  *event.Log
	dir  string
	src  *clipSource
	stop func()
}

func newRig(t *testing.T, mode string, specs []Spec, tweak func(*Options)) *rig {
	t.Helper()
	dir := t.TempDir()
	l, err := event.OpenLog(filepath.Join(dir, "events.db"), "site", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for i := range specs {
		if specs[i].Command == "" && !specs[i].Remote {
			specs[i].Command = self
			specs[i].Env = append(specs[i].Env, "KUZET_TEST_PLUGIN="+mode)
		}
	}
	src := newClipSource(t)
	// sockets live in a short directory: a Unix socket path has ~100 bytes
	sockDir, err := os.MkdirTemp("", "kzp")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(sockDir) })
	o := Options{Specs: specs, Node: "site", Dir: sockDir, SnapshotDir: filepath.Join(dir, "snapshots"), Log: l,
		Frames: src.subscribe, Backoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond, Hold: 10 * time.Millisecond}
	if tweak != nil {
		tweak(&o)
	}
	m, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		m.Run(ctx)
		close(done)
	}()
	r := &rig{m: m, log: l, dir: dir, src: src, stop: func() { cancel(); <-done }}
	t.Cleanup(r.stop)
	return r
}

// client speaks to one plugin's socket, as the plugin would.
func (r *rig) client(name string) *http.Client {
	sock := filepath.Join(r.m.o.Dir, name+".sock")
	return &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", sock)
	}}}
}

func (r *rig) waitSocket(t *testing.T, name string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := r.client(name).Get("http://plugin/v1/hello")
		if err == nil {
			resp.Body.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("plugin %s's socket: %v", name, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// post sends a JSON body and returns the status and the answer.
func (r *rig) post(t *testing.T, name string, body any) (int, string) {
	t.Helper()
	b, _ := json.Marshal(body)
	resp, err := r.client(name).Post("http://plugin/v1/events", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
}

func (r *rig) kinds(t *testing.T, prefix string) []event.Event {
	t.Helper()
	evs, err := r.log.Search(0, func(e event.Event) bool { return strings.HasPrefix(e.Kind, prefix) })
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func (r *rig) status(name string) Status {
	for _, s := range r.m.Status() {
		if s.Name == name {
			return s
		}
	}
	return Status{}
}

// clipSource plays the demo clip at 25 fps as Camera1's running stream,
// counting the units it hands out: a plugin must never slow it down.
type clipSource struct {
	clip   *testcam.Clip
	served atomic.Int64
}

func newClipSource(t *testing.T) *clipSource {
	c, err := testcam.ParseAnnexB(testcam.DemoClip)
	if err != nil {
		t.Fatal(err)
	}
	return &clipSource{clip: c}
}

func (s *clipSource) subscribe(camera string) (Units, error) {
	if camera != "Camera1" {
		return nil, fmt.Errorf("camera %s has no running session", camera)
	}
	return &clipUnits{s: s, start: time.Now()}, nil
}

type clipUnits struct {
	s     *clipSource
	n     int
	start time.Time
}

func (u *clipUnits) Track() media.Track {
	return media.Track{Codec: media.H264, SPS: u.s.clip.SPS, PPS: u.s.clip.PPS}
}

func (u *clipUnits) Next(ctx context.Context) (*media.Unit, error) {
	at := u.start.Add(time.Duration(u.n) * 40 * time.Millisecond)
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(time.Until(at)):
	}
	fr := u.s.clip.Frames[u.n%len(u.s.clip.Frames)]
	un := &media.Unit{NALUs: fr.NALUs, PTS: int64(u.n) * 3600, Time: at}
	u.n++
	u.s.served.Add(1)
	return un, nil
}

func (u *clipUnits) Close() error { return nil }

// frameReader reads a /v1/frames stream.
type frameReader struct {
	body io.ReadCloser
	br   *bufio.Reader
}

func (r *rig) frames(t *testing.T, name, camera string) (*frameReader, int) {
	t.Helper()
	resp, err := r.client(name).Get("http://plugin/v1/frames?camera=" + camera)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, resp.StatusCode
	}
	return &frameReader{body: resp.Body, br: bufio.NewReader(resp.Body)}, 200
}

func (f *frameReader) next(t *testing.T) (FrameHeader, []byte) {
	t.Helper()
	line, err := f.br.ReadBytes('\n')
	if err != nil {
		t.Fatalf("frame header: %v", err)
	}
	var h FrameHeader
	if err := json.Unmarshal(line, &h); err != nil {
		t.Fatalf("frame header %q: %v", line, err)
	}
	pix := make([]byte, h.Bytes)
	if _, err := io.ReadFull(f.br, pix); err != nil {
		t.Fatalf("frame pixels: %v", err)
	}
	return h, pix
}

// countBoth reads two frame streams at once for d, each as fast as it
// comes, and counts their frames.
func countBoth(t *testing.T, a, b *frameReader, d time.Duration) (na, nb int) {
	t.Helper()
	count := func(f *frameReader, n *int, done chan<- struct{}) {
		defer close(done)
		for end := time.Now().Add(d); time.Now().Before(end); {
			f.next(t)
			*n++
		}
	}
	da, db := make(chan struct{}), make(chan struct{})
	go count(a, &na, da)
	go count(b, &nb, db)
	<-da
	<-db
	return na, nb
}
