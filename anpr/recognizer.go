package anpr

import (
	"errors"
	"fmt"
	"image"
	"math"
	"path/filepath"
	"sort"
	"strings"
	"time"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/kuzet/kuzet/plates"
)

// Options tune a Recognizer. The zero value gives the defaults.
type Options struct {
	// Countries orders the plate grammars (ISO codes such as "KZ", "RU"):
	// their formats are preferred, every other built-in grammar still
	// competes after them, and plates of no known format are read through
	// the generic pattern unless NoGeneric is set. "EU" alone reads with
	// the generic pattern only.
	Countries []string
	NoGeneric bool
	// DetectMaxSide caps the longer side of the single pass's detector
	// input (default 960; used only with SinglePass).
	DetectMaxSide int
	// MaxBoxes caps the text boxes recognised per frame (default 12), the
	// most plate-like first.
	MaxBoxes int
	// MinConfidence drops weaker reads (default 0.2).
	MinConfidence float64
	// Threads is ONNX Runtime's intra-op thread count (default 1).
	Threads int
	// SinglePass reads every plate-like box of one detection at
	// DetectMaxSide instead of scanning coarsely first. It finds somewhat
	// more small, distant plates at several times the cost.
	SinglePass bool
	// ScanMaxSide caps the longer side of the coarse scan's input (default
	// a third of the region of interest's longer side, at least 480: 480
	// for 720p, 640 for 1080p, where plates are smaller in the scan).
	// Plate-like text found there is looked at again at full resolution.
	ScanMaxSide int
	// MaxRegions caps the small candidate boxes whose surroundings are
	// detected again at a finer scale per frame (default 3).
	MaxRegions int
}

func (o Options) withDefaults() Options {
	if o.DetectMaxSide <= 0 {
		o.DetectMaxSide = 960
	}
	if o.MaxBoxes <= 0 {
		o.MaxBoxes = 12
	}
	if o.MinConfidence <= 0 {
		o.MinConfidence = 0.2
	}
	if o.Threads <= 0 {
		o.Threads = 1
	}
	if o.MaxRegions <= 0 {
		o.MaxRegions = 3
	}

	return o
}

// Read is one plate found in a frame.
type Read struct {
	Text    string // normalised: upper-case Latin letters and digits
	Country string // grammar that matched ("EU" for the generic pattern)
	// Confidence (0–1) combines the recogniser's character probabilities
	// with how plate-like the text and its box are; reads are sorted by it.
	Confidence float64
	Box        image.Rectangle // in the input image's coordinates
	Quad       Quad            // the rectified outline, same coordinates
	Rows       int             // 1, or 2 for a two-row plate
	// Candidates are the alternative readings, best first (Text is the first).
	Candidates []plates.Candidate
	// Margin is how much better (in natural-log units of the decoder's
	// score) the reading is than the best one with another text; large when
	// there was no other.
	Margin float64

	pieces  int       // text boxes the read was made from
	tag     uint64    // a camera read's token in the merger, followed into its Pass (0: none)
	carried bool      // carried forward from an earlier frame, not recognised again (see Stream)
	sig     *plateSig // in a Stream, the look of a confident single-line read (see carry)
}

// Timing splits the time Recognize spent between text detection (including
// preparing the image and second looks at small boxes) and recognition of
// the boxes.
type Timing struct {
	Detect    time.Duration
	Recognize time.Duration
	Boxes     int  // text boxes recognised
	Scan      bool // the region of interest was scanned for plates (see Stream)
	Partial   bool // the scan detected only where it changed since last scanned (see Stream)
	Still     bool // skipped: nothing moved since the last scan (see Stream)
}

// Recognizer reads plates. It holds two ONNX Runtime sessions and scratch
// buffers, so one Recognizer must be used by one goroutine at a time; create
// one per worker.
type Recognizer struct {
	opts     Options
	det, rec *ort.DynamicAdvancedSession
	symbols  []uint8
	classes  int
	formats  []compiledFormat
	priors   map[string]float32
}

// compiledFormat is one plate format ready for decoding. A format with the
// same character sets in several countries (AB123CD: GE, SK, IT, FR) is
// decoded once, for all of them.
type compiledFormat struct {
	format    string
	sets      []symSet
	countries []string
	common    []bool // the format is its country's first, common one
}

func compileFormats(grammars []Grammar) []compiledFormat {
	var out []compiledFormat
	at := map[string]int{}
	for _, g := range grammars {
		for k, f := range g.Formats {
			sets := formatSets(f, g.Letters, g.series())
			key := fmt.Sprint(sets)
			if i, ok := at[key]; ok {
				out[i].countries = append(out[i].countries, g.Country)
				out[i].common = append(out[i].common, k == 0)
				continue
			}
			at[key] = len(out)
			out = append(out, compiledFormat{f, sets, []string{g.Country}, []bool{k == 0}})
		}
	}
	return out
}

// countryPriors is each grammar's prior in the decoder's log units: the
// camera's own countries are preferred by listedBonus, and a country with
// many formats pays for the chance that one of them fits a misreading
// (familyPenalty per natural log of its number of formats), so a swap into
// the right country's only format is not beaten by a wrong country's fit
// just because that country has many.
func countryPriors(grammars []Grammar, listed map[string]bool) map[string]float32 {
	p := map[string]float32{}
	for _, g := range grammars {
		v := -familyPenalty * float32(math.Log(float64(len(g.Formats))))
		if listed[g.Country] {
			v += listedBonus
		}
		p[g.Country] = v
	}
	return p
}

// NewRecognizer opens the detector and recogniser sessions.
func NewRecognizer(m *Models, opts Options) (*Recognizer, error) {
	opts = opts.withDefaults()
	grammars, unknown := OrderGrammars(opts.Countries)
	if len(unknown) > 0 {
		return nil, fmt.Errorf("new recognizer: unknown plate countries %s", strings.Join(unknown, ", "))
	}
	if len(opts.Countries) == 1 && strings.EqualFold(strings.TrimSpace(opts.Countries[0]), genericFormatID) {
		grammars = nil // EU alone: the generic pattern only
	}
	r := &Recognizer{opts: opts, classes: len(m.dict) + 1}
	listed := map[string]bool{}
	for _, c := range opts.Countries {
		listed[strings.ToUpper(strings.TrimSpace(c))] = true
	}
	r.formats = compileFormats(grammars)
	r.priors = countryPriors(grammars, listed)
	r.symbols = symMap(m.dict, r.classes)
	so, err := ort.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("new recognizer: session options: %w", err)
	}
	defer so.Destroy()
	if err := so.SetIntraOpNumThreads(opts.Threads); err != nil {
		return nil, fmt.Errorf("new recognizer: intra-op threads: %w", err)
	}
	if err := so.SetInterOpNumThreads(1); err != nil {
		return nil, fmt.Errorf("new recognizer: inter-op threads: %w", err)
	}
	r.det, err = ort.NewDynamicAdvancedSession(filepath.Join(m.Dir, DetectorFile), []string{"x"}, []string{"sigmoid_0.tmp_0"}, so)
	if err != nil {
		return nil, fmt.Errorf("new recognizer: open detector %s: %w", DetectorFile, err)
	}
	r.rec, err = ort.NewDynamicAdvancedSession(filepath.Join(m.Dir, RecognizerFile), []string{"x"}, []string{"softmax_11.tmp_0"}, so)
	if err != nil {
		r.det.Destroy()
		return nil, fmt.Errorf("new recognizer: open recogniser %s: %w", RecognizerFile, err)
	}
	return r, nil
}

// Close releases the sessions.
func (r *Recognizer) Close() error {
	return errors.Join(r.det.Destroy(), r.rec.Destroy())
}

// padQuad widens a detected box before rectification: DB boxes can clip the
// first or last glyph, and the decoder drops surplus text at the ends anyway.
func padQuad(q Quad) Quad {
	h := q.height()
	w := q.width()
	if w == 0 || h == 0 {
		return q
	}
	px, py := 0.2*h/w, 0.08
	lerp := func(a, b point, t float64) point { return point{a.X + (b.X-a.X)*t, a.Y + (b.Y-a.Y)*t} }
	top0, top1 := lerp(q[0], q[1], -px), lerp(q[0], q[1], 1+px)
	bot0, bot1 := lerp(q[3], q[2], -px), lerp(q[3], q[2], 1+px)
	return Quad{lerp(bot0, top0, 1+py), lerp(bot1, top1, 1+py), lerp(top1, bot1, 1+py), lerp(top0, bot0, 1+py)}
}

// group is a set of text lines read as one plate: a single line, up to
// three pieces of one row (country band, number, region cell) or the two
// rows of a square plate.
type group struct {
	idx  []int
	quad Quad
	rows int
}

func lineGroups(lines []line) []group {
	var out []group
	for i, l := range lines {
		out = append(out, group{[]int{i}, l.quad, 1})
		// Pieces of the same row, left to right.
		chain := []int{i}
		for len(chain) < 3 {
			last := lines[chain[len(chain)-1]].quad
			nextIdx := -1
			for j, m := range lines {
				if j != i && sameRow(last, m.quad) && (nextIdx < 0 || m.quad[0].X < lines[nextIdx].quad[0].X) {
					nextIdx = j
				}
			}
			if nextIdx < 0 {
				break
			}
			chain = append(chain, nextIdx)
			out = append(out, group{append([]int(nil), chain...), unionQuad(lines, chain), 1})
		}
		// Two rows.
		for j, m := range lines {
			if i != j && stacked(l.quad, m.quad) {
				out = append(out, group{[]int{i, j}, Quad{l.quad[0], l.quad[1], m.quad[2], m.quad[3]}, 2})
			}
		}
	}
	return out
}

// unionQuad is the rotated rectangle, aligned with the first piece, that
// holds every piece of a row.
func unionQuad(lines []line, idx []int) Quad {
	q0 := lines[idx[0]].quad
	l := dist(q0[0], q0[1])
	if l == 0 {
		return q0
	}
	u := point{(q0[1].X - q0[0].X) / l, (q0[1].Y - q0[0].Y) / l}
	minU, maxU, minV, maxV := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	for _, i := range idx {
		for _, p := range lines[i].quad {
			pu, pv := p.X*u.X+p.Y*u.Y, -p.X*u.Y+p.Y*u.X
			minU, maxU = math.Min(minU, pu), math.Max(maxU, pu)
			minV, maxV = math.Min(minV, pv), math.Max(maxV, pv)
		}
	}
	cu, cv := (minU+maxU)/2, (minV+maxV)/2
	c := point{cu*u.X - cv*u.Y, cu*u.Y + cv*u.X}
	return rectQuad(c, u, (maxU-minU)/2, (maxV-minV)/2)
}

// sameRow reports whether b continues the row of a to the right: vertically
// overlapping, close, of a comparable height (a region cell's digits are
// smaller than the number's).
func sameRow(a, b Quad) bool {
	ra, rb := a.Bounds(), b.Bounds()
	ha, hb := a.height(), b.height()
	if hb > 2.2*ha || ha > 2.2*hb {
		return false
	}
	ov := math.Min(float64(ra.Max.Y), float64(rb.Max.Y)) - math.Max(float64(ra.Min.Y), float64(rb.Min.Y))
	if ov < 0.5*math.Min(ha, hb) {
		return false
	}
	gap := math.Min(b[0].X, b[3].X) - math.Max(a[1].X, a[2].X)
	return gap > -0.8*math.Min(ha, hb) && gap < 1.2*math.Max(ha, hb) && b.center().X > a.center().X
}

// plateLikeBoxes drops boxes that cannot hold a plate row and keeps the
// maxBoxes most plate-like ones: plate rows are wider than tall, and the
// characters are the largest text on a vehicle's rear or front.
func plateLikeBoxes(boxes []textBox, maxBoxes int) []textBox {
	out := boxes[:0]
	for _, b := range boxes {
		w, h := b.quad.width(), b.quad.height()
		if h < 8 || w < 0.9*h || w > 15*h {
			continue
		}
		out = append(out, b)
	}
	sort.SliceStable(out, func(i, j int) bool { return platePrior(out[i]) > platePrior(out[j]) })
	if len(out) > maxBoxes {
		out = out[:maxBoxes]
	}
	return out
}

// platePrior ranks a text box by how likely it is a plate row: confident,
// of a plate row's aspect, and tall (the largest text on a vehicle end).
func platePrior(b textBox) float64 {
	w, h := b.quad.width(), b.quad.height()
	a := w / h
	shape := 1.0
	if a < 2 || a > 9 {
		shape = 0.6
	}
	return b.score * shape * math.Sqrt(h)
}

// stacked reports whether b sits right below a, most of the narrower of
// the two within the other's ends: the two rows of a square plate.
// Lettering on the vehicle next to a plate's corner (the last group of a
// phone number above its left end) overlaps the row below it, but nearly
// half of it hangs past the row's end; the loose box of a plate's short row
// (dirt beside its glyphs) reaches a little past the other row's.
func stacked(a, b Quad) bool {
	ra, rb := a.Bounds(), b.Bounds()
	ha, hb := a.height(), b.height()
	if hb > 2.2*ha || ha > 2.2*hb {
		return false
	}
	gap := float64(rb.Min.Y - ra.Max.Y)
	if gap < -0.35*math.Min(ha, hb) || gap > 0.6*math.Max(ha, hb) {
		return false
	}
	ov := math.Min(float64(ra.Max.X), float64(rb.Max.X)) - math.Max(float64(ra.Min.X), float64(rb.Min.X))
	return ov > stackOverlap*math.Min(float64(ra.Dx()), float64(rb.Dx()))
}

// stackOverlap is the share of the narrower row's width that lies within
// the other's ends in the rows of one plate.
const stackOverlap = 0.7

// suppress keeps the best read among overlapping ones (a two-row read and
// its single rows, duplicates of the same box) and drops weak reads.
func suppress(reads []Read, minConf float64) []Read {
	// A reading that also explains the neighbouring pieces of its row (a
	// region cell, a second row) beats one of the pieces read alone unless
	// it is clearly less certain; so does a reading of the same place that
	// holds another's text and more (a box the detector cut short misses
	// the first or last character: 409PTK beside 409PTK39).
	key := make([]float64, len(reads))
	for i, rd := range reads {
		key[i] = rd.Confidence * (1 + 0.15*float64(rd.pieces-1))
	}
	// The pieces' reading gains nothing over a reading of one box that
	// already holds them (the whole line, outlined at once as well): it
	// then explains no more of the plate, and the detector's pieces may
	// have cut a glyph (8968VE of 8968VFT, whose T no piece held).
	for j, o := range reads {
		if o.pieces < 2 {
			continue
		}
		for i, rd := range reads {
			if i != j && rd.pieces == 1 && rd.Rows == o.Rows && holds(rd.Box, o.Box) {
				key[j] = math.Min(key[j], o.Confidence)
				break
			}
		}
	}
	// The same glyphs hold each other however their O and I are named: the
	// free reading 570E of a piece of 57OE073 named its O as a digit.
	glyphs := make([]string, len(reads))
	for i, rd := range reads {
		glyphs[i] = twinsAsDigits(rd.Text)
	}
	// A piece of a line that reads as a word (NS24 of TRANS 24) is no
	// plate however well it fits a format.
	for i, rd := range reads {
		for j, o := range reads {
			if i == j || len(o.Text) <= len(rd.Text) || !strings.Contains(glyphs[j], glyphs[i]) || !overlapping(rd.Box, o.Box) {
				continue
			}
			switch {
			case wordLike(o.Text) && o.Rows == 1 && len(o.Text) <= len(rd.Text)+3:
				key[i] *= wordPiece
			case lowCut(o, rd):
				// a box that cut the glyphs' height (the upper half of
				// AK68919, where the plate's rim read as a last 1) does
				// not vouch for more than the whole line's reading
			case o.Confidence >= extendsBy(rd, o)*rd.Confidence && (o.Country != genericFormatID || rd.Country == genericFormatID):
				// (a free reading does not displace a format's: the S of
				// some lettering above 17CS302 is no row of its plate)
				key[i] = math.Min(key[i], key[j]*0.99)
			}
		}
	}
	idx := make([]int, len(reads))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return key[idx[a]] > key[idx[b]] })
	var out []Read
	for _, i := range idx {
		rd := reads[i]
		if rd.Confidence < minConf {
			continue
		}
		keep := true
		for _, o := range out {
			if overlapping(rd.Box, o.Box) {
				keep = false
				break
			}
		}
		if keep {
			out = append(out, rd)
		}
	}
	return out
}

// lowCut reports whether o's box is of a row as rd's and far lower (under
// lowShare of its height): a cut across the glyphs, not the whole line.
func lowCut(o, rd Read) bool {
	return o.Rows == rd.Rows && float64(o.Box.Dy()) < lowShare*float64(rd.Box.Dy())
}

// lowShare is the share of a line's box height below which a box of the
// same place cut its glyphs.
const lowShare = 0.6

// extendsShare is how much less certain a reading that holds another's text
// and more may be and still be kept in its place; freeExtendsShare where
// that reading is a format's and the other a free reading of no format (a
// box cut short read B5633 beside a Belarusian B5633A0, 227Y1 beside a
// Kazakh 227YI98): no format vouches that the shorter text is the whole
// plate.
const (
	extendsShare     = 0.75
	freeExtendsShare = 0.5
)

// extendsBy is the share of rd's confidence a reading o that holds rd's
// text and more needs to be kept in its place.
func extendsBy(rd, o Read) float64 {
	if rd.Country == genericFormatID && o.Country != genericFormatID {
		return freeExtendsShare
	}
	return extendsShare
}

// wordPiece scales the rank of a read that is a piece of a word.
const wordPiece = 0.3

// holdsShare is the share of a box that another holding it covers.
const holdsShare = 0.8

// holds reports whether box a covers most of box b.
func holds(a, b image.Rectangle) bool {
	in := a.Intersect(b)
	return !in.Empty() && float64(in.Dx()*in.Dy()) >= holdsShare*float64(b.Dx()*b.Dy())
}

// overlapping reports whether two read boxes share more than half of the
// smaller one.
func overlapping(a, b image.Rectangle) bool {
	in := a.Intersect(b)
	return !in.Empty() && float64(in.Dx()*in.Dy()) > 0.5*float64(min(a.Dx()*a.Dy(), b.Dx()*b.Dy()))
}
