// Command anprvideo measures plate reading in the video path: a camera's
// clip decoded by ffmpeg at the analysis frame rate, read frame after frame
// by an anpr.Stream and voted into passes by an anpr.Tracker, as a site
// node does. Each setting reads the same frames in the same run; the CPU
// time of the reading thread per frame is printed with its ratio to the
// first setting (every frame scanned whole), beside the passes read
// exactly against the clip's ground truth. It prints figures, not verdicts.
//
//	go run ./bench/anprvideo [-clip testcam/plates720p.h264] [-fps 5] [-loops 3]
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"image"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/kuzet/kuzet/anpr"
	"github.com/kuzet/kuzet/bench/internal/procfs"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench/anprvideo:", err)
		os.Exit(1)
	}
}

type span struct {
	from, to float64
	plate    string
}

type setting struct {
	name string
	opts anpr.StreamOptions
}

func run() error {
	clip := flag.String("clip", "testcam/plates720p.h264", "Annex-B H.264 clip, 25 fps")
	truthPath := flag.String("truth", "", "ground truth: lines 'FROM TO PLATE' in seconds (default: the clip's .txt)")
	fps := flag.Float64("fps", 5, "analysis frame rate (anpr.fps)")
	loops := flag.Int("loops", 3, "play the clip this many times (a lane is empty between vehicles)")
	models := flag.String("models", anpr.DefaultModelDir, "model directory (make anpr-deps)")
	countries := flag.String("countries", "KZ,RU", "camera's preferred grammars")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the default setting's run to this file")
	defaultOnly := flag.Bool("default-only", false, "measure only the default setting (no baseline, no ratio)")
	verbose := flag.Bool("v", false, "print every frame's cost and reads, and the passes, of each setting (stderr)")
	flag.Parse()
	if *truthPath == "" {
		*truthPath = defaultTruth(*clip)
	}
	truth, err := loadTruth(*truthPath)
	if err != nil {
		return err
	}
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		return errors.New("ffmpeg missing: apt-get install -y ffmpeg")
	}
	frames, err := decode(*clip, *fps)
	if err != nil {
		return err
	}
	m, err := anpr.LoadModels(*models)
	if err != nil {
		return fmt.Errorf("%w (make anpr-deps)", err)
	}
	// Keep every read on one OS thread so its CPU time can be read; with
	// one intra-op thread ONNX Runtime computes on the caller's thread.
	runtime.LockOSThread()
	settings := []setting{
		{"every frame scanned afresh", anpr.StreamOptions{ScanEvery: 1, StillScanEvery: -1, FullScanEvery: 1, Forget: true}},
		{"tracked plates, still frames skipped, nothing carried", anpr.StreamOptions{Forget: true}},
		{"tracked plates, still frames scanned", anpr.StreamOptions{StillScanEvery: -1}},
		{"tracked plates, still frames skipped, scans always whole", anpr.StreamOptions{FullScanEvery: 1}},
		{"default (tracked plates, still frames skipped)", anpr.StreamOptions{}},
	}
	if *defaultOnly {
		settings = settings[len(settings)-1:]
	}
	dur := float64(len(frames)) / *fps
	fmt.Printf("%s: %d frames of %dx%d at %.0f fps, played %d times (%.0f s), %d vehicles per play\n\n",
		*clip, len(frames), frames[0].Bounds().Dx(), frames[0].Bounds().Dy(), *fps, *loops, dur*float64(*loops), len(truth))
	fmt.Println("| setting | CPU ms/frame (mean) | p95 | max | wall ms detect + recognise | scans (partial) | still | passes | read exactly | pass confidence min / mean | CPU ratio |")
	fmt.Println("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
	var base float64
	for i, s := range settings {
		r, err := anpr.NewRecognizer(m, anpr.Options{Countries: strings.Split(*countries, ",")})
		if err != nil {
			return err
		}
		last := i == len(settings)-1
		if last && *cpuProfile != "" {
			f, err := os.Create(*cpuProfile)
			if err != nil {
				return err
			}
			if err := pprof.StartCPUProfile(f); err != nil {
				return err
			}
		}
		res := play(r, s.opts, frames, *fps, *loops, dur, truth, *verbose)
		if last && *cpuProfile != "" {
			pprof.StopCPUProfile()
		}
		r.Close()
		if i == 0 && !*defaultOnly {
			base = res.mean
		}
		ratio := "-"
		if base > 0 {
			ratio = fmt.Sprintf("%.2f", res.mean/base)
		}
		fmt.Printf("| %s | %.1f | %.1f | %.1f | %.1f + %.1f | %d (%d) | %d | %d | %d/%d | %.2f / %.3f | %s |\n", s.name, res.mean, res.p95, res.max,
			res.detect, res.recog, res.scans, res.partial, res.still, res.passes, res.exact, len(truth)**loops, res.confMin, res.confMean, ratio)
	}
	return nil
}

type result struct {
	mean, p95, max float64
	detect, recog  float64 // wall ms per frame
	scans, still   int
	partial        int // scans of only the changed parts
	passes, exact  int
	// of the passes read exactly
	confMin, confMean float64
}

// play reads the frames loops times, as a camera would show them, and
// scores the passes against truth (a pass is right when its text is the
// plate in view at its best read).
func play(r *anpr.Recognizer, o anpr.StreamOptions, frames []*image.RGBA, fps float64, loops int, dur float64, truth []span, verbose bool) result {
	st := anpr.NewStream(r, o)
	tr := anpr.NewTracker(anpr.TrackerConfig{Axis: struct{ X, Y float64 }{1, 0}})
	var res result
	var cost []float64
	var passes []anpr.Pass
	t0 := time.Unix(1_800_000_000, 0)
	for l := 0; l < loops; l++ {
		for k, f := range frames {
			at := t0.Add(time.Duration((float64(l)*dur + float64(k)/fps) * float64(time.Second)))
			c0 := procfs.ThreadCPU()
			reads, tm, err := st.Read(f, image.Rectangle{})
			passes = append(passes, tr.Observe(at, reads)...)
			cost = append(cost, float64(procfs.ThreadCPU()-c0)/1e6)
			if err != nil {
				fmt.Fprintln(os.Stderr, "read:", err)
			}
			if verbose {
				fmt.Fprintf(os.Stderr, "%d.%03d cpu %6.1f ms scan %-5v partial %-5v still %-5v boxes %2d", l, k, cost[len(cost)-1], tm.Scan, tm.Partial, tm.Still, tm.Boxes)
				for _, rd := range reads {
					fmt.Fprintf(os.Stderr, " %s %.2f %v", rd.Text, rd.Confidence, rd.Box)
				}
				fmt.Fprintln(os.Stderr)
			}
			res.detect += float64(tm.Detect.Microseconds()) / 1000
			res.recog += float64(tm.Recognize.Microseconds()) / 1000
			if tm.Scan {
				res.scans++
			}
			if tm.Partial {
				res.partial++
			}
			if tm.Still {
				res.still++
			}
		}
	}
	passes = append(passes, tr.Flush()...)
	res.passes = len(passes)
	for _, p := range passes {
		if verbose {
			fmt.Fprintf(os.Stderr, "pass %s %.3f frames %d\n", p.Text, p.Confidence, p.Frames)
		}
		at := p.BestAt
		if at.IsZero() {
			at = p.First
		}
		sec := at.Sub(t0).Seconds()
		sec -= float64(int(sec/dur)) * dur
		for _, s := range truth {
			if sec >= s.from-0.5 && sec <= s.to+0.5 && p.Text == s.plate {
				if res.exact == 0 || p.Confidence < res.confMin {
					res.confMin = p.Confidence
				}
				res.confMean += p.Confidence
				res.exact++
				break
			}
		}
	}
	if res.exact > 0 {
		res.confMean /= float64(res.exact)
	}
	sum := 0.0
	for _, c := range cost {
		sum += c
	}
	res.mean = sum / float64(len(cost))
	res.detect /= float64(len(cost))
	res.recog /= float64(len(cost))
	sort.Float64s(cost)
	res.p95 = cost[len(cost)*95/100]
	res.max = cost[len(cost)-1]
	return res
}

// decode turns the clip into RGBA frames at fps with ffmpeg.
func decode(clip string, fps float64) ([]*image.RGBA, error) {
	probe := exec.Command("ffprobe", "-v", "error", "-f", "h264", "-select_streams", "v:0",
		"-show_entries", "stream=width,height", "-of", "csv=p=0", clip)
	out, err := probe.Output()
	if err != nil {
		return nil, fmt.Errorf("ffprobe %s: %w", clip, err)
	}
	var w, h int
	if _, err := fmt.Sscanf(strings.TrimSpace(string(out)), "%d,%d", &w, &h); err != nil || w <= 0 || h <= 0 {
		return nil, fmt.Errorf("ffprobe %s: frame size %q", clip, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var errb bytes.Buffer
	cmd := exec.CommandContext(ctx, "ffmpeg", "-nostdin", "-loglevel", "error", "-f", "h264", "-framerate", "25", "-i", clip,
		"-vf", "fps="+strconv.FormatFloat(fps, 'f', -1, 64), "-f", "rawvideo", "-pix_fmt", "rgba", "-")
	cmd.Stderr = &errb
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	var frames []*image.RGBA
	rd := bufio.NewReaderSize(pipe, 1<<20)
	for {
		img := image.NewRGBA(image.Rect(0, 0, w, h))
		if _, err := io.ReadFull(rd, img.Pix); err != nil {
			break
		}
		frames = append(frames, img)
	}
	if err := cmd.Wait(); err != nil {
		return nil, fmt.Errorf("ffmpeg %s: %v: %s", clip, err, errb.String())
	}
	if len(frames) == 0 {
		return nil, fmt.Errorf("ffmpeg %s: no frames", clip)
	}
	return frames, nil
}

// defaultTruth is the clip's ground truth: its .txt beside it, or in
// testdata (where the demo clip's lies; the clip itself is embedded from
// testcam).
func defaultTruth(clip string) string {
	p := strings.TrimSuffix(clip, ".h264") + ".txt"
	if fileExists(p) {
		return p
	}
	if t := filepath.Join("testdata", filepath.Base(p)); fileExists(t) {
		return t
	}
	return p
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func loadTruth(path string) ([]span, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []span
	for n, line := range strings.Split(string(b), "\n") {
		fs := strings.Fields(line)
		if len(fs) == 0 {
			continue
		}
		var s span
		var e1, e2 error
		if len(fs) == 3 {
			s.from, e1 = strconv.ParseFloat(fs[0], 64)
			s.to, e2 = strconv.ParseFloat(fs[1], 64)
			s.plate = fs[2]
		}
		if len(fs) != 3 || e1 != nil || e2 != nil {
			return nil, fmt.Errorf("%s:%d: want 'FROM TO PLATE', got %q", path, n+1, line)
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no plates", path)
	}
	return out, nil
}
