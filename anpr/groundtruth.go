package anpr

import (
	"bufio"
	"fmt"
	"image"
	"io"
	"strconv"
	"strings"

	"github.com/kuzet/kuzet/plates/platetext"
)

// Truth is one labelled plate of an evaluation image, in the OpenALPR
// benchmark format: `file<TAB>x<TAB>y<TAB>w<TAB>h<TAB>PLATE` per line.
type Truth struct {
	File  string
	Box   image.Rectangle
	Plate string // normalised (see platetext.Normalize)
}

// maxTruthLine bounds a ground-truth line; real ones are under 200 bytes.
const maxTruthLine = 64 << 10

// ParseTruth reads ground-truth lines. Blank lines and lines starting with
// '#' are skipped; the plate may contain spaces or dashes, which are dropped.
func ParseTruth(r io.Reader) ([]Truth, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxTruthLine)
	var out []Truth
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		t, err := parseTruthLine(line)
		if err != nil {
			return nil, fmt.Errorf("ground truth line %d: %w", n, err)
		}
		out = append(out, t)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read ground truth: %w", err)
	}
	return out, nil
}

func parseTruthLine(line string) (Truth, error) {
	f := strings.Split(line, "\t")
	if len(f) < 6 {
		// Tolerate space-separated files (hand edited); the file name then
		// must not contain spaces.
		f = strings.Fields(line)
		if len(f) < 6 {
			return Truth{}, fmt.Errorf("want 6 fields (file x y w h plate), got %d", len(f))
		}
		f = append(f[:5], strings.Join(f[5:], ""))
	}
	var v [4]int
	for i := range v {
		n, err := strconv.Atoi(strings.TrimSpace(f[i+1]))
		if err != nil {
			return Truth{}, fmt.Errorf("field %d: %w", i+2, err)
		}
		if n < -1<<20 || n > 1<<20 {
			return Truth{}, fmt.Errorf("field %d: %d out of range", i+2, n)
		}
		v[i] = n
	}
	file := strings.TrimSpace(f[0])
	if file == "" {
		return Truth{}, fmt.Errorf("empty file name")
	}
	plate := platetext.Normalize(strings.Join(f[5:], ""))
	if plate == "" {
		return Truth{}, fmt.Errorf("empty plate")
	}
	if v[2] < 0 || v[3] < 0 {
		return Truth{}, fmt.Errorf("negative box size %dx%d", v[2], v[3])
	}
	// Boxes may start outside the image (a plate cut by the frame edge).
	return Truth{File: file, Box: image.Rect(v[0], v[1], v[0]+v[2], v[1]+v[3]), Plate: plate}, nil
}

// FormatTruth writes t in the format ParseTruth reads.
func FormatTruth(t Truth) string {
	return fmt.Sprintf("%s\t%d\t%d\t%d\t%d\t%s\n", t.File, t.Box.Min.X, t.Box.Min.Y, t.Box.Dx(), t.Box.Dy(), t.Plate)
}
