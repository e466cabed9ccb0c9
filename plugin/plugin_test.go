package plugin

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"image"
	"image/jpeg"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/internal/testkit"
	"github.com/kuzet/kuzet/plates"
)

func idle(name string, cameras ...string) Spec {
	return Spec{Name: name, Cameras: cameras, Events: []string{plates.KindPlateRead},
		Frames: FrameSpec{FPS: 5, Width: 160, Height: 90}}
}

// The protocol as a plugin meets it: what it may do, events it posts
// stored under its own name whichever name it claims, the events and
// frames it is granted and nothing else.
func TestProtocol(t *testing.T) {
	r := newRig(t, "idle", []Spec{idle("colors", "Camera1"), idle("other")}, nil)
	r.waitSocket(t, "colors")
	r.waitSocket(t, "other")

	var h Hello
	resp, err := r.client("colors").Get("http://plugin/v1/hello")
	if err != nil {
		t.Fatal(err)
	}
	_ = json.NewDecoder(resp.Body).Decode(&h)
	resp.Body.Close()
	if h.Protocol != 1 || h.Name != "colors" || h.Node != "site" || len(h.Cameras) != 1 || h.Frames.Width != 160 || h.Frames.Format != "gray" {
		t.Fatalf("hello %+v", h)
	}

	// posted events are the plugin's, named by its socket
	if code, body := r.post(t, "colors", map[string]any{"kind": "color_change", "camera": "Camera1", "message": "red",
		"boxes": []map[string]any{{"x": 0.1, "y": 0.1, "w": 0.5, "h": 0.5, "label": "fire", "score": 0.9}}, "data": map[string]any{"to": []int{255, 0, 0}}}); code != 202 {
		t.Fatalf("post: %d %s", code, body)
	}
	if code, body := r.post(t, "other", map[string]any{"kind": "color_change"}); code != 202 || !strings.Contains(body, "plugin.other.color_change") {
		t.Fatalf("post by other: %d %s", code, body)
	}
	evs := r.kinds(t, "plugin.")
	if len(evs) != 2 || evs[1].Kind != "plugin.colors.color_change" || evs[1].Camera != "Camera1" || evs[0].Kind != "plugin.other.color_change" {
		t.Fatalf("stored %+v", evs)
	}
	var p Payload
	_ = json.Unmarshal(evs[1].Payload, &p)
	if p.Plugin != "colors" || p.Message != "red" || len(p.Boxes) != 1 || !strings.Contains(string(p.Data), "255") {
		t.Fatalf("payload %+v", p)
	}
	// bad posts are refused naming the field, and stored nowhere
	for body, field := range map[string]string{
		`{"kind": "Color Change"}`:                      "kind",
		`{"kind": "x", "camera": "Camera2"}`:            "camera",
		`{"kind": "x", "severity": "apocalyptic"}`:      "severity",
		`{"kind": "x", "boxes": [{"x": 2}]}`:            "boxes[0]",
		`{"kind": "x", "time": "2099-01-01T00:00:00Z"}`: "time",
		`{"kind": "x", "origin": "centre"}`:             "origin",
		`{"kind": `:                                     "body",
	} {
		resp, err := r.client("colors").Post("http://plugin/v1/events", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		var e struct{ Error string }
		_ = json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		if resp.StatusCode != 400 || !strings.Contains(e.Error, field) {
			t.Errorf("%s: %d %q, want 400 naming %s", body, resp.StatusCode, e.Error, field)
		}
	}
	if n := len(r.kinds(t, "plugin.")); n != 2 {
		t.Fatalf("%d plugin events after the refused ones", n)
	}

	// a medium event raises an alarm with its snapshot, kept where alarm
	// frames are
	var jb bytes.Buffer
	_ = jpeg.Encode(&jb, image.NewGray(image.Rect(0, 0, 32, 18)), nil)
	if code, body := r.post(t, "colors", map[string]any{"kind": "fire", "camera": "Camera1", "severity": "medium",
		"message": "smoke at the gate", "snapshot": base64.StdEncoding.EncodeToString(jb.Bytes())}); code != 202 {
		t.Fatalf("post with a snapshot: %d %s", code, body)
	}
	alarms := r.kinds(t, event.KindAlarmRaised)
	if len(alarms) != 1 {
		t.Fatalf("alarms %+v", alarms)
	}
	_ = json.Unmarshal(alarms[0].Payload, &p)
	if p.Type != "plugin.colors.fire" || p.Key != "plugin.colors.fire:Camera1" || p.Snapshot == "" {
		t.Fatalf("alarm %+v", p)
	}
	if b, err := os.ReadFile(filepath.Join(r.dir, "snapshots", filepath.FromSlash(p.Snapshot))); err != nil || !bytes.Equal(b, jb.Bytes()) {
		t.Fatalf("snapshot file: %v", err)
	}
	if code, _ := r.post(t, "colors", map[string]any{"kind": "fire", "camera": "Camera1", "snapshot": base64.StdEncoding.EncodeToString([]byte("GIF89a"))}); code != 413 {
		t.Fatalf("a snapshot that is no JPEG: %d", code)
	}
	// a small file claiming a huge picture, and a JPEG cut after its start
	bomb := bytes.Clone(jb.Bytes())
	if i := bytes.Index(bomb, []byte{0xff, 0xc0}); i > 0 { // the frame header: height and width at +5 and +7
		bomb[i+5], bomb[i+6], bomb[i+7], bomb[i+8] = 0xea, 0x60, 0xea, 0x60 // 60000 x 60000
	} else {
		t.Fatal("no frame header in the encoded JPEG")
	}
	for name, b := range map[string][]byte{"60000x60000": bomb, "cut": jb.Bytes()[:12]} {
		code, body := r.post(t, "colors", map[string]any{"kind": "fire", "camera": "Camera1", "snapshot": base64.StdEncoding.EncodeToString(b)})
		if code != 413 || !strings.Contains(body, "snapshot") {
			t.Fatalf("a %s snapshot: %d %s", name, code, body)
		}
	}

	// events of the kinds granted, as they are stored
	resp, err = r.client("colors").Get("http://plugin/v1/events?kinds=" + plates.KindPlateRead)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("events: %v %v", resp.StatusCode, err)
	}
	go func() {
		time.Sleep(200 * time.Millisecond)
		_, _ = r.log.Append(event.New(plates.KindPlateRead, "Camera1", "", map[string]any{"plate": "777KZ02"}))
	}()
	dec := json.NewDecoder(resp.Body)
	var got event.Event
	if err := dec.Decode(&got); err != nil || got.Kind != plates.KindPlateRead || !strings.Contains(string(got.Payload), "777KZ02") {
		t.Fatalf("streamed %+v %v", got, err)
	}
	resp.Body.Close()
	resp, _ = r.client("colors").Get("http://plugin/v1/events?kinds=" + event.KindAlarmRaised)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("events not granted: %d", resp.StatusCode)
	}

	// frames of a granted camera, scaled, gray
	fr, code := r.frames(t, "colors", "Camera1")
	if code != 200 {
		t.Fatalf("frames: %d", code)
	}
	for i := 1; i <= 3; i++ {
		h, pix := fr.next(t)
		if h.Camera != "Camera1" || h.Width != 160 || h.Height != 90 || h.Format != "gray" || len(pix) != 160*90 || h.Seq != uint64(i) {
			t.Fatalf("frame %d: %+v (%d bytes)", i, h, len(pix))
		}
	}
	fr.body.Close()
	if _, code := r.frames(t, "colors", "Camera2"); code != http.StatusForbidden {
		t.Fatalf("frames of a camera not granted: %d", code)
	}
	if _, code := r.frames(t, "other", "Camera1"); code != http.StatusForbidden {
		t.Fatalf("frames for a plugin granted no camera: %d", code)
	}
}

// A plugin that does not read its frames loses them, counted; the
// camera's stream goes on at its own pace; one that reads nothing for the
// stall time raises plugin_stalled, cleared when it reads again.
func TestSlowPluginLosesFramesNotIngest(t *testing.T) {
	spec := idle("slow", "Camera1")
	spec.Frames.FPS = 10
	r := newRig(t, "idle", []Spec{spec}, func(o *Options) { o.Stall = time.Second })
	r.waitSocket(t, "slow")
	fr, code := r.frames(t, "slow", "Camera1")
	if code != 200 {
		t.Fatalf("frames: %d", code)
	}
	defer fr.body.Close()
	h, _ := fr.next(t)
	before := r.src.served.Load()
	time.Sleep(3 * time.Second) // not reading
	served := r.src.served.Load() - before
	h, _ = fr.next(t)
	for h.Dropped == 0 {
		h, _ = fr.next(t)
	}
	if served < 60 { // 25 fps for 3 s
		t.Fatalf("the stream gave %d units in 3 s while the plugin did not read", served)
	}
	st := r.status("slow")
	if st.FramesDropped == 0 || h.Dropped == 0 {
		t.Fatalf("dropped: header %d, status %+v", h.Dropped, st)
	}
	alarms := func(kind string) []event.Alarm {
		var out []event.Alarm
		for _, e := range r.kinds(t, kind) {
			var a event.Alarm
			_ = json.Unmarshal(e.Payload, &a)
			out = append(out, a)
		}
		return out
	}
	if a := alarms(event.KindAlarmRaised); len(a) != 1 || a[0].Key != "plugin_stalled:slow:Camera1" || !strings.Contains(a[0].Message, "has not read a frame") {
		t.Fatalf("alarms after 3 s unread: %+v", a)
	}
	for range 20 {
		fr.next(t)
	}
	testkit.WaitFor(t, 5*time.Second, "plugin_stalled cleared", func() bool { return len(alarms(event.KindAlarmCleared)) == 1 })
	t.Logf("3 s unread: %d units went on to the stream, %d frames dropped for the plugin", served, h.Dropped)
}

// Over its event rate, a plugin's posts are refused and one alarm names
// it; ten malformed posts in a minute do the same for another.
func TestMisbehavingPlugins(t *testing.T) {
	flood := idle("flood")
	flood.Limits.EventsPerMinute = 10
	r := newRig(t, "idle", []Spec{flood, idle("garbled")}, nil)
	r.waitSocket(t, "flood")
	r.waitSocket(t, "garbled")
	codes := map[int]int{}
	for range 30 {
		code, _ := r.post(t, "flood", map[string]any{"kind": "spam"})
		codes[code]++
	}
	if codes[202] != 10 || codes[429] != 20 {
		t.Fatalf("flood answered %v", codes)
	}
	for range 12 {
		if code, _ := r.post(t, "garbled", map[string]any{"kind": "NOT A KIND"}); code != 400 {
			t.Fatalf("malformed: %d", code)
		}
	}
	alarms := r.kinds(t, event.KindAlarmRaised)
	var keys []string
	for _, a := range alarms {
		var al event.Alarm
		_ = json.Unmarshal(a.Payload, &al)
		keys = append(keys, al.Key)
	}
	if len(alarms) != 2 || !strings.Contains(strings.Join(keys, " "), "plugin_misbehaving:flood") || !strings.Contains(strings.Join(keys, " "), "plugin_misbehaving:garbled") {
		t.Fatalf("alarms %v", keys)
	}
	if st := r.status("flood"); st.EventsStored != 10 || st.EventsRefused != 20 {
		t.Fatalf("flood status %+v", st)
	}
}

// A plugin that dies at once is started again with backoff, and after
// enough exits one alarm names it with its last words.
func TestCrashLoopRaisesAlarm(t *testing.T) {
	r := newRig(t, "crash", []Spec{idle("crashy")}, func(o *Options) { o.FailAfter = 3 })
	testkit.WaitFor(t, 20*time.Second, "plugin_failed", func() bool { return len(r.kinds(t, event.KindAlarmRaised)) > 0 })
	a := r.kinds(t, event.KindAlarmRaised)
	var al event.Alarm
	_ = json.Unmarshal(a[0].Payload, &al)
	if len(a) != 1 || al.Key != "plugin_failed:crashy" || !strings.Contains(al.Message, "cannot open my model file") {
		t.Fatalf("alarm %+v", al)
	}
	if st := r.status("crashy"); st.Restarts < 3 || st.State != "failed" {
		t.Fatalf("status %+v", st)
	}
}

// A plugin that takes more memory than its limit dies, and is restarted.
func TestMemoryLimit(t *testing.T) {
	spec := idle("hog")
	spec.Limits.MemoryMB = 256
	r := newRig(t, "hog", []Spec{spec}, nil)
	testkit.WaitFor(t, 30*time.Second, "the hog restarted", func() bool { return r.status("hog").Restarts >= 2 })
	st := r.status("hog")
	// the Go runtime says so; built with -race, the thread sanitizer does
	if out := strings.Join(st.Stderr, "\n"); !strings.Contains(out, "out of memory") && !strings.Contains(out, "failed to allocate") {
		t.Fatalf("the hog's last words: %q", st.Stderr)
	}
}

// Two plugins on one camera at one frame size share a decoder, each at
// its own rate; another size has its own; the last stream to go stops it.
func TestPluginsShareADecoder(t *testing.T) {
	a, b, c := idle("a", "Camera1"), idle("b", "Camera1"), idle("c", "Camera1")
	b.Frames.FPS = 10
	c.Frames.Width, c.Frames.Height = 320, 180
	r := newRig(t, "idle", []Spec{a, b, c}, nil)
	for _, n := range []string{"a", "b", "c"} {
		r.waitSocket(t, n)
	}
	fa, _ := r.frames(t, "a", "Camera1")
	fb, _ := r.frames(t, "b", "Camera1")
	// both read for 3 s, each at its own pace
	na, nb := countBoth(t, fa, fb, 3*time.Second)
	if got := r.m.dec.started.Load(); got != 1 {
		t.Fatalf("%d decoders for two plugins on one camera at one size", got)
	}
	fc, _ := r.frames(t, "c", "Camera1")
	if h, _ := fc.next(t); h.Width != 320 || r.m.dec.started.Load() != 2 {
		t.Fatalf("another size: %+v, %d decoders", h, r.m.dec.started.Load())
	}
	if na < 10 || float64(nb) < 1.3*float64(na) {
		t.Fatalf("in 3 s plugin a (5 fps) took %d frames, b (10 fps) %d", na, nb)
	}
	t.Logf("in 3 s from one decoder: a (5 fps) %d frames, b (10 fps) %d", na, nb)
	for _, f := range []*frameReader{fa, fb, fc} {
		f.body.Close()
	}
	testkit.WaitFor(t, 5*time.Second, "the decoders stopped", func() bool {
		r.m.dec.mu.Lock()
		defer r.m.dec.mu.Unlock()
		return len(r.m.dec.shared) == 0
	})
}

// An operator's restart stops the process and starts it again at once,
// without counting an exit; one restarting with a long backoff is started
// without waiting it out.
func TestOperatorRestart(t *testing.T) {
	specs := []Spec{idle("steady"), {Name: "dying", Command: "/bin/false"}}
	r := newRig(t, "idle", specs, func(o *Options) { o.Backoff, o.MaxBackoff = time.Hour, time.Hour })
	testkit.WaitFor(t, 10*time.Second, "steady running", func() bool { return r.status("steady").PID != 0 })
	first := r.status("steady").PID
	if err := r.m.Restart("steady"); err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, 10*time.Second, "steady running again", func() bool {
		st := r.status("steady")
		return st.PID != 0 && st.PID != first && st.State == "running"
	})
	if err := syscall.Kill(first, 0); err == nil {
		t.Fatalf("the first process %d still runs", first)
	}
	if st := r.status("steady"); st.Restarts != 1 {
		t.Fatalf("status after a restart %+v", st)
	}
	// dying waits an hour after its exit; a restart cuts it short
	testkit.WaitFor(t, 10*time.Second, "dying waiting its backoff", func() bool { return r.status("dying").State == "restarting" })
	if err := r.m.Restart("dying"); err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, 10*time.Second, "dying started again", func() bool { return r.status("dying").Restarts >= 2 })
	if err := r.m.Restart("nobody"); !errors.Is(err, ErrNoPlugin) {
		t.Fatalf("restart of an unknown plugin: %v", err)
	}
	if a := r.kinds(t, event.KindAlarmRaised); len(a) != 0 {
		t.Fatalf("alarms after restarts: %d", len(a))
	}
}

// A plugin may ask for keyframes only, or one frame in N: each is its
// own decoder, and takes that share of the camera's frames whatever
// rate it is allowed.
func TestKeyframesAndEveryNth(t *testing.T) {
	k, e := idle("keys", "Camera1"), idle("fifth", "Camera1")
	k.Frames.FPS, k.Frames.Keyframes = 30, true
	e.Frames.FPS, e.Frames.Every = 30, 5
	r := newRig(t, "idle", []Spec{k, e}, nil)
	r.waitSocket(t, "keys")
	r.waitSocket(t, "fifth")
	fk, _ := r.frames(t, "keys", "Camera1")
	fe, _ := r.frames(t, "fifth", "Camera1")
	defer fk.body.Close()
	defer fe.body.Close()
	nk, ne := countBoth(t, fk, fe, 4*time.Second)
	if got := r.m.dec.started.Load(); got != 2 {
		t.Fatalf("%d decoders for keyframes and one in five", got)
	}
	// the clip runs at 25 fps: one in five is 5 a second; keyframes far fewer
	if ne < 12 || ne > 28 || nk < 1 || nk*3 > ne {
		t.Fatalf("in 4 s: keyframes %d frames, one in five %d", nk, ne)
	}
	t.Logf("in 4 s: keyframes only %d frames, one in five %d", nk, ne)
	for _, bad := range []FrameSpec{{Keyframes: true, Every: 2}, {Every: -1}, {Every: 251}} {
		s := idle("x")
		s.Command, s.Frames.Keyframes, s.Frames.Every = "/bin/true", bad.Keyframes, bad.Every
		s.Defaults()
		if err := s.Check(); err == nil || !strings.Contains(err.Error(), "frames.") {
			t.Errorf("%+v: %v", bad, err)
		}
	}
}

// A plugin holds a bounded number of streams and connections: past them
// it is refused (streams) or kept waiting in the backlog (connections),
// and the node's descriptors do not grow with what it opens.
func TestPluginStreamAndConnectionLimits(t *testing.T) {
	r := newRig(t, "idle", []Spec{idle("greedy", "Camera1")}, nil)
	r.waitSocket(t, "greedy")
	var held []*frameReader
	for i := range 3 { // one camera: 2 streams and a spare
		f, code := r.frames(t, "greedy", "Camera1")
		if code != 200 {
			t.Fatalf("frame stream %d: %d", i, code)
		}
		held = append(held, f)
	}
	if _, code := r.frames(t, "greedy", "Camera1"); code != http.StatusTooManyRequests {
		t.Fatalf("a fourth frame stream: %d", code)
	}
	held[0].body.Close()
	testkit.WaitFor(t, 10*time.Second, "a stream again once one is closed", func() bool {
		f, code := r.frames(t, "greedy", "Camera1")
		if code == 200 {
			held[0] = f
		}
		return code == 200
	})
	for _, f := range held {
		defer f.body.Close()
	}
	var events []io.Closer
	for i := range 5 {
		resp, err := r.client("greedy").Get("http://plugin/v1/events")
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, resp.Body)
		if want := map[bool]int{true: 200, false: 429}[i < 4]; resp.StatusCode != want {
			t.Fatalf("event stream %d: %d, want %d", i, resp.StatusCode, want)
		}
	}
	for _, b := range events {
		b.Close()
	}

	fds := func() int {
		ents, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			t.Fatal(err)
		}
		return len(ents)
	}
	before := fds()
	var conns []net.Conn
	for range 200 {
		c, err := net.Dial("unix", filepath.Join(r.m.o.Dir, "greedy.sock"))
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	time.Sleep(300 * time.Millisecond)
	grown := fds() - before
	// the test's own 200, and at most the plugin's bound on the node's side
	if grown > 200+maxConns {
		t.Fatalf("200 idle connections grew the process by %d descriptors", grown)
	}
	for _, c := range conns {
		c.Close()
	}
	r.waitSocket(t, "greedy") // served again once they are gone
	t.Logf("200 idle connections: %d descriptors (the test's 200 and the node's at most %d)", grown, maxConns)
}
