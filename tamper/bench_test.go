package tamper

import (
	"image"
	"io"
	"os/exec"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/kuzet/kuzet/media"
	"github.com/kuzet/kuzet/testcam"
)

// keyframes decodes the demo clip's keyframes (one a second) with ffmpeg.
func keyframes(tb testing.TB) []*image.RGBA {
	tb.Helper()
	cmd := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-skip_frame", "nokey", "-f", "h264",
		"-i", "pipe:0", "-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", "rgba", "pipe:1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	go func() {
		_, _ = stdin.Write(testcam.DemoClip)
		stdin.Close()
	}()
	var frames []*image.RGBA
	for {
		img := image.NewRGBA(image.Rect(0, 0, 1280, 720))
		if _, err := io.ReadFull(out, img.Pix); err != nil {
			break
		}
		frames = append(frames, img)
	}
	if err := cmd.Wait(); err != nil || len(frames) == 0 {
		tb.Fatalf("decode keyframes: %d frames, %v", len(frames), err)
	}
	return frames
}

// BenchmarkObserve measures judging one 720p frame (decoding excluded).
func BenchmarkObserve(b *testing.B) {
	frames := keyframes(b)
	d, err := NewDetector("Bench", Config{Learn: 5 * time.Second}, DetectorOptions{})
	if err != nil {
		b.Fatal(err)
	}
	at := time.Unix(0, 0)
	for _, f := range frames[:7] {
		d.Observe(f, at)
		at = at.Add(time.Second)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		d.Observe(frames[i%len(frames)], at)
		at = at.Add(time.Second)
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/frame")
}

func cpuTime() time.Duration {
	var self, children syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &self)
	_ = syscall.Getrusage(syscall.RUSAGE_CHILDREN, &children)
	tv := func(t syscall.Timeval) time.Duration { return time.Duration(t.Nano()) }
	return tv(self.Utime) + tv(self.Stime) + tv(children.Utime) + tv(children.Stime)
}

// BenchmarkCameraCPU measures what tamper detection costs one 720p25
// camera: the session's units through the sink, the ffmpeg decoder
// (a child process) and the analysis, as CPU time over video time, in
// percent of one core. Each iteration is one pass of the 20 s clip, fed
// four times faster than real time.
func BenchmarkCameraCPU(b *testing.B) {
	clip, err := testcam.ParseAnnexB(testcam.DemoClip)
	if err != nil {
		b.Fatal(err)
	}
	for _, mode := range []struct {
		name string
		fps  float64
	}{{"keyframes", 0}, {"fps1", 1}, {"fps2", 2}} {
		b.Run(mode.name, func(b *testing.B) {
			var seen atomic.Int64
			c, err := NewConsumer(ConsumerOptions{Cameras: map[string]Config{"Bench": {FPS: mode.fps, Learn: 5 * time.Second}},
				OnObserve: func(string, Observation) { seen.Add(1) }})
			if err != nil {
				b.Fatal(err)
			}
			tr := media.Track{Codec: media.H264, SPS: clip.SPS, PPS: clip.PPS}
			start := cpuTime()
			sk, err := c.open("Bench", tr, "bench")
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			at := time.Now()
			units := 0
			for i := 0; i < b.N; i++ {
				for _, f := range clip.Frames {
					if err := sk.WriteUnit(&media.Unit{NALUs: f.NALUs, Time: at}); err != nil {
						b.Fatal(err)
					}
					at = at.Add(40 * time.Millisecond)
					units++
					time.Sleep(10 * time.Millisecond)
				}
			}
			// the last frames leave ffmpeg once its input ends
			time.Sleep(200 * time.Millisecond)
			if err := sk.Close(); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			cpu := cpuTime() - start
			video := time.Duration(units) * 40 * time.Millisecond
			b.ReportMetric(100*cpu.Seconds()/video.Seconds(), "%core")
			b.ReportMetric(float64(seen.Load())/video.Seconds(), "frames/s")
			b.ReportMetric(float64(sk.(*sink).dec.Dropped()), "dropped")
		})
	}
}
