package anpr

import (
	"image"
	"math"
	"slices"
	"sort"
)

// bandSeen is what the geometry found at one end of a plate line.
type bandSeen uint8

const (
	seenNothing bandSeen = iota // nothing, or the end lies outside the crop
	seenBlue                    // the EU's blue band (Turkey's too)
	seenFlag                    // a band of other colours: a national flag
	seenDark                    // a band whose colour the picture does not show
)

// plateBg is the plate's own colour.
type plateBg uint8

const (
	bgUnknown plateBg = iota // grey (infrared) or too dark to tell
	bgLight                  // white or grey
	bgYellow
	bgBlue
	bgOther
)

// plateLook is what the geometry and colours of a plate line tell about
// its country.
type plateLook struct {
	left, right bandSeen
	bg          plateBg
}

// twoRows is the look of a two-row plate whose top row looks like l and
// bottom row like b: the band is on the top row.
func (l plateLook) twoRows(b plateLook) plateLook { return l }

// countryLook is what a country's plates show, as far as the look can tell.
type countryLook struct {
	left, right endKind // at either end of the characters
	bg          []plateBg
}

type endKind uint8

const (
	endPlain endKind = iota
	endBlue          // the EU's, or Turkey's
	endFlag          // a national flag with the country code
	endMaybe         // some plates have one (IT, FR: region or department)
)

// plateStyles: EU members and Turkey have the blue band at the left end,
// most CIS states a flag with the country code; Russia, China and Brazil
// have nothing there; Kyrgyzstan, Uzbekistan and Tajikistan have the flag
// at the right end. Dutch plates are yellow, Chinese blue (yellow on
// lorries and buses), the others white. US plates come in every colour
// (no colours listed: the colour tells nothing) but have nothing at
// either end.
var plateStyles = func() map[string]countryLook {
	m := map[string]countryLook{}
	light := []plateBg{bgLight}
	for _, c := range []string{"PL", "LT", "LV", "EE", "DE", "CZ", "SK", "HU", "RO", "BG", "AT", "ES", "TR"} {
		m[c] = countryLook{endBlue, endPlain, light}
	}
	m["IT"] = countryLook{endBlue, endMaybe, light}
	m["FR"] = countryLook{endBlue, endMaybe, light}
	m["NL"] = countryLook{endBlue, endPlain, []plateBg{bgYellow}}
	for _, c := range []string{"KZ", "BY", "TM", "AM", "AZ", "GE", "MN", "UA", "MD"} {
		m[c] = countryLook{endFlag, endPlain, light}
	}
	m["RU"] = countryLook{endPlain, endPlain, light}
	m["BR"] = countryLook{endPlain, endPlain, []plateBg{bgLight, bgOther}}
	for _, c := range []string{"KG", "UZ", "TJ"} {
		m[c] = countryLook{endPlain, endFlag, light}
	}
	m["CN"] = countryLook{endPlain, endPlain, []plateBg{bgBlue, bgYellow}}
	m["US"] = countryLook{endPlain, endPlain, nil}
	return m
}()

// Weights of the look's evidence, in the decoder's log units. A plate
// colour seen (blue, yellow) supports the countries whose plates have it
// and counts against the others; a light plate counts against the blue and
// yellow ones. A band's colour seen at an end supports the countries with
// such a band there and counts against the others; where the picture shows
// colours but no band, the countries that have one there lose a little
// (the band may lie outside the crop).
const (
	lookColourFor     = float32(1.5)
	lookColourAgainst = float32(1.0)
	lookLightAgainst  = float32(0.7)
	lookYellowFor     = float32(0.6)
	lookYellowAgainst = float32(0.3)
	lookBandFor       = float32(0.6)
	lookBandAgainst   = float32(0.6)
	lookBandMissing   = float32(0.3)
)

// evidence is the log weight the look gives country.
func (l plateLook) evidence(country string) float32 {
	st, ok := plateStyles[country]
	if !ok || l.bg == bgUnknown {
		return 0 // with no colours the bands cannot be told apart either
	}
	var e float32
	has := func(bg plateBg) bool { return slices.Contains(st.bg, bg) }
	// A nil st.bg is a country of every colour: its colour tells nothing.
	if st.bg != nil {
		switch l.bg {
		case bgBlue:
			if has(bgBlue) {
				e += lookColourFor
			} else {
				e -= lookColourAgainst
			}
		case bgYellow:
			// Yellowed, dirty or lamp-lit white plates look yellow too.
			if has(bgYellow) {
				e += lookYellowFor
			} else {
				e -= lookYellowAgainst
			}
		case bgLight:
			if !has(bgLight) {
				e -= lookLightAgainst
			}
		}
	}
	end := func(seen bandSeen, want endKind) float32 {
		switch {
		case seen == seenBlue && want == endBlue, seen == seenFlag && want == endFlag:
			return lookBandFor
		case seen == seenBlue || seen == seenFlag:
			if want == endMaybe {
				return 0
			}
			return -lookBandAgainst
		case seen == seenNothing && (want == endBlue || want == endFlag):
			return -lookBandMissing
		}
		return 0
	}
	return e + end(l.left, st.left) + end(l.right, st.right)
}

// The look of a plate is taken from a strip along its text line, reaching
// lookReach line heights beyond either end, rectified lookHeight pixels
// high. A band lies next to the characters (within bandGap line heights),
// is bandMin to bandMax line heights wide and ends inside the strip: a run
// of colour that goes on to the strip's end is the vehicle, not a band.
const (
	lookReach  = 1.3
	lookHeight = 32
	bandGap    = 0.5
	bandMin    = 0.25
	bandMax    = 1.2
)

// lookAround tells what surrounds the text line q of img: the plate's own
// colour under the characters, and a band at either end of them.
func lookAround(img *image.RGBA, q Quad) plateLook {
	var l plateLook
	h, w := q.height(), q.width()
	if h < 6 || w < h {
		return l
	}
	ext := lookReach * h / w
	strip := widen(q, ext, ext)
	W := clampInt(int(math.Round(lookHeight*(w+2*lookReach*h)/h)), 16, 640)
	px := rectifyTo(img, strip, W, lookHeight)
	bw, bh := W/cleanBlock, lookHeight/cleanBlock
	blocks := lineBlocks(px, W, bw, bh)
	lineH := float64(lookHeight) / cleanBlock // the line's height in blocks
	xt0 := int(math.Round(lookReach * lineH))
	xt1 := bw - xt0
	if xt1-xt0 < 2 {
		return l
	}
	// A picture without colours (infrared, or a white plate on a grey car)
	// tells nothing of bands and plate colours.
	grey := 0
	for _, b := range blocks {
		if b.chroma < 12 {
			grey++
		}
	}
	if 20*grey >= 19*len(blocks) {
		return l
	}
	// The plate's colour, from the blocks under the characters.
	var text []block
	for y := 0; y < bh; y++ {
		for x := xt0; x < xt1; x++ {
			text = append(text, blocks[y*bw+x])
		}
	}
	bg, bgLum := plateBackground(text)
	var plate block
	l.bg, plate = classifyPlate(text)
	bgChroma := chroma(bg.rgb())
	foreign := func(b block) bool {
		d := colourDist(b.rgb(), bg.rgb())
		return b.chroma > max(30, 0.35*bgLum, 2.5*bgChroma) && d > 0.6*bgLum
	}
	switch l.bg {
	case bgBlue:
		return l // light characters on blue: the plate itself is the colour
	case bgYellow:
		// On a yellow plate a band is a saturated colour of another hue.
		foreign = func(b block) bool {
			d := abs32(b.hue() - plate.hue())
			return b.chroma > max(30, 0.35*max(b.r, b.g, b.b)) && min(d, 360-d) > 60
		}
	}
	r0, r1 := bh/6, bh-bh/6
	cols := make([]block, bw)
	share := make([]float32, bw)
	for x := 0; x < bw; x++ {
		var m block
		n := 0
		for y := r0; y < r1; y++ {
			b := blocks[y*bw+x]
			m.r, m.g, m.b = m.r+b.r, m.g+b.g, m.b+b.b
			if foreign(b) {
				n++
			}
		}
		k := float32(r1 - r0)
		cols[x] = block{r: m.r / k, g: m.g / k, b: m.b / k}
		share[x] = float32(n) / k
	}
	band := func(inner, step int) bandSeen {
		gap := int(math.Round(bandGap * lineH))
		// The band's inner edge: the first coloured column going outwards
		// from a little inside the text's end.
		e := -1
		for x := inner - step*int(math.Round(0.6*lineH)); x != inner+step*gap && x >= 0 && x < bw; x += step {
			if share[x] >= 0.4 {
				e = x
				break
			}
		}
		if e < 0 {
			return seenNothing
		}
		// Outwards while the columns stay coloured and alike.
		a := e
		for {
			nx := a + step
			if nx < 0 || nx >= bw {
				return seenNothing // runs on to the strip's end: the vehicle
			}
			c0, c1 := cols[a], cols[nx]
			if share[nx] < 0.4 || colourDist(c0.rgb(), c1.rgb()) > 90 {
				break
			}
			a = nx
		}
		width := float64(abs(a-e) + 1)
		if width < bandMin*lineH || width > bandMax*lineH {
			return seenNothing
		}
		lo, hi := min(a, e), max(a, e)+1
		return bandColour(blocks, bw, r0, r1, lo, hi, foreign)
	}
	l.left = band(xt0, -1)
	l.right = band(xt1-1, 1)
	return l
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

// plateBackground is the colour and luminance of the plate under the
// characters: the mean of the blocks as bright as its 80th percentile
// (on a coloured plate with light characters, theirs).
func plateBackground(text []block) (block, float32) {
	lums := make([]float32, len(text))
	for i, b := range text {
		lums[i] = b.lum
	}
	sortFloat32s(lums)
	bgLum := lums[len(lums)*4/5]
	var m block
	var n float32
	for _, b := range text {
		if b.lum >= 0.9*bgLum {
			m.r, m.g, m.b = m.r+b.r, m.g+b.g, m.b+b.b
			n++
		}
	}
	if n > 0 {
		m.r, m.g, m.b = m.r/n, m.g/n, m.b/n
	}
	return m, bgLum
}

// bandColour tells what the band-like run of columns [x0, x1) is made of:
// the EU's (or Turkey's) blue, another colour (a flag), or only dark
// blocks (a band whose colour the picture does not show).
func bandColour(blocks []block, bw, r0, r1, x0, x1 int, foreign func(block) bool) bandSeen {
	n, blue := 0, 0
	for y := r0; y < r1; y++ {
		for x := x0; x < x1; x++ {
			b := blocks[y*bw+x]
			if !foreign(b) {
				continue
			}
			n++
			if h := b.hue(); h >= 205 && h <= 255 && b.chroma > 0.45*max(b.r, b.g, b.b) {
				blue++
			}
		}
	}
	switch {
	case n == 0:
		return seenDark
	case 4*blue >= 3*n:
		return seenBlue
	default:
		return seenFlag
	}
}

// classifyPlate classifies the plate's own colour from the blocks under its
// characters, the mean of those around the median brightness (characters
// are the darkest blocks of a light plate and the brightest of a dark one),
// and returns that mean.
func classifyPlate(text []block) (plateBg, block) {
	lums := make([]float32, len(text))
	for i, b := range text {
		lums[i] = b.lum
	}
	sortFloat32s(lums)
	lo, hi := lums[len(lums)*2/5], lums[len(lums)*13/20]
	var m block
	n := float32(0)
	for _, b := range text {
		if b.lum < lo || b.lum > hi {
			continue
		}
		m.r, m.g, m.b = m.r+b.r, m.g+b.g, m.b+b.b
		n++
	}
	if n == 0 {
		return bgUnknown, m
	}
	m.r, m.g, m.b = m.r/n, m.g/n, m.b/n
	mx := max(m.r, m.g, m.b)
	spread := chroma(m.rgb())
	if mx < 25 {
		return bgUnknown, m
	}
	h := m.hue()
	switch {
	case spread < 0.25*mx:
		return bgLight, m
	case h >= 35 && h <= 70 && spread > 0.4*mx:
		return bgYellow, m
	case h >= 200 && h <= 250 && spread > 0.4*mx:
		return bgBlue, m
	}
	return bgOther, m
}

func sortFloat32s(v []float32) { sort.Slice(v, func(i, j int) bool { return v[i] < v[j] }) }

// banded reports whether a band or flag was seen at either end: the line is
// a plate's, not a date or a phone number painted on the vehicle.
func (l plateLook) banded() bool {
	return l.left == seenBlue || l.left == seenFlag || l.right == seenBlue || l.right == seenFlag
}
