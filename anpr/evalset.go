package anpr

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // evaluation sets are JPEG photos
	_ "image/png"  // synthetic sets are PNG
	"os"
	"path/filepath"
	"strings"
)

// LoadTruthDir reads every *.txt ground-truth file in dir, sorted by name,
// keeping one truth per image (the first line that names it).
func LoadTruthDir(dir string) ([]Truth, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.txt"))
	if err != nil {
		return nil, fmt.Errorf("list ground truth in %s: %w", dir, err)
	}
	var out []Truth
	seen := map[string]bool{}
	for _, f := range files {
		if strings.EqualFold(filepath.Base(f), "README.txt") {
			continue
		}
		r, err := os.Open(f)
		if err != nil {
			return nil, fmt.Errorf("open ground truth: %w", err)
		}
		ts, err := ParseTruth(r)
		r.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		for _, t := range ts {
			if !seen[t.File] {
				seen[t.File] = true
				out = append(out, t)
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no ground truth (NAME.txt: file x y w h PLATE) in %s", dir)
	}
	return out, nil
}

// LoadImage decodes a JPEG or PNG evaluation image.
func LoadImage(path string) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open image: %w", err)
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("decode image %s: %w", path, err)
	}
	return img, nil
}

// ReadTruthDir reads the ground truth of dir like LoadTruthDir, but a line
// it cannot parse is skipped and reported (naming the file and line) instead
// of failing the set. It fails only when dir cannot be listed or holds no
// usable ground truth at all.
func ReadTruthDir(dir string) ([]Truth, []error, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.txt"))
	if err != nil {
		return nil, nil, fmt.Errorf("list ground truth in %s: %w", dir, err)
	}
	var out []Truth
	var problems []error
	seen := map[string]bool{}
	for _, f := range files {
		if strings.EqualFold(filepath.Base(f), "README.txt") {
			continue
		}
		r, err := os.Open(f)
		if err != nil {
			problems = append(problems, fmt.Errorf("%s: %w", f, err))
			continue
		}
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 0, 4096), maxTruthLine)
		for n := 1; sc.Scan(); n++ {
			line := strings.TrimSpace(sc.Text())
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			t, err := parseTruthLine(line)
			if err != nil {
				problems = append(problems, fmt.Errorf("%s:%d: ground truth skipped: %w", f, n, err))
				continue
			}
			if !seen[t.File] {
				seen[t.File] = true
				out = append(out, t)
			}
		}
		if err := sc.Err(); err != nil {
			problems = append(problems, fmt.Errorf("%s: read ground truth: %w", f, err))
		}
		r.Close()
	}
	if len(out) == 0 {
		return nil, problems, fmt.Errorf("no ground truth (NAME.txt: file x y w h PLATE) in %s", dir)
	}
	return out, problems, nil
}

// EvalDir reads every labelled image of dir (see ReadTruthDir) with rec
// and scores it. An image that cannot be opened or decoded, or whose
// reading fails, is reported by name and scored as not read; the rest of
// the set is still evaluated. each, when not nil, sees every outcome as
// it is made. Problems are returned in the order met; the error is set only
// when the set cannot be evaluated at all.
func EvalDir(ctx context.Context, rec *Recognizer, dir string, each func(Outcome)) ([]Outcome, []error, error) {
	truths, problems, err := ReadTruthDir(dir)
	if err != nil {
		return nil, problems, err
	}
	var outs []Outcome
	for _, t := range truths {
		if err := ctx.Err(); err != nil {
			return outs, problems, err
		}
		o, err := evalOne(rec, dir, t)
		if err != nil {
			problems = append(problems, err)
			o = Outcome{File: t.File, Truth: t.Plate, Edits: len(t.Plate), Error: err.Error()}
		}
		outs = append(outs, o)
		if each != nil {
			each(o)
		}
	}
	return outs, problems, nil
}

func evalOne(rec *Recognizer, dir string, t Truth) (o Outcome, err error) {
	path := filepath.Join(dir, t.File)
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%s: recognition failed: %v", path, p)
		}
	}()
	img, err := LoadImage(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			return o, fmt.Errorf("%s: %w", path, pe.Err)
		}
		return o, err
	}
	reads, tm, err := rec.Recognize(img, image.Rectangle{})
	if err != nil {
		return o, fmt.Errorf("%s: %w", path, err)
	}
	return Score(t, reads, tm), nil
}
