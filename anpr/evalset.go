package anpr

import (
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
