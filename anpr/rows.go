package anpr

import (
	"image"
	"math"
)

// The detector can miss a plate's second row where dirt or glare breaks it
// up (the region digits 25 under a square K486MC, read K486MC alone: a
// whole format of another country, at 0.99). The plate itself still shows:
// its colour runs on past the line it was read from by the height of
// another row. There, in a still, that row is read from the plate's own
// extent and offered to the grouping of lines as a second row, where the
// joined reading competes with the line's own (see suppress).
const (
	rowReach  = 1.5  // line heights looked at above and below a line
	rowPlate  = 0.3  // share of a row's pixels in the plate's colour for it to be plate
	rowNear   = 0.3  // a pixel within this share of the plate's luminance from its colour (summed channels) is of that colour
	rowBeyond = 0.45 // line heights the plate runs on past the line for a row to fit
	rowInside = 0.15 // line heights of the line's own box a probed row starts inside
	rowMost   = 1.3  // line heights a probed row spans at most
	rowFrom   = 0.25 // line heights inside the box the plate's extent is followed from
)

// otherRows returns the quads of rows of q's plate above and below q that
// the plate's colour shows room for, in q's frame (q is a detected line).
func otherRows(img *image.RGBA, q Quad) []Quad {
	h, w := q.height(), q.width()
	if h < 8 || w < h {
		return nil
	}
	W := clampInt(int(math.Round(recStretch*recHeight*w/h)), 16, recMaxWidth)
	lineTop := int(math.Round(rowReach * recHeight)) // the strip row where the line starts
	H := 2*lineTop + recHeight
	px := rectifyTo(img, q.part(0, -rowReach, 1, 1+rowReach), W, H)
	c := cleanLine(px[3*W*lineTop:3*W*(lineTop+recHeight)], W, recHeight)
	bgLum := c.bgLum()
	if bgLum < 60 {
		return nil // a dark plate's colour is not told from the vehicle's
	}
	plate := func(y int) bool {
		n := 0
		for x := range W {
			i := 3 * (y*W + x)
			if colourDist([3]float32{px[i], px[i+1], px[i+2]}, c.bg) < rowNear*bgLum {
				n++
			}
		}
		return float64(n) >= rowPlate*float64(W)
	}
	// The plate's extent, followed row by row from just inside the line's
	// box: glyphs and dirt leave plate colour in a third of a row or more,
	// the plate's edge or the vehicle beyond leave none.
	from := int(math.Round(rowFrom * recHeight))
	end := lineTop + recHeight - from
	for end < H && plate(end) {
		end++
	}
	start := lineTop + from
	for start > 0 && plate(start-1) {
		start--
	}
	if end == H || start == 0 {
		return nil // the colour runs on out of the strip: a vehicle's, not a plate's
	}
	var out []Quad
	in, most := int(math.Round(rowInside*recHeight)), int(math.Round(rowMost*recHeight))
	v := func(y int) float64 { return float64(y)/recHeight - rowReach }
	if beyond := end - (lineTop + recHeight); float64(beyond) >= rowBeyond*recHeight {
		y0 := lineTop + recHeight - in
		out = append(out, q.part(0, v(y0), 1, v(min(end, y0+most))))
	}
	if beyond := lineTop - start; float64(beyond) >= rowBeyond*recHeight {
		y1 := lineTop + in
		out = append(out, q.part(0, v(max(start, y1-most)), 1, v(y1)))
	}
	return out
}

// probeRows reads, in a still, the rows that otherRows finds beside the
// lines read as a plate surely (decoded to a format, confidently) with no
// row stacked on them already, and returns them as lines of their own.
func (r *Recognizer) probeRows(img *image.RGBA, lines []line) ([]line, error) {
	var out []line
	for _, l := range lines {
		if !l.decoded || !l.readOK || l.read.Country == genericFormatID || l.read.Confidence < confidentRead {
			continue
		}
		if stackedOn(l.quad, lines) {
			continue
		}
		for _, q := range otherRows(img, l.quad) {
			lp, look, shape, err := r.recognizeQuad(img, q, true)
			if err != nil {
				return nil, err
			}
			if len(greedy(lp).text) < 2 {
				continue // a plate's margin, a bolt, a sticker
			}
			out = append(out, line{quad: q, lp: lp, look: look, shape: shape, root: l.root})
		}
	}
	return out, nil
}

// stackedOn reports whether a line of lines is stacked on q, above or
// below (see stacked).
func stackedOn(q Quad, lines []line) bool {
	for _, m := range lines {
		if m.quad != q && (stacked(q, m.quad) || stacked(m.quad, q)) {
			return true
		}
	}
	return false
}
