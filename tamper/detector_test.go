package tamper

import (
	"encoding/json"
	"image"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kuzet/kuzet/event"
)

// look describes a synthetic frame: a textured street scene, optionally
// shifted (camera moved), scaled in brightness (dusk), blurred, or with a
// vehicle at carX.
type look struct {
	shift int     // pixels the view moved, right and down
	gain  float64 // 1: as learned
	blur  int     // box blur radius in pixels
	carX  int     // left edge of a passing vehicle; <0: none
	fill  int     // -1: draw the scene; else a flat level (covered, blinded)
}

func clean(carX int) look { return look{gain: 1, carX: carX, fill: -1} }

const sceneW, sceneH = 1280, 720

// sceneGrey draws a frame's grey levels before the light's gain: bands
// (sky, fence, kerb, road, kerb) with blocky texture that survives
// downscaling, and a vehicle with a light plate.
func sceneGrey(l look) []float64 {
	const w, h = sceneW, sceneH
	grey := make([]float64, w*h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			if l.fill >= 0 {
				grey[y*w+x] = float64(l.fill)
				continue
			}
			sx, sy := x+l.shift, y+l.shift
			base := 60.0
			switch {
			case sy < 180:
				base = 170
			case sy < 230:
				base = 110
			case sy < 260:
				base = 200
			case sy >= 650:
				base = 150
			}
			// 8x8 blocks of pseudo-random texture, fixed to the world
			hsh := uint32(sx/8)*2654435761 ^ uint32(sy/8)*2246822519
			hsh ^= hsh >> 13
			hsh *= 1274126177
			v := base + float64(hsh>>24)/255*60 - 30
			if l.carX >= 0 && x >= l.carX && x < l.carX+420 && y >= 300 && y < 560 {
				v = 90
				if x >= l.carX+40 && x < l.carX+200 && y >= 380 && y < 430 {
					v = 235
				}
			}
			grey[y*w+x] = v
		}
	}
	if l.blur > 0 {
		grey = boxBlur(grey, w, h, l.blur)
	}
	return grey
}

// render applies the light's gain and makes the RGBA frame.
func render(grey []float64, l look) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, sceneW, sceneH))
	for i, v := range grey {
		if l.fill < 0 {
			v *= l.gain
		}
		c := uint8(max(0, min(255, v)))
		img.Pix[4*i], img.Pix[4*i+1], img.Pix[4*i+2], img.Pix[4*i+3] = c, c, c, 255
	}
	return img
}

// boxBlur blurs horizontally then vertically, each pass a running sum.
func boxBlur(g []float64, w, h, r int) []float64 {
	pass := func(src []float64, n, stride, lines, lineStride int) []float64 {
		out := make([]float64, len(src))
		for l := 0; l < lines; l++ {
			base := l * lineStride
			var sum float64
			cnt := 0
			for k := 0; k <= min(n-1, r); k++ {
				sum += src[base+k*stride]
				cnt++
			}
			for i := 0; i < n; i++ {
				out[base+i*stride] = sum / float64(cnt)
				if j := i + r + 1; j < n {
					sum += src[base+j*stride]
					cnt++
				}
				if j := i - r; j >= 0 {
					sum -= src[base+j*stride]
					cnt--
				}
			}
		}
		return out
	}
	return pass(pass(g, w, 1, h, w), h, w, w, 1)
}

// rig feeds a detector frames one second apart and records its alarms in
// a real event log.
type rig struct {
	t *testing.T
	// drawing a frame costs more than judging it
	greys map[look][]float64
	cache map[look]*image.RGBA
	log   *event.Log
	d     *Detector
	at    time.Time
	cfg   Config
	o     DetectorOptions
	cam   string
}

var unitConfig = Config{Learn: 5 * time.Second, Persist: 3 * time.Second, Recover: 2 * time.Second}

func newRig(t *testing.T, o DetectorOptions) *rig {
	t.Helper()
	l, err := event.OpenLog(filepath.Join(t.TempDir(), "events.db"), "site-1", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	r := &rig{t: t, log: l, at: time.Date(2025, 8, 18, 12, 0, 0, 0, time.UTC), cfg: unitConfig, o: o, cam: "Gate1",
		greys: map[look][]float64{}, cache: map[look]*image.RGBA{}}
	r.o.Events = l
	r.reopen()
	return r
}

func (r *rig) reopen() {
	r.t.Helper()
	d, err := NewDetector(r.cam, r.cfg, r.o)
	if err != nil {
		r.t.Fatal(err)
	}
	r.d = d
}

// feed shows n frames of look l, one a second, the vehicle moving.
func (r *rig) feed(n int, l look) Observation {
	var ob Observation
	for i := 0; i < n; i++ {
		if l.carX >= 0 && l.fill < 0 {
			l.carX = (l.carX + 230) % 1100
		}
		img, ok := r.cache[l]
		if !ok {
			key := l
			key.gain = 0
			grey, ok := r.greys[key]
			if !ok {
				grey = sceneGrey(l)
				r.greys[key] = grey
			}
			img = render(grey, l)
			r.cache[l] = img
		}
		ob = r.d.Observe(img, r.at)
		r.at = r.at.Add(time.Second)
	}
	return ob
}

type got struct {
	kind string
	p    Payload
	e    event.Event
}

func (r *rig) alarms() []got {
	r.t.Helper()
	all, err := r.log.Range(0, 0)
	if err != nil {
		r.t.Fatal(err)
	}
	var out []got
	for _, e := range all {
		var p Payload
		if err := json.Unmarshal(e.Payload, &p); err != nil {
			r.t.Fatal(err)
		}
		kind := "raise"
		if e.Kind == event.KindAlarmCleared {
			kind = "clear"
		}
		out = append(out, got{kind, p, e})
	}
	return out
}

// Each condition raises its alarm once it has held Persist, on frame
// time, and clears once the scene has been good for Recover; conditions
// shorter than Persist and a gradual dimming raise nothing.
func TestDetectorConditions(t *testing.T) {
	cases := []struct {
		name string
		kind Kind
		bad  look
	}{
		{"covered", Covered, look{fill: 3}},
		{"blinded", Blinded, look{fill: 252}},
		{"moved", Moved, look{shift: 150, gain: 1, carX: 0, fill: -1}},
		{"defocused", Defocused, look{blur: 10, gain: 1, carX: 0, fill: -1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, DetectorOptions{})
			if ob := r.feed(7, clean(0)); ob.Learning {
				t.Fatalf("still learning after 7 s: %+v", ob)
			}
			// a glitch shorter than Persist
			r.feed(2, tc.bad)
			r.feed(2, clean(0))
			if a := r.alarms(); len(a) != 0 {
				t.Fatalf("alarm for a 2 s glitch: %+v", a)
			}
			onset := r.at
			r.feed(3, tc.bad)
			if a := r.alarms(); len(a) != 0 {
				t.Fatalf("raised before Persist: %+v", a)
			}
			ob := r.feed(1, tc.bad)
			a := r.alarms()
			if len(a) != 1 || a[0].kind != "raise" || a[0].p.Type != tc.kind.AlarmType() ||
				a[0].p.Key != tc.kind.AlarmKey("Gate1") || !a[0].p.Since.Equal(onset) ||
				!a[0].e.Time.Equal(onset.Add(3*time.Second)) || a[0].e.Severity != tc.kind.Severity() ||
				a[0].e.Camera != "Gate1" {
				t.Fatalf("after Persist: %+v (last frame %+v)", a, ob)
			}
			r.feed(10, tc.bad)
			recovered := r.at
			r.feed(2, clean(0))
			if a := r.alarms(); len(a) != 1 {
				t.Fatalf("cleared before Recover: %+v", a)
			}
			r.feed(1, clean(0))
			a = r.alarms()
			if len(a) != 2 || a[1].kind != "clear" || a[1].p.Key != tc.kind.AlarmKey("Gate1") ||
				!a[1].e.Time.Equal(recovered.Add(2*time.Second)) {
				t.Fatalf("after Recover: %+v", a)
			}
		})
	}
	t.Run("featureless", func(t *testing.T) {
		// a grey wall: nothing to judge focus or aim by, so nothing raised
		r := newRig(t, DetectorOptions{})
		r.feed(30, look{fill: 128})
		if a := r.alarms(); len(a) != 0 {
			t.Fatalf("alarms on a featureless scene: %+v", a)
		}
	})
	t.Run("dusk", func(t *testing.T) {
		r := newRig(t, DetectorOptions{})
		r.feed(7, clean(0))
		for i := 0; i <= 60; i++ { // to a quarter of the light over a minute, and back
			g := 1 - 0.75*float64(min(i, 60-i))/30
			l := clean(0)
			l.gain = g
			if ob := r.feed(1, l); len(ob.Conditions) > 0 {
				t.Fatalf("gain %.2f: %+v", g, ob)
			}
		}
		if a := r.alarms(); len(a) != 0 {
			t.Fatalf("alarms at dusk: %+v", a)
		}
	})
}

// The learned scene and the raised alarms survive a restart: a camera moved
// while the node was down is noticed without learning, and an alarm raised
// before the restart is cleared after it. A state file that cannot be read
// is set aside and the scene learned again.
func TestDetectorStateSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "Gate1.json")
	r := newRig(t, DetectorOptions{StateFile: state, SnapshotDir: filepath.Join(dir, "snaps")})
	r.feed(7, clean(0))
	r.d.Close()
	if _, err := os.Stat(state); err != nil {
		t.Fatal(err)
	}

	r.reopen()
	moved := look{shift: 150, gain: 1, carX: 0, fill: -1}
	if ob := r.feed(1, moved); ob.Learning || len(ob.Conditions) != 1 || ob.Conditions[0] != Moved {
		t.Fatalf("after restart the moved view is not judged: %+v", ob)
	}
	r.feed(4, moved)
	a := r.alarms()
	if len(a) != 1 || a[0].p.Type != Moved.AlarmType() || a[0].p.Snapshot == "" {
		t.Fatalf("moved: %+v", a)
	}
	if _, err := os.Stat(filepath.Join(dir, "snaps", a[0].p.Snapshot)); err != nil {
		t.Fatalf("snapshot: %v", err)
	}
	if st := r.d.Status(); !st.Learned || len(st.Raised) != 1 || st.Raised[0] != Moved {
		t.Fatalf("status: %+v", st)
	}

	// restart while raised, then the camera is put back
	r.d.Close()
	r.reopen()
	r.feed(4, clean(0))
	a = r.alarms()
	if len(a) != 2 || a[1].kind != "clear" || a[1].p.Type != Moved.AlarmType() {
		t.Fatalf("alarm raised before the restart not cleared: %+v", a)
	}

	// a damaged state file is set aside, not trusted
	r.d.Close()
	if err := os.WriteFile(state, []byte(`{"version":1,"camera":"Gate1","width":80,"height":45,"grey":"AAAA"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	r.reopen()
	if _, err := os.Stat(state + ".bad"); err != nil {
		t.Fatalf("bad state not set aside: %v", err)
	}
	if ob := r.feed(1, clean(0)); !ob.Learning {
		t.Fatalf("not learning after a bad state: %+v", ob)
	}
}

// Relearning accepts a new view: the moved alarm clears and the new view
// becomes the reference.
func TestRelearn(t *testing.T) {
	r := newRig(t, DetectorOptions{})
	r.feed(7, clean(0))
	moved := look{shift: 150, gain: 1, carX: 0, fill: -1}
	r.feed(5, moved)
	if a := r.alarms(); len(a) != 1 {
		t.Fatalf("%+v", a)
	}
	r.d.Relearn(r.at)
	a := r.alarms()
	if len(a) != 2 || a[1].kind != "clear" || !strings.Contains(a[1].p.Message, "learned anew") {
		t.Fatalf("relearn: %+v", a)
	}
	r.feed(20, moved)
	if a := r.alarms(); len(a) != 2 {
		t.Fatalf("the new view raised again: %+v", a)
	}
}

func TestConfigValidate(t *testing.T) {
	bad := map[string]Config{
		"tamper.fps":           {FPS: 30},
		"tamper.persist":       {Persist: time.Millisecond},
		"tamper.blind_share":   {BlindShare: 1.5},
		"tamper.move_ratio":    {MoveRatio: 1},
		"tamper.defocus_ratio": {DefocusRatio: -0.1},
		"tamper.cover_luma":    {CoverLuma: 300},
		"tamper.adapt":         {Adapt: time.Second},
	}
	for key, c := range bad {
		err := c.WithDefaults().Validate()
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("%s: %v", key, err)
		}
		if _, err := NewDetector("Cam", c, DetectorOptions{}); err == nil || !strings.Contains(err.Error(), "Cam") {
			t.Errorf("NewDetector with bad %s: %v", key, err)
		}
	}
	if err := (Config{}).WithDefaults().Validate(); err != nil {
		t.Errorf("defaults: %v", err)
	}
}

// The state file parser never panics, and a reference it accepts is whole.
func FuzzDecodeState(f *testing.F) {
	r := &reference{w: cellsX, h: cellsY, grey: make([]float32, cellsX*cellsY), sharp: 0.5, match: 0.7, learned: true}
	good, err := encodeState("Cam", r, map[Kind]time.Time{Moved: time.Unix(1, 0)}, time.Unix(2, 0))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{"version":1,"camera":"Cam"}`))
	f.Add([]byte(`{"version":1,"camera":"Cam","width":16,"height":9,"grey":"","sharpness":1,"match":1}`))
	f.Add([]byte(`{"version":1,"camera":"Cam","raised":{"stolen":"2025-01-01T00:00:00Z"}}`))
	f.Add([]byte(`not json`))
	f.Fuzz(func(t *testing.T, b []byte) {
		ref, raised, err := decodeState(b, "Cam")
		if err != nil {
			return
		}
		for k := range raised {
			if !k.valid() {
				t.Fatalf("kind %q accepted", k)
			}
		}
		if ref == nil {
			return
		}
		if len(ref.grey) != ref.w*ref.h || len(ref.edges) != len(ref.grey) || !(ref.sharp >= 0) || !(ref.match >= 0 && ref.match <= 1) {
			t.Fatalf("inconsistent reference accepted: %dx%d, %d values", ref.w, ref.h, len(ref.grey))
		}
	})
}
