package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"image"
	_ "image/jpeg" // evaluation sets are JPEG photos
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/kuzet/kuzet/anpr"
)

const anprUsage = `usage:
  kuzet anpr eval DIR [--json] [--models DIR] [--countries KZ,RU,...] [--scan-side N] [--single [--max-side N]]
      read every image of DIR labelled in NAME.txt (file x y w h PLATE) and
      print exact / one-edit / found shares and median ms per image
  kuzet anpr synth OUTDIR --country kz|ru|ua [--n N] [--seed S] [--size 1280x720]
      write N synthetic plate scenes (PNG) with ground truth to OUTDIR
`

// cmdANPR implements `kuzet anpr`: plate-recognition evaluation and the
// synthetic test-set generator.
func cmdANPR(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, anprUsage)
		return errUsage
	}
	switch args[0] {
	case "eval":
		return anprEval(ctx, args[1:], stdout, stderr)
	case "synth":
		return anprSynth(ctx, args[1:], stdout, stderr)
	default:
		fmt.Fprint(stderr, anprUsage)
		return errUsage
	}
}

// parseInterspersed parses flags that may come before or after the
// positional arguments.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

func defaultModelDir() string {
	if d := os.Getenv("KUZET_ANPR_MODELS"); d != "" {
		return d
	}
	return anpr.DefaultModelDir
}

func anprEval(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("anpr eval", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print one JSON line per image, then the summary")
	models := fs.String("models", defaultModelDir(), "model directory (make anpr-deps)")
	countries := fs.String("countries", "", "comma-separated plate grammars to use (default all)")
	maxSide := fs.Int("max-side", 0, "with --single: detector input's longer side (default 960)")
	scanSide := fs.Int("scan-side", 0, "coarse scan's longer side (default 480)")
	single := fs.Bool("single", false, "one detection pass at --max-side instead of the coarse scan and second looks")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return errUsage
	}
	if len(pos) != 1 {
		fmt.Fprint(stderr, anprUsage)
		return errUsage
	}
	dir := pos[0]
	truths, err := anpr.LoadTruthDir(dir)
	if err != nil {
		return err
	}
	m, err := anpr.LoadModels(*models)
	if err != nil {
		return err
	}
	opts := anpr.Options{DetectMaxSide: *maxSide, ScanMaxSide: *scanSide, SinglePass: *single}
	if *countries != "" {
		opts.Countries = strings.Split(*countries, ",")
	}
	rec, err := anpr.NewRecognizer(m, opts)
	if err != nil {
		return err
	}
	defer rec.Close()
	enc := json.NewEncoder(stdout)
	var outs []anpr.Outcome
	for _, t := range truths {
		if err := ctx.Err(); err != nil {
			return err
		}
		img, err := anpr.LoadImage(filepath.Join(dir, t.File))
		if err != nil {
			return err
		}
		reads, tm, err := rec.Recognize(img, image.Rectangle{})
		if err != nil {
			return fmt.Errorf("recognize %s: %w", t.File, err)
		}
		o := anpr.Score(t, reads, tm)
		outs = append(outs, o)
		if *asJSON {
			if err := enc.Encode(o); err != nil {
				return fmt.Errorf("write result: %w", err)
			}
		}
	}
	s := anpr.Summarize(outs)
	if *asJSON {
		return enc.Encode(map[string]anpr.Summary{"summary": s})
	}
	fmt.Fprintf(stdout, "%s: %d images\n", dir, s.Images)
	fmt.Fprintf(stdout, "  exact      %6.1f %%\n", 100*s.Exact)
	fmt.Fprintf(stdout, "  one edit   %6.1f %%\n", 100*s.OneEdit)
	fmt.Fprintf(stdout, "  found      %6.1f %%\n", 100*s.Found)
	fmt.Fprintf(stdout, "  detect     %6.1f ms median\n", s.MedianDetect)
	fmt.Fprintf(stdout, "  recognize  %6.1f ms median\n", s.MedianRecog)
	fmt.Fprintf(stdout, "  total      %6.1f ms median\n", s.MedianTotalMS)
	return nil
}

func anprSynth(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("anpr synth", flag.ContinueOnError)
	fs.SetOutput(stderr)
	country := fs.String("country", "kz", "plate country: "+strings.Join(anpr.SynthCountries, ", "))
	n := fs.Int("n", 100, "number of images")
	seed := fs.Uint64("seed", 1, "random seed (same seed, same set)")
	size := fs.String("size", "1280x720", "scene size WxH")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return errUsage
	}
	if len(pos) != 1 || *n <= 0 {
		fmt.Fprint(stderr, anprUsage)
		return errUsage
	}
	var w, h int
	if _, err := fmt.Sscanf(*size, "%dx%d", &w, &h); err != nil || w < 320 || h < 240 {
		return fmt.Errorf("bad --size %q: want WxH of at least 320x240", *size)
	}
	out := pos[0]
	if err := os.MkdirAll(out, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", out, err)
	}
	s, err := anpr.NewSynthesizer(*seed)
	if err != nil {
		return err
	}
	for i := 0; i < *n; i++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		text, err := s.PlateText(*country)
		if err != nil {
			return err
		}
		plate, err := s.Plate(*country, text)
		if err != nil {
			return err
		}
		img, box, err := s.Scene(plate, w, h, s.RandomConditions())
		if err != nil {
			return err
		}
		name := fmt.Sprintf("%s%04d", strings.ToLower(*country), i)
		if err := writePNG(filepath.Join(out, name+".png"), img); err != nil {
			return err
		}
		t := anpr.Truth{File: name + ".png", Box: box, Plate: text}
		if err := os.WriteFile(filepath.Join(out, name+".txt"), []byte(anpr.FormatTruth(t)), 0o644); err != nil {
			return fmt.Errorf("write ground truth: %w", err)
		}
	}
	fmt.Fprintf(stdout, "wrote %d %s scenes to %s\n", *n, *country, out)
	return nil
}

func writePNG(path string, img image.Image) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("create image: %w", err)
	}
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(f, img); err != nil {
		f.Close()
		return fmt.Errorf("encode %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
