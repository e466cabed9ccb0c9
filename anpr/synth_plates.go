package anpr

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"math"
	"strings"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gomonobold"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
)

// SynthGroups are the country groups of the evaluation corpus (one table
// row each), in the order `kuzet anpr synth --country all` writes them.
var SynthGroups = []struct {
	Name      string
	Countries []string
}{
	{"kz", []string{"KZ"}},
	{"ru", []string{"RU"}},
	{"by", []string{"BY"}},
	{"central-asia", []string{"KG", "UZ", "TJ", "TM"}},
	{"caucasus", []string{"AM", "AZ", "GE"}},
	{"mn-cn", []string{"MN", "CN"}},
	{"tr", []string{"TR"}},
	{"ua-md", []string{"UA", "MD"}},
	{"eu-north", []string{"PL", "LT", "LV", "EE"}},
	{"eu-west", []string{"DE", "NL", "AT", "IT", "FR", "ES"}},
	{"eu-east", []string{"CZ", "SK", "HU", "RO", "BG"}},
}

// SynthGroup returns the countries of a group name, or of a single
// country code; nil when neither is known.
func SynthGroup(name string) []string {
	for _, g := range SynthGroups {
		if strings.EqualFold(g.Name, name) {
			return g.Countries
		}
	}
	gs, unknown := GrammarsFor([]string{name})
	if len(unknown) > 0 || len(gs) == 0 {
		return nil
	}
	return []string{gs[0].Country}
}

type bandKind int

const (
	bandNone bandKind = iota
	bandEU            // blue band, ring of stars, country code
	bandFlag          // national flag over the country code
)

type emblemKind int

const (
	emblemNone  emblemKind = iota
	emblemArms             // a coloured coat of arms (SK, AT)
	emblemSeals            // two round seals stacked (DE)
	emblemHanzi            // the province character of a Chinese plate
)

// plateStyle is how a country's plates look, as far as reading them goes.
type plateStyle struct {
	band     bandKind
	code     string
	flag     []color.RGBA // stripes, top to bottom
	right    bool         // flag and code at the right end (KG, UZ, TJ)
	bg, fg   color.RGBA
	lead     int        // leading characters in a region cell (KG, UZ)
	cell     int        // trailing characters in a region cell (KZ, TJ; RU: len-6)
	emblem   emblemKind // between the district and the rest (or before all: CN)
	dash     bool       // groups joined by dashes
	square   bool       // two-row plates exist
	monoFont bool
}

var (
	white  = color.RGBA{245, 245, 240, 255}
	black  = color.RGBA{15, 15, 15, 255}
	euBlue = color.RGBA{0, 51, 153, 255}
	yellow = color.RGBA{250, 210, 30, 255}
	red    = color.RGBA{200, 30, 40, 255}
	green  = color.RGBA{0, 130, 70, 255}
	sky    = color.RGBA{0, 160, 210, 255}
	blue   = color.RGBA{0, 70, 170, 255}
	orange = color.RGBA{240, 140, 20, 255}
)

func styleOf(country string) plateStyle {
	eu := func(code string) plateStyle {
		return plateStyle{band: bandEU, code: code, bg: white, fg: black}
	}
	flag := func(code string, stripes ...color.RGBA) plateStyle {
		return plateStyle{band: bandFlag, code: code, flag: stripes, bg: white, fg: black}
	}
	var s plateStyle
	switch country {
	case "KZ":
		s = flag("KZ", sky, yellow, sky)
		s.cell, s.square = 2, true
	case "RU":
		s = plateStyle{bg: white, fg: black, square: true}
	case "BY":
		s = flag("BY", red, red, green)
		s.square = true
	case "KG":
		s = flag("KG", red, yellow, red)
		s.right, s.lead = true, 2
	case "UZ":
		s = flag("UZ", sky, white, green)
		s.right, s.lead = true, 2
	case "TJ":
		s = flag("TJ", red, white, green)
		s.right, s.cell = true, 2
	case "TM":
		s = flag("TM", green, green, red)
	case "AM":
		s = flag("AM", red, blue, orange)
	case "AZ":
		s = flag("AZ", sky, red, green)
		s.dash = true
	case "GE":
		s = flag("GE", white, red, white)
		s.dash = true
	case "MN":
		s = flag("MGL", red, blue, red)
	case "CN":
		s = plateStyle{bg: color.RGBA{20, 60, 180, 255}, fg: white, emblem: emblemHanzi}
	case "TR":
		s = eu("TR")
	case "UA":
		s = flag("UA", blue, yellow)
		s.square = true
	case "MD":
		s = flag("MD", blue, yellow, red)
	case "PL":
		s = eu("PL")
	case "LT":
		s = eu("LT")
	case "LV":
		s = eu("LV")
		s.dash = true
	case "EE":
		s = eu("EST")
	case "DE":
		s = eu("D")
		s.emblem, s.monoFont = emblemSeals, true
	case "NL":
		s = eu("NL")
		s.bg, s.dash = color.RGBA{250, 200, 20, 255}, true
	case "AT":
		s = eu("A")
		s.emblem = emblemArms
	case "IT":
		s = eu("I")
	case "FR":
		s = eu("F")
		s.dash = true
	case "ES":
		s = eu("E")
	case "CZ":
		s = eu("CZ")
	case "SK":
		s = eu("SK")
		s.emblem = emblemArms
	case "HU":
		s = eu("H")
		s.dash = true
	case "RO":
		s = eu("RO")
	case "BG":
		s = eu("BG")
	default: // BR: Mercosur
		s = plateStyle{bg: white, fg: black, monoFont: true}
	}
	return s
}

// RandomPlate picks a plate string of country (an ISO code of a built-in
// grammar) in one of its formats, and whether it is drawn in two rows.
func (s *Synthesizer) RandomPlate(country string) (text string, rows int, err error) {
	gs, _ := GrammarsFor([]string{country})
	if len(gs) == 0 {
		return "", 0, fmt.Errorf("synthetic plates: unknown country %q", country)
	}
	g := gs[0]
	r := s.rng
	// The first format is the common one.
	f := g.Formats[0]
	if len(g.Formats) > 1 && r.IntN(2) == 0 {
		f = g.Formats[1+r.IntN(len(g.Formats)-1)]
	}
	b := []byte(f)
	series := g.series()
	for i := range b {
		switch b[i] {
		case 'N':
			b[i] = byte('0' + r.IntN(10))
		case 'D':
			b[i] = byte('2' + r.IntN(8))
		case 'L':
			b[i] = g.Letters[r.IntN(len(g.Letters))]
		case 'S':
			b[i] = series[r.IntN(len(series))]
		case 'A':
			if r.IntN(2) == 0 {
				b[i] = byte('0' + r.IntN(10))
			} else {
				b[i] = series[r.IntN(len(series))]
			}
		default: // a lower-case letter stands for itself (KZ F, H)
			b[i] -= 'a' - 'A'
		}
	}
	rows = 1
	st := styleOf(g.Country)
	if st.square && r.Float64() < 0.25 {
		rows = 2
	}
	return string(b), rows, nil
}

// groups splits a plate string into the groups printed with gaps between
// them: runs of letters and of digits.
func groups(text string) []string {
	var out []string
	for i := 0; i < len(text); {
		j := i + 1
		isD := text[i] >= '0' && text[i] <= '9'
		for j < len(text) && (text[j] >= '0' && text[j] <= '9') == isD {
			j++
		}
		out = append(out, text[i:j])
		i = j
	}
	return out
}

// NationalPlate draws a plate of country with text in one or two rows, with
// its band or flag, region cell and emblem.
func (s *Synthesizer) NationalPlate(country, text string, rows int) (*image.RGBA, error) {
	st := styleOf(strings.ToUpper(country))
	W, H := 520, 112
	if rows == 2 {
		W, H = 300, 210
	}
	img := image.NewRGBA(image.Rect(0, 0, W, H))
	draw.Draw(img, img.Bounds(), &image.Uniform{black}, image.Point{}, draw.Src)
	draw.Draw(img, image.Rect(4, 4, W-4, H-4), &image.Uniform{st.bg}, image.Point{}, draw.Src)
	face, err := s.face(s.bold, "bold", 90)
	if err != nil {
		return nil, err
	}
	if st.monoFont {
		if face, err = s.monoFace(); err != nil {
			return nil, err
		}
	}
	small, err := s.face(s.bold, "bold", 22)
	if err != nil {
		return nil, err
	}
	inner := image.Rect(8, 8, W-8, H-8)
	rowH := inner.Dy() / rows
	top := image.Rect(inner.Min.X, inner.Min.Y, inner.Max.X, inner.Min.Y+rowH)
	// Band or flag.
	if st.band != bandNone {
		bw := 56
		var band image.Rectangle
		if st.right {
			band = image.Rect(top.Max.X-bw, top.Min.Y, top.Max.X, top.Max.Y)
			top.Max.X = band.Min.X - 4
		} else {
			band = image.Rect(top.Min.X, top.Min.Y, top.Min.X+bw, top.Max.Y)
			top.Min.X = band.Max.X + 4
		}
		s.drawBand(img, band, st, small)
	}
	body := text
	var lead, cell string
	if st.lead > 0 && len(body) > st.lead+3 {
		lead, body = body[:st.lead], body[st.lead:]
	}
	n := st.cell
	if strings.EqualFold(country, "ru") {
		n = 2 // region 77 or 777 in the cell
		if len(text) == 9 {
			n = 3
		}
	}
	if n > 0 && len(body) > n+3 {
		body, cell = body[:len(body)-n], body[len(body)-n:]
	}
	if rows == 2 {
		// Two rows: the region cell (or the second half) below.
		bottom := image.Rect(inner.Min.X, inner.Min.Y+rowH, inner.Max.X, inner.Max.Y)
		if cell == "" {
			g := groups(body)
			k := 1
			for k < len(g)-1 && len(strings.Join(g[:k], "")) < len(body)/2 {
				k++
			}
			body, cell = strings.Join(g[:k], ""), strings.Join(g[k:], "")
		}
		if lead != "" {
			body = lead + body
		}
		s.drawGroups(img, face, groups(body), top, st, false)
		s.drawGroups(img, face, groups(cell), bottom.Inset(6), st, false)
		return img, nil
	}
	if lead != "" {
		c := image.Rect(top.Min.X, top.Min.Y, top.Min.X+84, top.Max.Y)
		draw.Draw(img, image.Rect(c.Max.X, 4, c.Max.X+3, H-4), &image.Uniform{black}, image.Point{}, draw.Src)
		s.drawGroups(img, face, []string{lead}, c, st, false)
		top.Min.X = c.Max.X + 6
	}
	if cell != "" {
		cw := 40 + 36*len(cell)
		c := image.Rect(top.Max.X-cw, top.Min.Y, top.Max.X, top.Max.Y)
		draw.Draw(img, image.Rect(c.Min.X-3, 4, c.Min.X, H-4), &image.Uniform{black}, image.Point{}, draw.Src)
		if strings.EqualFold(country, "ru") {
			s.drawGroups(img, face, []string{cell}, image.Rect(c.Min.X+4, c.Min.Y, c.Max.X-4, c.Min.Y+66), st, false)
			drawText(img, small, "RUS", c.Min.X+8, c.Max.Y-4, black)
			fx := c.Min.X + 60
			for i, col := range []color.RGBA{white, {0, 57, 166, 255}, {213, 43, 30, 255}} {
				draw.Draw(img, image.Rect(fx, c.Max.Y-22+6*i, fx+24, c.Max.Y-16+6*i), &image.Uniform{col}, image.Point{}, draw.Src)
			}
		} else {
			s.drawGroups(img, face, []string{cell}, c, st, false)
		}
		top.Max.X = c.Min.X - 6
	}
	s.drawGroups(img, face, groups(body), top, st, st.emblem != emblemNone)
	return img, nil
}

// monoFace is Go Mono Bold at the plates' size.
func (s *Synthesizer) monoFace() (font.Face, error) {
	if s.mono == nil {
		var err error
		if s.mono, err = opentype.Parse(gomonobold.TTF); err != nil {
			return nil, fmt.Errorf("parse Go Mono Bold font: %w", err)
		}
	}
	return s.face(s.mono, "monobold", 90)
}

// drawBand draws a country band: the EU's blue with a ring of stars, or a
// national flag, with the country code below.
func (s *Synthesizer) drawBand(img *image.RGBA, band image.Rectangle, st plateStyle, small font.Face) {
	if st.band == bandEU {
		draw.Draw(img, band, &image.Uniform{euBlue}, image.Point{}, draw.Src)
		cx, cy := float64(band.Min.X+band.Max.X)/2, float64(band.Min.Y)+0.32*float64(band.Dy())
		for k := 0; k < 12; k++ {
			a := float64(k) * math.Pi / 6
			fillCircleBlend(img, cx+14*math.Cos(a), cy+14*math.Sin(a), 2.6, yellow, 1)
		}
		d := font.Drawer{Face: small}
		w := d.MeasureString(st.code).Ceil()
		drawText(img, small, st.code, (band.Min.X+band.Max.X-w)/2, band.Max.Y-8, white)
		return
	}
	fh := band.Dy() * 3 / 5
	for i, c := range st.flag {
		y0 := band.Min.Y + fh*i/len(st.flag)
		y1 := band.Min.Y + fh*(i+1)/len(st.flag)
		draw.Draw(img, image.Rect(band.Min.X+4, y0+4, band.Max.X-4, y1+4), &image.Uniform{c}, image.Point{}, draw.Src)
	}
	if len(st.flag) == 3 && st.flag[0] == st.flag[2] {
		// A sun or emblem on the middle stripe.
		fillCircle(img, (band.Min.X+band.Max.X)/2, band.Min.Y+4+fh/2, fh/6, yellow)
	}
	d := font.Drawer{Face: small}
	w := d.MeasureString(st.code).Ceil()
	drawText(img, small, st.code, (band.Min.X+band.Max.X-w)/2, band.Max.Y-6, st.fg)
}

// drawGroups draws character groups in r, condensed to fit, with gaps (or
// dashes) between them and, with emblem, the style's emblem after the first
// group (before all for a Chinese plate's province character).
func (s *Synthesizer) drawGroups(img *image.RGBA, face font.Face, gs []string, r image.Rectangle, st plateStyle, emblem bool) {
	sep := " "
	if st.dash {
		sep = "-"
	}
	text := strings.Join(gs, sep)
	d := font.Drawer{Face: face}
	b, _, _ := face.GlyphBounds('H')
	capH := (-b.Min.Y).Ceil()
	emblemW := 0
	if emblem {
		emblemW = capH * 3 / 5
	}
	// Go Bold's J is a bare stem with a stub of a hook, which reads as I or
	// 1 where a plate font's J has a full hook: J is drawn from Go Mono
	// Bold.
	var jFace font.Face
	if !st.monoFont && strings.ContainsRune(text, 'J') {
		var err error
		if jFace, err = s.monoFace(); err != nil {
			jFace = nil
		}
	}
	// Render on a mask at the font's size, then scale into r.
	tw := d.MeasureString(text).Ceil() + emblemW + capH/4 + strings.Count(text, "J")*capH
	th := capH + 8
	mask := image.NewAlpha(image.Rect(0, 0, tw, th))
	md := font.Drawer{Dst: mask, Src: image.Opaque, Face: face, Dot: fixed.P(0, capH+4)}
	var emblemX int
	at := 1 // the emblem's place: after the first group, or before all
	if st.emblem == emblemHanzi {
		at = 0
	}
	for i, g := range gs {
		if emblem && i == at {
			emblemX = md.Dot.X.Ceil() + capH/10
			md.Dot.X += fixed.I(emblemW + capH/5)
		}
		if i > 0 && !(emblem && i == at && !st.dash) {
			md.DrawString(sep)
		}
		for _, c := range g {
			if c == 'J' && jFace != nil {
				md.Face = jFace
			}
			md.DrawString(string(c))
			md.Face = face
		}
	}
	used := md.Dot.X.Ceil()
	// Target: capitals 70 % of the row height, condensed to fit the width.
	scaleY := 0.7 * float64(r.Dy()) / float64(capH)
	scaleX := scaleY
	if float64(used)*scaleX > float64(r.Dx())-4 {
		scaleX = (float64(r.Dx()) - 4) / float64(used)
	}
	ox := float64(r.Min.X) + (float64(r.Dx())-float64(used)*scaleX)/2
	oy := float64(r.Min.Y) + (float64(r.Dy())-float64(th)*scaleY)/2
	for y := r.Min.Y; y < r.Max.Y; y++ {
		my := int((float64(y) + 0.5 - oy) / scaleY)
		if my < 0 || my >= th {
			continue
		}
		for x := r.Min.X; x < r.Max.X; x++ {
			mx := int((float64(x) + 0.5 - ox) / scaleX)
			if mx < 0 || mx >= tw {
				continue
			}
			a := float64(mask.Pix[my*mask.Stride+mx]) / 255
			if a == 0 {
				continue
			}
			i := img.PixOffset(x, y)
			img.Pix[i] = uint8(float64(img.Pix[i])*(1-a) + float64(st.fg.R)*a)
			img.Pix[i+1] = uint8(float64(img.Pix[i+1])*(1-a) + float64(st.fg.G)*a)
			img.Pix[i+2] = uint8(float64(img.Pix[i+2])*(1-a) + float64(st.fg.B)*a)
		}
	}
	if emblem {
		ex := ox + float64(emblemX)*scaleX
		ew := float64(emblemW) * scaleX
		cy := oy + float64(capH+4)*scaleY - float64(capH)*scaleY/2
		eh := float64(capH) * scaleY
		s.drawEmblem(img, st, ex, cy, ew, eh)
	}
}

// drawEmblem draws an emblem centred at (x+w/2, cy), w wide and about h high.
func (s *Synthesizer) drawEmblem(img *image.RGBA, st plateStyle, x, cy, w, h float64) {
	rect := func(x0, y0, x1, y1 float64, c color.RGBA) {
		draw.Draw(img, image.Rect(int(x0), int(y0), int(x1), int(y1)), &image.Uniform{c}, image.Point{}, draw.Src)
	}
	switch st.emblem {
	case emblemArms:
		// A shield: red field, white double cross, blue base.
		y0, y1 := cy-0.45*h, cy+0.45*h
		rect(x, y0, x+w, y1, red)
		rect(x, y1-0.25*h, x+w, y1, blue)
		mx := x + w/2
		rect(mx-0.07*w, y0+0.1*h, mx+0.07*w, y1-0.28*h, white)
		rect(x+0.25*w, y0+0.22*h, x+0.75*w, y0+0.3*h, white)
		rect(x+0.18*w, y0+0.4*h, x+0.82*w, y0+0.48*h, white)
	case emblemSeals:
		r := math.Min(w/2, h/4.4)
		fillCircle(img, int(x+w/2), int(cy-1.1*r), int(r), color.RGBA{30, 110, 200, 255})
		fillCircle(img, int(x+w/2), int(cy+1.1*r), int(r), color.RGBA{230, 230, 225, 255})
		fillCircle(img, int(x+w/2), int(cy+1.1*r), int(r*0.5), red)
	case emblemHanzi:
		// A province character in the plate's ink: strokes of a made-up
		// Chinese glyph (the Go fonts have none).
		c := st.fg
		t := math.Max(2, 0.09*h)
		y0 := cy - 0.45*h
		rect(x+0.45*w, y0, x+0.55*w, y0+0.12*h, c)
		rect(x, y0+0.15*h, x+w, y0+0.15*h+t, c)
		rect(x+0.15*w, y0+0.3*h, x+0.85*w, y0+0.3*h+t, c)
		rect(x+0.15*w, y0+0.3*h, x+0.15*w+t, y0+0.55*h, c)
		rect(x+0.85*w-t, y0+0.3*h, x+0.85*w, y0+0.55*h, c)
		rect(x+0.15*w, y0+0.55*h-t, x+0.85*w, y0+0.55*h, c)
		rect(x+0.47*w, y0+0.55*h, x+0.53*w+t/2, y0+0.9*h, c)
		rect(x+0.1*w, y0+0.68*h, x+0.3*w, y0+0.68*h+t, c)
		rect(x+0.7*w, y0+0.68*h, x+0.9*w, y0+0.68*h+t, c)
	}
}
