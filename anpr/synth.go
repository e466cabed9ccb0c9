package anpr

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"math"
	"math/rand/v2"
	"strings"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
)

// SynthCountries are the countries PlateText and Plate draw in the layout
// of the earlier test sets; NationalPlate and Sample draw every built-in
// grammar (see SynthGroups).
var SynthCountries = []string{"kz", "ru", "ua"}

// Synthesizer draws synthetic scenes with one plate each, for tests and for
// measuring recognition where no labelled photos exist. Not safe for
// concurrent use.
type Synthesizer struct {
	rng          *rand.Rand
	bold, normal *opentype.Font
	mono         *opentype.Font // parsed when first needed
	faces        map[string]font.Face
}

// NewSynthesizer prepares the Go fonts; seed makes the output reproducible.
func NewSynthesizer(seed uint64) (*Synthesizer, error) {
	bold, err := opentype.Parse(gobold.TTF)
	if err != nil {
		return nil, fmt.Errorf("parse Go Bold font: %w", err)
	}
	normal, err := opentype.Parse(goregular.TTF)
	if err != nil {
		return nil, fmt.Errorf("parse Go Regular font: %w", err)
	}
	return &Synthesizer{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), bold: bold, normal: normal, faces: map[string]font.Face{}}, nil
}

func (s *Synthesizer) face(f *opentype.Font, name string, size float64) (font.Face, error) {
	key := fmt.Sprintf("%s/%.0f", name, size)
	if fc, ok := s.faces[key]; ok {
		return fc, nil
	}
	fc, err := opentype.NewFace(f, &opentype.FaceOptions{Size: size, DPI: 72, Hinting: font.HintingFull})
	if err != nil {
		return nil, fmt.Errorf("font face %s: %w", key, err)
	}
	s.faces[key] = fc
	return fc, nil
}

// SynthConditions choose the degradations of a scene.
type SynthConditions struct {
	Night bool    // dark, low contrast, strong noise
	Dirt  bool    // smudges over the plate
	Blur  float64 // box-blur radius in pixels
	Noise float64 // Gaussian noise sigma in 8-bit levels
	// IR is an infrared night picture: grey, the retroreflective plate
	// bright against a dark scene.
	IR     bool
	Rain   bool    // streaks of rain over the scene
	Glare  bool    // a bright reflection on part of the plate
	Motion float64 // horizontal motion blur, in pixels
	// Yaw turns the plate about its vertical axis by this many degrees
	// (perspective: the far side shorter); 0 keeps the mild skew of
	// earlier sets.
	Yaw float64
}

// PlateText draws a random plate string of country (kz, ru or ua) in one of
// its common formats.
func (s *Synthesizer) PlateText(country string) (string, error) {
	pick := func(set string) byte { return set[s.rng.IntN(len(set))] }
	digits := "0123456789"
	var b strings.Builder
	switch strings.ToLower(country) {
	case "kz":
		fmts := []string{"NNNLLLRR", "NNNLLLRR", "NNNLLRR"}
		f := fmts[s.rng.IntN(len(fmts))]
		region := fmt.Sprintf("%02d", 1+s.rng.IntN(19))
		ri := 0
		for i := 0; i < len(f); i++ {
			switch f[i] {
			case 'N':
				b.WriteByte(pick(digits))
			case 'L':
				b.WriteByte(pick(latinLetters))
			case 'R':
				b.WriteByte(region[ri])
				ri++
			}
		}
	case "ru":
		regions := []string{"77", "97", "99", "177", "199", "777", "50", "150", "78", "178", "16", "23", "54"}
		fmt.Fprintf(&b, "%c%03d%c%c%s", pick(ruLetters), s.rng.IntN(1000), pick(ruLetters), pick(ruLetters), regions[s.rng.IntN(len(regions))])
	case "ua":
		prefixes := []string{"AA", "KA", "AI", "BC", "AX", "BH", "AE", "BI", "CA", "AT", "BO", "KE"}
		fmt.Fprintf(&b, "%s%04d%c%c", prefixes[s.rng.IntN(len(prefixes))], s.rng.IntN(10000), pick(uaLetters), pick(uaLetters))
	default:
		return "", fmt.Errorf("synthetic plates: unknown country %q (want kz, ru or ua)", country)
	}
	return b.String(), nil
}

// Plate draws a flat, frontal plate of country with text, as on the
// vehicle: white with a black rim, a country band (KZ, UA) or a region cell
// (RU).
func (s *Synthesizer) Plate(country, text string) (*image.RGBA, error) {
	const W, H = 520, 112
	img := image.NewRGBA(image.Rect(0, 0, W, H))
	white := color.RGBA{245, 245, 240, 255}
	black := color.RGBA{15, 15, 15, 255}
	draw.Draw(img, img.Bounds(), &image.Uniform{black}, image.Point{}, draw.Src)
	draw.Draw(img, image.Rect(5, 5, W-5, H-5), &image.Uniform{white}, image.Point{}, draw.Src)
	main := image.Rect(10, 8, W-10, H-8)
	big, err := s.face(s.bold, "bold", 92)
	if err != nil {
		return nil, err
	}
	small, err := s.face(s.bold, "bold", 24)
	if err != nil {
		return nil, err
	}
	switch strings.ToLower(country) {
	case "kz":
		// Flag band: sky blue with a yellow sun, "KZ" below.
		band := image.Rect(10, 10, 70, H-10)
		draw.Draw(img, band, &image.Uniform{color.RGBA{0, 160, 210, 255}}, image.Point{}, draw.Src)
		fillCircle(img, 40, 40, 14, color.RGBA{250, 210, 30, 255})
		drawText(img, small, "KZ", band.Min.X+10, band.Max.Y-8, white)
		main.Min.X = 74
		// The region is drawn in a cell of its own after a thin divider.
		n := 2
		body := text[:len(text)-n]
		cell := image.Rect(W-100, 8, W-10, H-8)
		draw.Draw(img, image.Rect(cell.Min.X-4, 8, cell.Min.X-1, H-8), &image.Uniform{black}, image.Point{}, draw.Src)
		kzFace, err := s.face(s.bold, "bold", 80)
		if err != nil {
			return nil, err
		}
		centerText(img, kzFace, body, image.Rect(main.Min.X, main.Min.Y, cell.Min.X-6, main.Max.Y), black)
		centerText(img, big, text[len(text)-n:], cell, black)
	case "ru":
		n := len(text) - 6
		cell := image.Rect(W-130, 8, W-8, H-8)
		draw.Draw(img, image.Rect(cell.Min.X-4, 5, cell.Min.X, H-5), &image.Uniform{black}, image.Point{}, draw.Src)
		mid, err := s.face(s.bold, "bold", 64)
		if err != nil {
			return nil, err
		}
		centerText(img, big, text[:6], image.Rect(12, main.Min.Y, cell.Min.X-6, main.Max.Y), black)
		centerText(img, mid, text[6:6+n], image.Rect(cell.Min.X, cell.Min.Y, cell.Max.X, cell.Min.Y+70), black)
		drawText(img, small, "RUS", cell.Min.X+14, cell.Max.Y-6, black)
		// Tricolour after RUS.
		fx := cell.Min.X + 80
		for i, c := range []color.RGBA{{250, 250, 250, 255}, {0, 57, 166, 255}, {213, 43, 30, 255}} {
			draw.Draw(img, image.Rect(fx, cell.Max.Y-24+6*i, fx+26, cell.Max.Y-18+6*i), &image.Uniform{c}, image.Point{}, draw.Src)
		}
	case "ua":
		band := image.Rect(10, 10, 62, H-10)
		draw.Draw(img, band, &image.Uniform{color.RGBA{0, 70, 170, 255}}, image.Point{}, draw.Src)
		draw.Draw(img, image.Rect(20, 22, 52, 34), &image.Uniform{color.RGBA{0, 87, 184, 255}}, image.Point{}, draw.Src)
		draw.Draw(img, image.Rect(20, 34, 52, 46), &image.Uniform{color.RGBA{255, 215, 0, 255}}, image.Point{}, draw.Src)
		drawText(img, small, "UA", band.Min.X+9, band.Max.Y-8, white)
		main.Min.X = 66
		centerText(img, big, text, main, black)
	default:
		return nil, fmt.Errorf("synthetic plates: unknown country %q", country)
	}
	return img, nil
}

// Scene draws a w×h road scene with a vehicle-coloured area, some unrelated
// text and the plate warped in perspective at a random place and size, then
// degrades it. It returns the image and the plate's bounding box.
func (s *Synthesizer) Scene(plate *image.RGBA, w, h int, cond SynthConditions) (*image.RGBA, image.Rectangle, error) {
	return s.scene(plate, w, h, cond, nil)
}

// scene draws Scene; with at, the plate sits where at says, and the parts
// of the scene that belong to the vehicle and the road (colours, labels,
// tilt, dirt) come from at's own seed, so every frame of a pass shows the
// same vehicle; glare, rain and sensor noise change from frame to frame.
func (s *Synthesizer) scene(plate *image.RGBA, w, h int, cond SynthConditions, at *framePlace) (*image.RGBA, image.Rectangle, error) {
	r := s.rng
	if at != nil {
		r = at.static()
	}
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	// Background: vertical gradient of a random grey/blue tone.
	c0 := [3]float64{60 + r.Float64()*120, 60 + r.Float64()*120, 60 + r.Float64()*120}
	for y := 0; y < h; y++ {
		f := 0.6 + 0.4*float64(y)/float64(h)
		for x := 0; x < w; x++ {
			i := img.PixOffset(x, y)
			img.Pix[i] = uint8(c0[0] * f)
			img.Pix[i+1] = uint8(c0[1] * f)
			img.Pix[i+2] = uint8(c0[2] * f)
			img.Pix[i+3] = 255
		}
	}
	// Vehicle body and a few unrelated labels (plate-shape scoring must not
	// prefer them).
	pw := 130 + r.Float64()*200
	ph := pw * float64(plate.Rect.Dy()) / float64(plate.Rect.Dx())
	cx := pw/2 + 40 + r.Float64()*(float64(w)-pw-80)
	cy := ph/2 + float64(h)*0.35 + r.Float64()*(float64(h)*0.6-ph-20)
	if at != nil {
		cx, cy, pw = at.cx, at.cy, at.pw
		ph = pw * float64(plate.Rect.Dy()) / float64(plate.Rect.Dx())
	}
	body := color.RGBA{uint8(r.IntN(255)), uint8(r.IntN(255)), uint8(r.IntN(255)), 255}
	bw, bh := pw*3.2, ph*5
	draw.Draw(img, image.Rect(int(cx-bw/2), int(cy-bh*0.7), int(cx+bw/2), int(cy+bh*0.3)), &image.Uniform{body}, image.Point{}, draw.Src)
	words := []string{"CARGO", "LOGISTICS", "TRANS 24", "+7 701 555 12 34", "SERVICE", "EXPRESS"}
	label, err := s.face(s.normal, "regular", 18+float64(r.IntN(20)))
	if err != nil {
		return nil, image.Rectangle{}, err
	}
	for k := 0; k < 2; k++ {
		drawText(img, label, words[r.IntN(len(words))], int(cx-bw/2)+r.IntN(int(bw/2)+1), int(cy-bh*0.6)+r.IntN(int(bh*0.4)+1), color.RGBA{240, 240, 240, 255})
	}
	// Perspective: rotate a little and move each corner by up to 6 %.
	ang := (r.Float64() - 0.5) * 0.16
	ca, sa := math.Cos(ang), math.Sin(ang)
	var q Quad
	for k, d := range [4][2]float64{{-1, -1}, {1, -1}, {1, 1}, {-1, 1}} {
		x := d[0]*pw/2 + (r.Float64()-0.5)*0.12*pw
		y := d[1]*ph/2 + (r.Float64()-0.5)*0.12*ph
		if cond.Yaw != 0 {
			// Turned about the vertical axis: narrower, and the far
			// side shorter as seen by a camera about 4 plate widths away.
			yaw := cond.Yaw * math.Pi / 180
			z := d[0] * math.Sin(yaw) / 4
			x = d[0] * pw / 2 * math.Cos(yaw) / (1 + z)
			y = d[1]*ph/2/(1+z) + (r.Float64()-0.5)*0.04*ph
		}
		q[k] = point{cx + x*ca - y*sa, cy + x*sa + y*ca}
	}
	warpOnto(img, plate, q)
	box := q.Bounds().Intersect(img.Rect)
	fr := s.rng // what changes from frame to frame
	if cond.Glare {
		p := point{q[0].X + (0.2+0.6*fr.Float64())*(q[1].X-q[0].X), q[0].Y + fr.Float64()*(q[3].Y-q[0].Y)}
		rad := ph * (0.3 + 0.4*fr.Float64())
		glare(img, p.X, p.Y, rad, 90+90*fr.Float64())
	}
	if cond.Rain {
		rain(img, fr)
	}
	if cond.Motion >= 1 {
		motionBlur(img, int(math.Round(cond.Motion)))
	}
	if cond.Dirt {
		for k := 0; k < 3+r.IntN(5); k++ {
			p := point{q[0].X + r.Float64()*(q[1].X-q[0].X), q[0].Y + r.Float64()*(q[3].Y-q[0].Y)}
			fillCircleBlend(img, p.X, p.Y, ph*(0.05+0.15*r.Float64()), color.RGBA{90, 70, 40, 255}, 0.35+0.3*r.Float64())
		}
	}
	if cond.Blur > 0 {
		boxBlur(img, int(math.Round(cond.Blur)))
	}
	gain, offset, sigma := 1.0, 0.0, cond.Noise
	if cond.Night {
		gain, offset = 0.25+0.2*r.Float64(), 5
		sigma += 6
	}
	if cond.IR {
		infrared(img, q, 0.25+0.2*r.Float64())
		sigma += 4
	}
	for i := 0; i < len(img.Pix); i += 4 {
		for c := 0; c < 3; c++ {
			v := float64(img.Pix[i+c])*gain + offset + fr.NormFloat64()*sigma
			img.Pix[i+c] = uint8(math.Max(0, math.Min(255, v)))
		}
	}
	return img, box, nil
}

// RandomConditions picks degradations for a scene of the evaluation sets:
// mostly daylight; some low-light night and some infrared night; dirt,
// rain, glare, motion and focus blur, sensor noise; the plate turned by up
// to 30° about its vertical axis.
func (s *Synthesizer) RandomConditions() SynthConditions {
	r := s.rng
	c := SynthConditions{
		Dirt:  r.Float64() < 0.3,
		Blur:  float64(r.IntN(2)),
		Noise: 2 + r.Float64()*8,
		Rain:  r.Float64() < 0.15,
		Glare: r.Float64() < 0.15,
		Yaw:   (r.Float64()*2 - 1) * 30,
	}
	switch x := r.Float64(); {
	case x < 0.15:
		c.Night = true
	case x < 0.3:
		c.IR = true
	}
	if r.Float64() < 0.2 {
		c.Motion = 2 + 4*r.Float64()
	}
	return c
}

// Sample draws one scene of the evaluation corpus for country: a random
// plate in one of its formats (one or two rows), in a w×h scene under
// random conditions. It returns the image, the plate's box and its text.
func (s *Synthesizer) Sample(country string, w, h int) (*image.RGBA, image.Rectangle, string, error) {
	text, rows, err := s.RandomPlate(country)
	if err != nil {
		return nil, image.Rectangle{}, "", err
	}
	plate, err := s.NationalPlate(country, text, rows)
	if err != nil {
		return nil, image.Rectangle{}, "", err
	}
	img, box, err := s.Scene(plate, w, h, s.RandomConditions())
	return img, box, text, err
}

// glare brightens a disc around (cx, cy), fading to its rim.
func glare(img *image.RGBA, cx, cy, rad, peak float64) {
	b := image.Rect(int(cx-rad), int(cy-rad), int(cx+rad)+1, int(cy+rad)+1).Intersect(img.Rect)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			d := math.Hypot(float64(x)-cx, float64(y)-cy) / rad
			if d >= 1 {
				continue
			}
			add := peak * (1 - d*d)
			i := img.PixOffset(x, y)
			for c := 0; c < 3; c++ {
				img.Pix[i+c] = uint8(math.Min(255, float64(img.Pix[i+c])+add))
			}
		}
	}
}

// rain draws thin, slanted light streaks over the scene.
func rain(img *image.RGBA, r interface {
	Float64() float64
	IntN(int) int
}) {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	n := w * h / 2500
	slant := (r.Float64() - 0.5) * 0.6
	for k := 0; k < n; k++ {
		x0, y0 := r.Float64()*float64(w), r.Float64()*float64(h)
		l := 8 + r.Float64()*20
		a := 0.15 + 0.25*r.Float64()
		for t := 0.0; t < l; t++ {
			x, y := int(x0+slant*t), int(y0+t)
			if x < 0 || y < 0 || x >= w || y >= h {
				break
			}
			i := img.PixOffset(img.Rect.Min.X+x, img.Rect.Min.Y+y)
			for c := 0; c < 3; c++ {
				img.Pix[i+c] = uint8(float64(img.Pix[i+c])*(1-a) + 220*a)
			}
		}
	}
}

// motionBlur averages each pixel with the n pixels to its left (a vehicle
// moving across the view during the exposure).
func motionBlur(img *image.RGBA, n int) {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	row := make([]int, 3*(w+1))
	for y := 0; y < h; y++ {
		base := y * img.Stride
		for c := 0; c < 3; c++ {
			row[c] = 0
		}
		for x := 0; x < w; x++ {
			for c := 0; c < 3; c++ {
				row[3*(x+1)+c] = row[3*x+c] + int(img.Pix[base+4*x+c])
			}
		}
		for x := 0; x < w; x++ {
			x0 := max(0, x-n)
			for c := 0; c < 3; c++ {
				img.Pix[base+4*x+c] = uint8((row[3*(x+1)+c] - row[3*x0+c]) / (x + 1 - x0))
			}
		}
	}
}

// infrared turns the scene grey and dark, leaving the retroreflective plate
// inside q bright.
func infrared(img *image.RGBA, q Quad, gain float64) {
	m := squareToQuad(q)
	inv, ok := m.inverse()
	for y := img.Rect.Min.Y; y < img.Rect.Max.Y; y++ {
		for x := img.Rect.Min.X; x < img.Rect.Max.X; x++ {
			i := img.PixOffset(x, y)
			l := 0.299*float64(img.Pix[i]) + 0.587*float64(img.Pix[i+1]) + 0.114*float64(img.Pix[i+2])
			g := gain
			if ok {
				if u, v := inv.apply(float64(x)+0.5, float64(y)+0.5); u >= 0 && u < 1 && v >= 0 && v < 1 {
					g = 0.9
				}
			}
			v := uint8(math.Min(255, l*g))
			img.Pix[i], img.Pix[i+1], img.Pix[i+2] = v, v, v
		}
	}
}

// warpOnto draws src onto dst inside quad q (projective mapping of src's
// rectangle), sampling src bilinearly.
func warpOnto(dst, src *image.RGBA, q Quad) {
	m := squareToQuad(q)
	inv, ok := m.inverse()
	if !ok {
		return
	}
	b := q.Bounds().Intersect(dst.Rect)
	sw, sh := float64(src.Rect.Dx()), float64(src.Rect.Dy())
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			u, v := inv.apply(float64(x)+0.5, float64(y)+0.5)
			if u < 0 || u >= 1 || v < 0 || v >= 1 {
				continue
			}
			r, g, bl := bilinear(src, u*sw, v*sh)
			i := dst.PixOffset(x, y)
			dst.Pix[i], dst.Pix[i+1], dst.Pix[i+2], dst.Pix[i+3] = uint8(r), uint8(g), uint8(bl), 255
		}
	}
}

func (m homography) inverse() (homography, bool) {
	a, b, c, d, e, f, g, h, i := m[0], m[1], m[2], m[3], m[4], m[5], m[6], m[7], m[8]
	det := a*(e*i-f*h) - b*(d*i-f*g) + c*(d*h-e*g)
	if math.Abs(det) < 1e-12 {
		return homography{}, false
	}
	return homography{
		(e*i - f*h) / det, (c*h - b*i) / det, (b*f - c*e) / det,
		(f*g - d*i) / det, (a*i - c*g) / det, (c*d - a*f) / det,
		(d*h - e*g) / det, (b*g - a*h) / det, (a*e - b*d) / det,
	}, true
}

func drawText(img *image.RGBA, f font.Face, text string, x, y int, c color.Color) {
	d := font.Drawer{Dst: img, Src: image.NewUniform(c), Face: f, Dot: fixed.P(x, y)}
	d.DrawString(text)
}

// centerText draws text centred in r, its capitals vertically centred.
func centerText(img *image.RGBA, f font.Face, text string, r image.Rectangle, c color.Color) {
	d := font.Drawer{Dst: img, Src: image.NewUniform(c), Face: f}
	w := d.MeasureString(text).Ceil()
	b, _, _ := f.GlyphBounds('H')
	capH := (-b.Min.Y).Ceil()
	d.Dot = fixed.P(r.Min.X+(r.Dx()-w)/2, r.Min.Y+(r.Dy()+capH)/2)
	d.DrawString(text)
}

func fillCircle(img *image.RGBA, cx, cy, rad int, c color.RGBA) {
	fillCircleBlend(img, float64(cx), float64(cy), float64(rad), c, 1)
}

func fillCircleBlend(img *image.RGBA, cx, cy, rad float64, c color.RGBA, alpha float64) {
	b := image.Rect(int(cx-rad), int(cy-rad), int(cx+rad)+1, int(cy+rad)+1).Intersect(img.Rect)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if math.Hypot(float64(x)-cx, float64(y)-cy) > rad {
				continue
			}
			i := img.PixOffset(x, y)
			img.Pix[i] = uint8(float64(img.Pix[i])*(1-alpha) + float64(c.R)*alpha)
			img.Pix[i+1] = uint8(float64(img.Pix[i+1])*(1-alpha) + float64(c.G)*alpha)
			img.Pix[i+2] = uint8(float64(img.Pix[i+2])*(1-alpha) + float64(c.B)*alpha)
		}
	}
}

// boxBlur blurs img in place with a (2r+1)² box, separably.
func boxBlur(img *image.RGBA, r int) {
	if r <= 0 {
		return
	}
	w, h := img.Rect.Dx(), img.Rect.Dy()
	tmp := make([]uint8, len(img.Pix))
	pass := func(src, dst []uint8, n, count int, at func(line, k int) int) {
		for line := 0; line < count; line++ {
			for k := 0; k < n; k++ {
				var s [3]int
				c := 0
				for d := -r; d <= r; d++ {
					kk := clampInt(k+d, 0, n-1)
					i := at(line, kk)
					s[0] += int(src[i])
					s[1] += int(src[i+1])
					s[2] += int(src[i+2])
					c++
				}
				o := at(line, k)
				dst[o], dst[o+1], dst[o+2], dst[o+3] = uint8(s[0]/c), uint8(s[1]/c), uint8(s[2]/c), 255
			}
		}
	}
	pass(img.Pix, tmp, w, h, func(y, x int) int { return y*img.Stride + x*4 })
	pass(tmp, img.Pix, h, w, func(x, y int) int { return y*img.Stride + x*4 })
}
