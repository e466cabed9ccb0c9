package tamper

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/kuzet/kuzet/testcam"
)

// The synthetic camera's clip is 500 frames (20 s) with an IDR every 25.
// An effect clip is two passes of it, the second with the effect from
// 26 s to 32 s: a detector that joins late or learns slowly on a busy
// machine still has most of the first pass to learn the clean scene.
const (
	clipFPS    = 25
	effectFrom = 650 // 26 s: an IDR
	effectTo   = 800 // 32 s: an IDR
)

// Effects applied to frames effectFrom..effectTo of an effect clip.
var effects = map[string]string{
	// a lens cap or a bag: black, but the camera's own OSD (top left) stays
	"covered": "drawbox=x=0:y=64:w=iw:h=ih-64:c=black:t=fill,drawbox=x=400:y=0:w=iw-400:h=64:c=black:t=fill",
	// a torch or the sun into the lens
	"blinded": "eq=brightness=0.85",
	// panned and tilted by a fifth of the frame and zoomed a little
	"moved": "crop=iw*0.8:ih*0.8:iw*0.2:ih*0.2,scale=1280:720",
	// knocked out of focus, or a smeared lens
	"defocused": "gblur=sigma=20",
}

// nightFilter dims the whole clip gradually to about a third of its light
// and back (2-8 s down, 13-19 s up), so the loop stays seamless.
const nightFilter = "eq=eval=frame:contrast='1-0.65*(clip((t-2)/6,0,1)-clip((t-13)/6,0,1))'" +
	":brightness='-0.325*(clip((t-2)/6,0,1)-clip((t-13)/6,0,1))'"

// x264 settings that keep what testcam needs: an access unit delimiter
// before every frame, SPS/PPS before every IDR, IDR every 25 frames, no
// B-frames.
var x264 = []string{"-c:v", "libx264", "-threads", "1", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-bf", "0",
	"-crf", "20", "-x264-params", "keyint=25:min-keyint=25:scenecut=0:open-gop=0:aud=1:repeat-headers=1", "-f", "h264"}

// annexB writes access units back as an Annex-B stream, each after an
// access unit delimiter.
func annexB(fs []testcam.Frame) []byte {
	var buf bytes.Buffer
	for _, f := range fs {
		buf.Write([]byte{0, 0, 0, 1, 9, 0xf0})
		for _, n := range f.NALUs {
			buf.Write([]byte{0, 0, 0, 1})
			buf.Write(n)
		}
	}
	return buf.Bytes()
}

// deriveClip re-encodes frames from..to of passes repetitions of the demo
// clip through filter and splices them, at IDRs, between the untouched
// frames before and after.
func deriveClip(dir, name, filter string, passes, from, to int) ([]byte, error) {
	demo, err := testcam.ParseAnnexB(testcam.DemoClip)
	if err != nil {
		return nil, err
	}
	var orig testcam.Clip
	for range passes {
		orig.Frames = append(orig.Frames, demo.Frames...)
	}
	if !orig.Frames[from].IDR || (to < len(orig.Frames) && !orig.Frames[to].IDR) {
		return nil, fmt.Errorf("%s: frames %d..%d do not start and end at IDRs", name, from, to)
	}
	// only the frames to change go through ffmpeg
	src := filepath.Join(dir, name+".src.h264")
	if err := os.WriteFile(src, annexB(orig.Frames[from:to]), 0o644); err != nil {
		return nil, err
	}
	out := filepath.Join(dir, name+".part.h264")
	args := []string{"-hide_banner", "-loglevel", "error", "-y", "-f", "h264", "-framerate", fmt.Sprint(clipFPS),
		"-i", src, "-vf", filter}
	args = append(append(args, x264...), out)
	if b, err := exec.Command("ffmpeg", args...).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("ffmpeg %s: %v: %s", name, err, b)
	}
	part, err := os.ReadFile(out)
	if err != nil {
		return nil, err
	}
	mid, err := testcam.ParseAnnexB(part)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", name, err)
	}
	if len(mid.Frames) != to-from {
		return nil, fmt.Errorf("%s: %d frames re-encoded for %d..%d", name, len(mid.Frames), from, to)
	}
	clip := slices.Concat(annexB(orig.Frames[:from]), annexB(mid.Frames), annexB(orig.Frames[to:]))
	if err := os.WriteFile(filepath.Join(dir, name+".h264"), clip, 0o644); err != nil {
		return nil, err
	}
	return clip, nil
}

// deriveClips makes every test clip in dir, in parallel.
func deriveClips(t testing.TB, dir string) map[string][]byte {
	t.Helper()
	type result struct {
		name string
		b    []byte
		err  error
	}
	type job struct {
		filter           string
		passes, from, to int
	}
	jobs := map[string]job{"night": {nightFilter, 1, 0, 500}}
	for name, f := range effects {
		jobs[name] = job{f, 2, effectFrom, effectTo}
	}
	ch := make(chan result, len(jobs))
	for name, j := range jobs {
		go func() {
			b, err := deriveClip(dir, name, j.filter, j.passes, j.from, j.to)
			ch <- result{name, b, err}
		}()
	}
	out := map[string][]byte{"clean": testcam.DemoClip}
	for range jobs {
		r := <-ch
		if r.err != nil {
			t.Fatal(r.err)
		}
		out[r.name] = r.b
	}
	return out
}
