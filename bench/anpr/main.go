// Command anpr (bench/anpr) compares recogniser settings on labelled plate photos
// (the OpenALPR benchmark format `kuzet anpr eval` reads) in one run: every
// image is read with each setting in turn, so the figures share the
// machine's load, and the medians are printed with their ratio to the first
// setting. A split (even or odd file index) keeps one half of a set for
// tuning and the other for checking.
//
//	go run ./bench/anpr [-split even|odd] [-countries KZ,RU] \
//	    [-config 'single'] [-config ''] DIR...
//
// A setting is a comma-separated list of key=value Options fields:
// single (SinglePass), max (DetectMaxSide), scan (ScanMaxSide), boxes
// (MaxBoxes), regions (MaxRegions), threads (Threads), conf (MinConfidence).
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image"
	_ "image/jpeg" // evaluation sets are JPEG photos
	_ "image/png"  // synthetic sets are PNG
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"

	"github.com/kuzet/kuzet/anpr"
	"github.com/kuzet/kuzet/bench/internal/procfs"
)

type configs []string

func (c *configs) String() string     { return strings.Join(*c, " | ") }
func (c *configs) Set(s string) error { *c = append(*c, s); return nil }

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench/anpr:", err)
		os.Exit(1)
	}
}

func run() error {
	// Keep every Recognize call on one OS thread so its CPU time can be read.
	runtime.LockOSThread()
	var cfgs configs
	models := flag.String("models", anpr.DefaultModelDir, "model directory (make anpr-deps)")
	split := flag.String("split", "all", "images to use: all, even or odd file index")
	countries := flag.String("countries", "", "comma-separated plate grammars (default all)")
	verbose := flag.Bool("v", false, "print every image whose reading differs between settings or is wrong")
	jsonOut := flag.String("json", "", "write per-image outcomes (JSON lines) to this file")
	flag.Var(&cfgs, "config", "a setting (repeatable); the first is the reference for ratios")
	flag.Parse()
	if flag.NArg() == 0 {
		return errors.New("usage: go run ./bench/anpr [flags] DIR (one or more)")
	}
	if len(cfgs) == 0 {
		cfgs = configs{""}
	}
	m, err := anpr.LoadModels(*models)
	if err != nil {
		return err
	}
	var recs []*anpr.Recognizer
	for _, c := range cfgs {
		o, err := parseConfig(c)
		if err != nil {
			return err
		}
		if *countries != "" {
			o.Countries = strings.Split(*countries, ",")
		}
		r, err := anpr.NewRecognizer(m, o)
		if err != nil {
			return err
		}
		defer r.Close()
		recs = append(recs, r)
	}
	var jw *json.Encoder
	if *jsonOut != "" {
		f, err := os.Create(*jsonOut)
		if err != nil {
			return fmt.Errorf("create %s: %w", *jsonOut, err)
		}
		defer f.Close()
		jw = json.NewEncoder(f)
	}
	for _, dir := range flag.Args() {
		truths, err := loadTruths(dir, *split)
		if err != nil {
			return err
		}
		outs := make([][]anpr.Outcome, len(recs))
		boxes := make([]int, len(recs))
		cpus := make([][]float64, len(recs))
		for i, t := range truths {
			img, err := anpr.LoadImage(filepath.Join(dir, t.File))
			if err != nil {
				return err
			}
			var line []string
			differ := false
			for k := range recs {
				// Alternate the order so neither setting always runs on a
				// warm cache.
				c := k
				if i%2 == 1 {
					c = len(recs) - 1 - k
				}
				c0 := procfs.ThreadCPU()
				reads, tm, err := recs[c].Recognize(img, image.Rectangle{})
				cpus[c] = append(cpus[c], float64(procfs.ThreadCPU()-c0)/1e6)
				if err != nil {
					return fmt.Errorf("recognize %s: %w", t.File, err)
				}
				outs[c] = append(outs[c], anpr.Score(t, reads, tm))
				boxes[c] += tm.Boxes
			}
			for c := range recs {
				o := outs[c][len(outs[c])-1]
				if o.Read != outs[0][len(outs[0])-1].Read || !o.Exact {
					differ = true
				}
				line = append(line, fmt.Sprintf("%q(%.2f)", o.Read, o.Confidence))
				if jw != nil {
					if err := jw.Encode(struct {
						Config string `json:"config"`
						anpr.Outcome
					}{cfgs[c], o}); err != nil {
						return fmt.Errorf("write %s: %w", *jsonOut, err)
					}
				}
			}
			if *verbose && differ {
				fmt.Printf("  %-16s %-10s %s\n", t.File, t.Plate, strings.Join(line, " "))
			}
		}
		fmt.Printf("%s (%s): %d images\n", dir, *split, len(truths))
		fmt.Printf("  %-28s %6s %6s %6s %8s %8s %8s %6s %7s %7s\n", "setting", "exact", "1-edit", "found", "det ms", "rec ms", "tot ms", "boxes", "cpu ms", "×ref")
		var ref float64
		for c, cfg := range cfgs {
			s := anpr.Summarize(outs[c])
			if c == 0 {
				ref = median(cpus[c])
			}
			name := cfg
			if name == "" {
				name = "(default)"
			}
			fmt.Printf("  %-28s %6.1f %6.1f %6.1f %8.1f %8.1f %8.1f %6.1f %7.1f %7.2f\n", name,
				100*s.Exact, 100*s.OneEdit, 100*s.Found, s.MedianDetect, s.MedianRecog, s.MedianTotalMS,
				float64(boxes[c])/float64(max(1, len(truths))), median(cpus[c]), median(cpus[c])/ref)
		}
	}
	return nil
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	v = append([]float64(nil), v...)
	sort.Float64s(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

func parseConfig(s string) (anpr.Options, error) {
	var o anpr.Options
	for _, kv := range strings.Split(s, ",") {
		kv = strings.TrimSpace(kv)
		if kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			v = "1"
		}
		n, err := strconv.Atoi(v)
		if err != nil && k != "conf" {
			return o, fmt.Errorf("setting %q: %s wants an integer", s, k)
		}
		switch k {
		case "single":
			o.SinglePass = n != 0
		case "max":
			o.DetectMaxSide = n
		case "scan":
			o.ScanMaxSide = n
		case "boxes":
			o.MaxBoxes = n
		case "regions":
			o.MaxRegions = n
		case "threads":
			o.Threads = n
		case "conf":
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return o, fmt.Errorf("setting %q: conf wants a number", s)
			}
			o.MinConfidence = f
		default:
			return o, fmt.Errorf("setting %q: unknown key %s", s, k)
		}
	}
	return o, nil
}

// loadTruths reads the ground truth of dir and keeps the requested half.
func loadTruths(dir, split string) ([]anpr.Truth, error) {
	out, err := anpr.LoadTruthDir(dir)
	if err != nil {
		return nil, err
	}
	var kept []anpr.Truth
	for i, t := range out {
		switch {
		case split == "all", split == "even" && i%2 == 0, split == "odd" && i%2 == 1:
			kept = append(kept, t)
		case split != "even" && split != "odd":
			return nil, fmt.Errorf("bad -split %q: want all, even or odd", split)
		}
	}
	if len(kept) == 0 {
		return nil, fmt.Errorf("no ground truth (NAME.txt: file x y w h PLATE) in %s", dir)
	}
	return kept, nil
}
