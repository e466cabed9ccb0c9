package anpr

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kuzet/kuzet/internal/testkit"
)

// TestRecognizeSynthetic reads plates drawn at test time: most must be exact
// and all but a few within one edit (the conditions include blur, noise and
// dirt; night scenes are measured with `kuzet anpr eval`).
func TestRecognizeSynthetic(t *testing.T) {
	testkit.Long(t)
	r := newTestRecognizer(t, Options{})
	for _, country := range SynthCountries {
		t.Run(country, func(t *testing.T) {
			s, err := NewSynthesizer(7)
			if err != nil {
				t.Fatal(err)
			}
			const n = 12
			exact, near := 0, 0
			for i := 0; i < n; i++ {
				text, err := s.PlateText(country)
				if err != nil {
					t.Fatal(err)
				}
				plate, err := s.Plate(country, text)
				if err != nil {
					t.Fatal(err)
				}
				cond := SynthConditions{Noise: 4, Blur: float64(i % 2), Dirt: i%3 == 0}
				img, box, err := s.Scene(plate, 1280, 720, cond)
				if err != nil {
					t.Fatal(err)
				}
				reads, _, err := r.Recognize(img, image.Rectangle{})
				if err != nil {
					t.Fatal(err)
				}
				o := Score(Truth{File: fmt.Sprint(i), Box: box, Plate: text}, reads, Timing{})
				if o.Exact {
					exact++
				}
				if o.Edits <= 1 {
					near++
				}
				if !o.Exact {
					t.Logf("%s: read %q (%.2f), candidates %v", text, o.Read, o.Confidence, o.Candidates)
				}
			}
			if exact < n*3/4 || near < n*5/6 {
				t.Errorf("%s: %d/%d exact, %d/%d within one edit", country, exact, n, near, n)
			}
		})
	}
}

// TestRecognizeROI checks that a region of interest limits the search and
// that boxes come back in the full image's coordinates.
func TestRecognizeROI(t *testing.T) {
	r := newTestRecognizer(t, Options{Countries: []string{"KZ"}})
	s, err := NewSynthesizer(3)
	if err != nil {
		t.Fatal(err)
	}
	plate, err := s.Plate("kz", "123ABC02")
	if err != nil {
		t.Fatal(err)
	}
	img, box, err := s.Scene(plate, 1280, 720, SynthConditions{})
	if err != nil {
		t.Fatal(err)
	}
	roi := box.Inset(-80)
	reads, tm, err := r.Recognize(img, roi)
	if err != nil {
		t.Fatal(err)
	}
	if len(reads) == 0 || reads[0].Text != "123ABC02" || reads[0].Country != "KZ" {
		t.Fatalf("reads = %+v", reads)
	}
	if !overlaps(reads[0].Box, box) {
		t.Fatalf("box %v, plate at %v", reads[0].Box, box)
	}
	if tm.Detect <= 0 || tm.Recognize <= 0 || tm.Boxes == 0 {
		t.Fatalf("timing %+v", tm)
	}
	// Far from the plate nothing is read.
	far := image.Rect(0, 0, 200, 120)
	if box.Overlaps(far) {
		far = image.Rect(1080, 600, 1280, 720)
	}
	if reads, _, err := r.Recognize(img, far); err != nil || len(reads) != 0 {
		t.Fatalf("far roi: %v %v", reads, err)
	}
}

// TestRecognizeTwoRows reads a square plate printed in two rows.
func TestRecognizeTwoRows(t *testing.T) {
	r := newTestRecognizer(t, Options{Countries: []string{"RU"}})
	s, err := NewSynthesizer(5)
	if err != nil {
		t.Fatal(err)
	}
	big, err := s.face(s.bold, "bold", 80)
	if err != nil {
		t.Fatal(err)
	}
	plate := image.NewRGBA(image.Rect(0, 0, 290, 200))
	for i := range plate.Pix {
		plate.Pix[i] = 245
	}
	centerText(plate, big, "AB1234", image.Rect(0, 0, 290, 100), image.Black)
	centerText(plate, big, "777", image.Rect(0, 100, 290, 200), image.Black)
	img, _, err := s.Scene(plate, 1280, 720, SynthConditions{Noise: 3})
	if err != nil {
		t.Fatal(err)
	}
	reads, _, err := r.Recognize(img, image.Rectangle{})
	if err != nil {
		t.Fatal(err)
	}
	if len(reads) == 0 || reads[0].Text != "AB1234777" || reads[0].Rows != 2 {
		t.Fatalf("reads = %+v", reads)
	}
}

// TestRecognizeDemoClip reads the plates of the demo camera's clip in frames
// decoded by ffmpeg at the middle of each plate's visible interval.
func TestRecognizeDemoClip(t *testing.T) {
	testkit.Long(t)
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Fatal("ffmpeg missing: apt-get install -y ffmpeg")
	}
	clip := filepath.Join("..", "testcam", "plates720p.h264")
	f, err := os.Open(filepath.Join("..", "testdata", "plates720p.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	type span struct {
		start, end float64
		plate      string
	}
	var spans []span
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) != 3 {
			continue
		}
		a, err1 := strconv.ParseFloat(fs[0], 64)
		b, err2 := strconv.ParseFloat(fs[1], 64)
		if err1 != nil || err2 != nil {
			t.Fatalf("bad line %q", sc.Text())
		}
		spans = append(spans, span{a, b, fs[2]})
	}
	if len(spans) == 0 {
		t.Fatal("no plates in plates720p.txt")
	}
	r := newTestRecognizer(t, Options{})
	tracker := NewTracker(TrackerConfig{Axis: struct{ X, Y float64 }{1, 0}})
	var passes []Pass
	for _, sp := range spans {
		var last time.Time
		for _, at := range []float64{sp.start + 0.25*(sp.end-sp.start), (sp.start + sp.end) / 2, sp.start + 0.75*(sp.end-sp.start)} {
			img := decodeFrame(t, clip, at)
			reads, _, err := r.Recognize(img, image.Rectangle{})
			if err != nil {
				t.Fatal(err)
			}
			if len(reads) == 0 || reads[0].Text != sp.plate {
				t.Errorf("t=%.2fs: reads %+v, want %s", at, reads, sp.plate)
			}
			last = time.Unix(0, 0).Add(time.Duration(at * float64(time.Second)))
			passes = append(passes, tracker.Observe(last, reads)...)
		}
	}
	passes = append(passes, tracker.Flush()...)
	if len(passes) != len(spans) {
		t.Fatalf("%d passes, want %d: %+v", len(passes), len(spans), passes)
	}
	for i, p := range passes {
		if p.Text != spans[i].plate || p.Direction != "entry" {
			t.Errorf("pass %d: %s %s, want %s entry", i, p.Text, p.Direction, spans[i].plate)
		}
	}
}

func decodeFrame(t *testing.T, clip string, at float64) image.Image {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out, errb bytes.Buffer
	// Raw Annex-B has no timestamps to seek by on input, so ffmpeg decodes
	// from the start and seeks on output (the clip is 20 s long).
	cmd := exec.CommandContext(ctx, "ffmpeg", "-nostdin", "-loglevel", "error", "-f", "h264", "-framerate", "25", "-i", clip,
		"-ss", strconv.FormatFloat(at, 'f', 2, 64), "-frames:v", "1", "-f", "image2pipe", "-vcodec", "png", "-")
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("ffmpeg decode at %.2fs: %v: %s", at, err, errb.String())
	}
	img, err := png.Decode(&out)
	if err != nil {
		t.Fatalf("decode frame at %.2fs: %v", at, err)
	}
	return img
}
