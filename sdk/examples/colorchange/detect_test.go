package main

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/kuzet/kuzet/sdk/plugin"
)

// solid is a w×h rgb24 frame of colour c, with ±noise on every byte.
func solid(c [3]byte, noise int, rnd *rand.Rand) plugin.Frame {
	const w, h = 32, 18
	pix := make([]byte, w*h*3)
	for i := range pix {
		v := int(c[i%3])
		if noise > 0 {
			v += rnd.IntN(2*noise+1) - noise
		}
		pix[i] = byte(min(max(v, 0), 255))
	}
	return plugin.Frame{Camera: "Entry", Width: w, Height: h, Format: plugin.FormatRGB24, Pix: pix}
}

func grayFrame(v byte) plugin.Frame {
	pix := make([]byte, 16*9)
	for i := range pix {
		pix[i] = v
	}
	return plugin.Frame{Camera: "Entry", Width: 16, Height: 9, Format: plugin.FormatGray, Pix: pix}
}

// feed runs frames through d, one every half second from t0, and returns
// the changes with the index of the frame that raised each.
func feed(d *detector, t0 time.Time, frames []plugin.Frame) (changes []change, at []int) {
	for i, f := range frames {
		m, ok := meanColor(f)
		if !ok {
			panic("bad test frame")
		}
		if ch, ok := d.observe(t0.Add(time.Duration(i)*500*time.Millisecond), m); ok {
			changes = append(changes, ch)
			at = append(at, i)
		}
	}
	return changes, at
}

func repeat(f plugin.Frame, n int) []plugin.Frame {
	out := make([]plugin.Frame, n)
	for i := range out {
		out[i] = f
	}
	return out
}

var (
	grey = [3]byte{128, 128, 128}
	red  = [3]byte{220, 20, 20}
	blue = [3]byte{20, 40, 230}
	t0   = time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
)

func TestMeanColor(t *testing.T) {
	f := plugin.Frame{Width: 2, Height: 1, Format: plugin.FormatRGB24, Pix: []byte{255, 0, 10, 0, 0, 20}}
	if m, ok := meanColor(f); !ok || m != (rgb{127.5, 0, 15}) {
		t.Errorf("rgb mean = %v, %v", m, ok)
	}
	if m, ok := meanColor(grayFrame(90)); !ok || m != (rgb{90, 90, 90}) {
		t.Errorf("gray mean = %v, %v", m, ok)
	}
	f.Pix = f.Pix[:5]
	if _, ok := meanColor(f); ok {
		t.Error("mean of a frame with too few pixels")
	}
}

func TestDetectorSteadyNoisyPicture(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	var frames []plugin.Frame
	for range 100 {
		frames = append(frames, solid(grey, 40, rnd))
	}
	if chs, _ := feed(newDetector(40, 10*time.Second, 4), t0, frames); len(chs) != 0 {
		t.Fatalf("changes on a steady picture: %v", chs)
	}
}

func TestDetectorChange(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	var frames []plugin.Frame
	for range 10 {
		frames = append(frames, solid(grey, 10, rnd))
	}
	for range 20 {
		frames = append(frames, solid(red, 10, rnd))
	}
	chs, at := feed(newDetector(40, 10*time.Second, 4), t0, frames)
	if len(chs) != 1 {
		t.Fatalf("changes: %v, want one", chs)
	}
	// Reported once the window holds only red frames: the 4th of them.
	if at[0] != 13 {
		t.Errorf("reported at frame %d, want 13", at[0])
	}
	if d := chs[0].from.dist(rgb{128, 128, 128}); d > 3 {
		t.Errorf("from %v", chs[0].from)
	}
	if d := chs[0].to.dist(rgb{220, 20, 20}); d > 3 {
		t.Errorf("to %v", chs[0].to)
	}
}

// A flash of a frame or two is not a change of colour.
func TestDetectorFlash(t *testing.T) {
	frames := repeat(grayFrame(60), 10)
	frames = append(frames, grayFrame(255), grayFrame(255))
	frames = append(frames, repeat(grayFrame(60), 10)...)
	if chs, _ := feed(newDetector(40, 0, 4), t0, frames); len(chs) != 0 {
		t.Fatalf("changes on a flash: %v", chs)
	}
}

// A fade raises one event near its end, not one per step.
func TestDetectorFade(t *testing.T) {
	frames := repeat(grayFrame(20), 8)
	for v := 20; v <= 220; v += 10 {
		frames = append(frames, grayFrame(byte(v)))
	}
	frames = append(frames, repeat(grayFrame(220), 10)...)
	chs, _ := feed(newDetector(40, 0, 4), t0, frames)
	if len(chs) == 0 || chs[len(chs)-1].to.dist(rgb{220, 220, 220}) > 5 {
		t.Fatalf("fade: %v, want to end on 220", chs)
	}
	if len(chs) != 1 {
		t.Errorf("fade raised %d events", len(chs))
	}
}

func TestDetectorGrayFrames(t *testing.T) {
	frames := append(repeat(grayFrame(40), 6), repeat(grayFrame(200), 6)...)
	chs, _ := feed(newDetector(40, 10*time.Second, 4), t0, frames)
	if len(chs) != 1 || chs[0].from != (rgb{40, 40, 40}) || chs[0].to != (rgb{200, 200, 200}) {
		t.Fatalf("gray change: %v", chs)
	}
}

func TestDetectorBelowThreshold(t *testing.T) {
	frames := append(repeat(grayFrame(100), 6), repeat(grayFrame(120), 6)...) // distance 20√3 ≈ 34.6
	if chs, _ := feed(newDetector(40, 0, 4), t0, frames); len(chs) != 0 {
		t.Fatalf("changes under the threshold: %v", chs)
	}
	if chs, _ := feed(newDetector(30, 0, 4), t0, frames); len(chs) != 1 {
		t.Fatalf("changes over a lower threshold: %v", chs)
	}
}

// Within the cooldown a second change waits; it is reported when the
// cooldown is over, from the colour last reported.
func TestDetectorCooldown(t *testing.T) {
	rnd := rand.New(rand.NewPCG(3, 4))
	var frames []plugin.Frame
	for _, c := range [][3]byte{grey, red, blue} {
		for range 6 {
			frames = append(frames, solid(c, 5, rnd))
		}
	}
	frames = append(frames, repeat(solid(blue, 0, nil), 30)...)
	chs, at := feed(newDetector(40, 10*time.Second, 4), t0, frames)
	if len(chs) != 2 {
		t.Fatalf("changes: %v, want red then blue", chs)
	}
	if chs[1].from.dist(chs[0].to) != 0 || chs[1].to.dist(rgb{20, 40, 230}) > 3 {
		t.Errorf("second change %v after %v", chs[1], chs[0])
	}
	// Frames are half a second apart: 10 s is 20 frames.
	if at[1]-at[0] != 20 {
		t.Errorf("changes at frames %v, want 20 apart", at)
	}
}

func TestColorName(t *testing.T) {
	for c, want := range map[rgb]string{
		{128, 128, 128}: "grey (128, 128, 128)",
		{201, 35, 30}:   "red (201, 35, 30)",
		{10, 5, 0}:      "black (10, 5, 0)",
		{30, 45, 210}:   "blue (30, 45, 210)",
		{250, 250, 250}: "white (250, 250, 250)",
	} {
		if got := colorName(c); got != want {
			t.Errorf("colorName(%v) = %q, want %q", c, got, want)
		}
	}
}

func TestColorEvent(t *testing.T) {
	f := solid(red, 0, nil)
	f.Time = t0
	out := colorEvent("Entry", f, change{from: rgb{128, 128, 128}, to: rgb{219.6, 20.2, 20}}, []byte{0xff, 0xd8})
	if out.Kind != "color_change" || out.Camera != "Entry" || !out.Time.Equal(t0) || out.Severity != "medium" {
		t.Errorf("event: %+v", out)
	}
	if !strings.Contains(out.Message, "from grey (128, 128, 128) to red (220, 20, 20)") {
		t.Errorf("message %q", out.Message)
	}
	data := out.Data.(map[string][3]int)
	if data["from"] != [3]int{128, 128, 128} || data["to"] != [3]int{220, 20, 20} {
		t.Errorf("data %v", data)
	}
}
