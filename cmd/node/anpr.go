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
	"github.com/kuzet/kuzet/config"
)

const anprUsage = `usage:
  kuzet anpr eval DIR[@KZ,RU] ... [--json] [--table] [--models DIR] [--countries KZ,RU,...] [--scan-side N] [--single [--max-side N]]
      read every image of each DIR labelled in NAME.txt (file x y w h PLATE)
      and print exact / one-edit / found shares and median ms per image;
      several DIRs (or --table) print one table row per set. DIR@CC,CC
      sets that set's preferred countries (default --countries)
  kuzet anpr synth OUTDIR --country CC|GROUP|all|each [--n N] [--seed S] [--size 1280x720]
      write N synthetic plate scenes (PNG) with ground truth to OUTDIR;
      a group (kz, ru, by, central-asia, caucasus, mn-cn, tr, ua-md,
      eu-north, eu-west, eu-east) mixes its countries, all writes every
      group into OUTDIR/GROUP, each writes N scenes of every country's
      grammar into OUTDIR/CC (one table row per grammar)
  kuzet anpr passes [--country all|GROUP|CC] [--n N] [--seed S] [--countries KZ,RU] [--frames 8] [--fps 5] [--json]
      draw N synthetic vehicle passes per group (a plate approaching the
      camera frame after frame, under the same conditions as synth) and read
      each as a camera's analyzer does (stream, tracker); print one table row
      per group (passes read exactly, within one edit, found, extra passes,
      ms per frame) and the calibration of the passes' confidence
`

// cmdANPR implements `kuzet anpr`: plate-recognition evaluation and the
// synthetic test-set generator.
func cmdANPR(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || isHelp(args[0]) {
		return usageOf(len(args) > 0, stdout, stderr, anprUsage)
	}
	switch args[0] {
	case "eval":
		return anprEval(ctx, args[1:], stdout, stderr)
	case "synth":
		return anprSynth(ctx, args[1:], stdout, stderr)
	case "passes":
		return anprPasses(ctx, args[1:], stdout, stderr)
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
	table := fs.Bool("table", false, "print one table row per set")
	models := fs.String("models", defaultModelDir(), "model directory (make anpr-deps)")
	countries := fs.String("countries", "", "comma-separated plate grammars to prefer (default none: all alike)")
	maxSide := fs.Int("max-side", 0, "with --single: detector input's longer side (default 960)")
	scanSide := fs.Int("scan-side", 0, "coarse scan's longer side (default: a third of the image's, at least 480)")
	single := fs.Bool("single", false, "one detection pass at --max-side instead of the coarse scan and second looks")
	reviewBelow := fs.Float64("review-below", defaultReviewBelow, "the review threshold the calibration reports on (anpr.review_below)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return parseFailed(err)
	}
	if len(pos) == 0 {
		fmt.Fprint(stderr, anprUsage)
		return errUsage
	}
	m, err := anpr.LoadModels(*models)
	if err != nil {
		return err
	}
	*table = *table || len(pos) > 1
	enc := json.NewEncoder(stdout)
	if *table && !*asJSON {
		fmt.Fprintln(stdout, "| set | images | exact | within one edit | found | ms/image (detect + recognise) |")
		fmt.Fprintln(stdout, "| --- | --- | --- | --- | --- | --- |")
	}
	failed := 0
	var all []anpr.Outcome
	for _, p := range pos {
		dir, cc := p, *countries
		if i := strings.LastIndex(p, "@"); i > 0 {
			dir, cc = p[:i], p[i+1:]
		}
		opts := anpr.Options{DetectMaxSide: *maxSide, ScanMaxSide: *scanSide, SinglePass: *single}
		if cc != "" {
			opts.Countries = strings.Split(cc, ",")
		}
		rec, err := anpr.NewRecognizer(m, opts)
		if err != nil {
			return err
		}
		outs, problems, err := anpr.EvalDir(ctx, rec, dir, func(o anpr.Outcome) {
			if *asJSON {
				_ = enc.Encode(o)
			}
		})
		rec.Close()
		for _, p := range problems {
			fmt.Fprintf(stderr, "anpr eval: %v\n", p)
		}
		if err != nil {
			if ctx.Err() != nil || len(pos) == 1 {
				return err
			}
			fmt.Fprintf(stderr, "anpr eval: %v\n", err)
			failed++
			continue
		}
		all = append(all, outs...)
		s := anpr.Summarize(outs)
		switch {
		case *asJSON:
			if err := enc.Encode(map[string]any{"set": dir, "summary": s}); err != nil {
				return fmt.Errorf("write result: %w", err)
			}
		case *table:
			name := filepath.Base(filepath.Clean(dir))
			if cc != "" {
				name += " (" + cc + ")"
			}
			fmt.Fprintf(stdout, "| %s | %d | %.1f %% | %.1f %% | %.1f %% | %.0f (%.0f + %.0f) |\n", name, s.Images,
				100*s.Exact, 100*s.OneEdit, 100*s.Found, s.MedianTotalMS, s.MedianDetect, s.MedianRecog)
		default:
			fmt.Fprintf(stdout, "%s: %d images\n", dir, s.Images)
			fmt.Fprintf(stdout, "  exact      %6.1f %%\n", 100*s.Exact)
			fmt.Fprintf(stdout, "  one edit   %6.1f %%\n", 100*s.OneEdit)
			fmt.Fprintf(stdout, "  found      %6.1f %%\n", 100*s.Found)
			fmt.Fprintf(stdout, "  detect     %6.1f ms median\n", s.MedianDetect)
			fmt.Fprintf(stdout, "  recognize  %6.1f ms median\n", s.MedianRecog)
			fmt.Fprintf(stdout, "  total      %6.1f ms median\n", s.MedianTotalMS)
			if s.Unreadable > 0 {
				fmt.Fprintf(stdout, "  unreadable %4d images (counted as not read)\n", s.Unreadable)
			}
		}
	}
	if failed == len(pos) {
		return fmt.Errorf("anpr eval: no set could be evaluated")
	}
	if *table && !*asJSON {
		printCalibration(stdout, all, *reviewBelow)
	}
	return nil
}

// printCalibration prints how often reads of each confidence band were
// right, over every set, and the share right above the review threshold.
func printCalibration(w io.Writer, outs []anpr.Outcome, threshold float64) {
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| confidence | reads | right |")
	fmt.Fprintln(w, "| --- | --- | --- |")
	for _, b := range anpr.Calibrate(outs) {
		right := "–"
		if b.Reads > 0 {
			right = fmt.Sprintf("%.1f %%", 100*float64(b.Right)/float64(b.Reads))
		}
		fmt.Fprintf(w, "| %.2f–%.2f | %d | %s |\n", b.From, min(b.To, 1), b.Reads, right)
	}
	reads, right := anpr.Above(outs, threshold)
	total, _ := anpr.Above(outs, 0)
	if reads == 0 {
		fmt.Fprintf(w, "\nNo read at or above the review threshold %.2f.\n", threshold)
		return
	}
	fmt.Fprintf(w, "\nAt or above the review threshold %.2f: %d of %d reads (%.1f %%), %.1f %% right; the rest go to the uncertain-reads queue.\n",
		threshold, reads, total, 100*float64(reads)/float64(total), 100*float64(right)/float64(reads))
}

func anprSynth(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("anpr synth", flag.ContinueOnError)
	fs.SetOutput(stderr)
	country := fs.String("country", "kz", "plate country (ISO code), group, all (every group) or each (every country apart)")
	n := fs.Int("n", 100, "number of images (per group with all, per country with each)")
	seed := fs.Uint64("seed", 1, "random seed (same seed, same set)")
	size := fs.String("size", "1280x720", "scene size WxH")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return parseFailed(err)
	}
	if len(pos) != 1 || *n <= 0 {
		fmt.Fprint(stderr, anprUsage)
		return errUsage
	}
	w, h, err := parseSize(*size)
	if err != nil {
		return err
	}
	sets, err := synthSets(*country)
	if err != nil {
		return err
	}
	for i := range sets {
		if strings.EqualFold(*country, "all") || strings.EqualFold(*country, "each") {
			sets[i].dir = filepath.Join(pos[0], sets[i].name)
		} else {
			sets[i].dir = pos[0]
		}
	}
	s, err := anpr.NewSynthesizer(*seed)
	if err != nil {
		return err
	}
	for _, st := range sets {
		if err := os.MkdirAll(st.dir, 0o755); err != nil {
			return fmt.Errorf("create %s: %w", st.dir, err)
		}
		for i := 0; i < *n; i++ {
			if err := ctx.Err(); err != nil {
				return err
			}
			cc := st.countries[i%len(st.countries)]
			img, box, text, err := s.Sample(cc, w, h)
			if err != nil {
				return err
			}
			name := fmt.Sprintf("%s%04d", strings.ToLower(cc), i)
			if err := writePNG(filepath.Join(st.dir, name+".png"), img); err != nil {
				return err
			}
			t := anpr.Truth{File: name + ".png", Box: box, Plate: text}
			if err := os.WriteFile(filepath.Join(st.dir, name+".txt"), []byte(anpr.FormatTruth(t)), 0o644); err != nil {
				return fmt.Errorf("write ground truth: %w", err)
			}
		}
		fmt.Fprintf(stdout, "wrote %d %s scenes to %s\n", *n, strings.Join(st.countries, "/"), st.dir)
	}
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

// defaultReviewBelow is anpr.review_below's default.
const defaultReviewBelow = config.DefaultReviewBelow

func anprPasses(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("anpr passes", flag.ContinueOnError)
	fs.SetOutput(stderr)
	country := fs.String("country", "all", "plate country (ISO code), group or all")
	n := fs.Int("n", 10, "passes per group")
	seed := fs.Uint64("seed", 1, "random seed (same seed, same passes)")
	countries := fs.String("countries", "KZ,RU", "the camera's preferred grammars")
	frames := fs.Int("frames", 8, "frames per pass")
	fps := fs.Float64("fps", 5, "analysis frame rate (anpr.fps)")
	size := fs.String("size", "1280x720", "frame size WxH")
	models := fs.String("models", defaultModelDir(), "model directory (make anpr-deps)")
	asJSON := fs.Bool("json", false, "print one JSON line per pass, then the summaries")
	reviewBelow := fs.Float64("review-below", defaultReviewBelow, "the review threshold the calibration reports on (anpr.review_below)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return parseFailed(err)
	}
	if len(pos) != 0 || *n <= 0 || *frames < 2 || *fps <= 0 {
		fmt.Fprint(stderr, anprUsage)
		return errUsage
	}
	w, h, err := parseSize(*size)
	if err != nil {
		return err
	}
	groups, err := synthSets(*country)
	if err != nil {
		return err
	}
	m, err := anpr.LoadModels(*models)
	if err != nil {
		return err
	}
	opts := anpr.Options{}
	if *countries != "" {
		opts.Countries = strings.Split(*countries, ",")
	}
	rec, err := anpr.NewRecognizer(m, opts)
	if err != nil {
		return err
	}
	defer rec.Close()
	syn, err := anpr.NewSynthesizer(*seed)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	if !*asJSON {
		fmt.Fprintf(stdout, "seed %d, %d passes per group of %d frames at %g fps, %dx%d, preferring %s\n\n", *seed, *n, *frames, *fps, w, h, *countries)
		fmt.Fprintln(stdout, "| group | passes | exact | within one edit | found | extra passes | ms/frame (detect + recognise) |")
		fmt.Fprintln(stdout, "| --- | --- | --- | --- | --- | --- | --- |")
	}
	var all []anpr.Outcome
	for _, g := range groups {
		outs, s, err := anpr.EvalPasses(ctx, rec, syn, g.countries, *n, w, h, *frames, *fps, func(o anpr.Outcome) {
			if *asJSON {
				_ = enc.Encode(o)
			}
		})
		if err != nil {
			return err
		}
		all = append(all, outs...)
		if *asJSON {
			if err := enc.Encode(map[string]any{"group": g.name, "summary": s}); err != nil {
				return fmt.Errorf("write result: %w", err)
			}
			continue
		}
		fmt.Fprintf(stdout, "| %s | %d | %.1f %% | %.1f %% | %.1f %% | %d | %.0f (%.0f + %.0f) |\n", g.name, s.Passes,
			100*s.Exact, 100*s.OneEdit, 100*s.Found, s.Extra, s.MedianTotalMS, s.MedianDetect, s.MedianRecog)
	}
	if !*asJSON {
		printCalibration(stdout, all, *reviewBelow)
	}
	return nil
}

// synthSet is one group of countries the synthetic sets draw together.
type synthSet struct {
	name      string
	countries []string
	dir       string // where anpr synth writes it
}

// synthSets resolves --country: all (every group), each (every country of
// every group on its own), a group or a country.
func synthSets(country string) ([]synthSet, error) {
	if strings.EqualFold(country, "each") {
		var sets []synthSet
		for _, g := range anpr.SynthGroups {
			for _, c := range g.Countries {
				sets = append(sets, synthSet{name: strings.ToLower(c), countries: []string{c}})
			}
		}
		return sets, nil
	}
	if strings.EqualFold(country, "all") {
		var sets []synthSet
		for _, g := range anpr.SynthGroups {
			sets = append(sets, synthSet{name: g.Name, countries: g.Countries})
		}
		return sets, nil
	}
	cs := anpr.SynthGroup(country)
	if cs == nil {
		return nil, fmt.Errorf("synthetic plates: unknown country or group %q", country)
	}
	return []synthSet{{name: strings.ToLower(country), countries: cs}}, nil
}

// parseSize reads --size WxH.
func parseSize(size string) (w, h int, err error) {
	if _, err := fmt.Sscanf(size, "%dx%d", &w, &h); err != nil || w < 320 || h < 240 {
		return 0, 0, fmt.Errorf("bad --size %q: want WxH of at least 320x240", size)
	}
	return w, h, nil
}
