package tamper

import (
	"image"
	"math"
)

// Analysis sizes. The grey picture is the frame averaged over 4x4 blocks
// (320x180 for 720p): small enough to cost a few milliseconds, large enough
// that sharpness still sees the scene's fine texture. The edge picture
// halves it again (160x90), which averages sensor noise away and leaves a
// scene's structure, compared cell by cell with the reference.
const (
	greyScale = 4
	cellsX    = 16
	cellsY    = 9
	// cellMatch is the normalised cross-correlation above which a cell's
	// edges count as the reference's.
	cellMatch = 0.4
	// textured is the share of the reference's mean cell edge energy a cell
	// needs for its match to mean anything (flat sky does not count).
	textured = 0.25
)

// features is what one frame is judged by.
type features struct {
	// luma percentiles (0..255) and the share of near-white pixels
	p5, p50, p95 float64
	bright       float64
	// sharpness is the Laplacian's variance over the grey picture's
	// variance: high for fine detail, low when blurred, and unchanged when
	// the light is scaled or offset.
	sharpness float64
	// small is the edge picture's grey source (ew x eh), kept for the
	// reference; edges its Laplacian.
	ew, eh int
	small  []float32
	edges  []float32
}

// extract computes the features of an RGBA frame; brightLuma is the level
// at and above which a pixel counts as near-white. It returns nil for a
// frame too small to judge.
func extract(img *image.RGBA, brightLuma float64) *features {
	b := img.Rect
	gw, gh := b.Dx()/greyScale, b.Dy()/greyScale
	if gw < 4*cellsX || gh < 4*cellsY {
		return nil
	}
	grey := make([]float32, gw*gh)
	var hist [256]int
	for gy := 0; gy < gh; gy++ {
		for gx := 0; gx < gw; gx++ {
			var sum uint32
			for dy := 0; dy < greyScale; dy++ {
				i := img.PixOffset(b.Min.X+gx*greyScale, b.Min.Y+gy*greyScale+dy)
				p := img.Pix[i : i+4*greyScale : i+4*greyScale]
				for dx := 0; dx < 4*greyScale; dx += 4 {
					// BT.601 luma in 8.8 fixed point
					sum += 77*uint32(p[dx]) + 150*uint32(p[dx+1]) + 29*uint32(p[dx+2])
				}
			}
			v := float32(sum) / (256 * greyScale * greyScale)
			grey[gy*gw+gx] = v
			hist[min(255, int(v+0.5))]++
		}
	}
	f := &features{}
	n := gw * gh
	f.p5 = percentile(&hist, n, 0.05)
	f.p50 = percentile(&hist, n, 0.50)
	f.p95 = percentile(&hist, n, 0.95)
	brightCount := 0
	for v := int(math.Ceil(max(0, min(255, brightLuma)))); v < 256; v++ {
		brightCount += hist[v]
	}
	f.bright = float64(brightCount) / float64(n)
	f.sharpness = sharpness(grey, gw, gh)
	f.ew, f.eh = gw/2, gh/2
	f.small = halve(grey, gw, gh)
	f.edges = laplacian(f.small, f.ew, f.eh)
	return f
}

// percentile returns the level below which share q of the n pixels lie.
func percentile(hist *[256]int, n int, q float64) float64 {
	target := int(math.Ceil(q * float64(n)))
	acc := 0
	for v, c := range hist {
		acc += c
		if acc >= target {
			return float64(v)
		}
	}
	return 255
}

// sharpness is var(Laplacian) / var(grey) over the inner pixels.
func sharpness(g []float32, w, h int) float64 {
	var sum, sum2, lsum, lsum2 float64
	n := 0
	for y := 1; y < h-1; y++ {
		row := y * w
		for x := 1; x < w-1; x++ {
			c := g[row+x]
			l := float64(4*c - g[row+x-1] - g[row+x+1] - g[row-w+x] - g[row+w+x])
			v := float64(c)
			sum += v
			sum2 += v * v
			lsum += l
			lsum2 += l * l
			n++
		}
	}
	fn := float64(n)
	varG := sum2/fn - (sum/fn)*(sum/fn)
	varL := lsum2/fn - (lsum/fn)*(lsum/fn)
	if varG < 1 {
		return 0 // flat picture: nothing to judge focus by
	}
	return varL / varG
}

// halve averages 2x2 blocks.
func halve(g []float32, w, h int) []float32 {
	ew, eh := w/2, h/2
	e := make([]float32, ew*eh)
	for y := 0; y < eh; y++ {
		for x := 0; x < ew; x++ {
			i := 2*y*w + 2*x
			e[y*ew+x] = (g[i] + g[i+1] + g[i+w] + g[i+w+1]) / 4
		}
	}
	return e
}

// laplacian returns the 4-neighbour Laplacian; the border stays zero.
func laplacian(g []float32, w, h int) []float32 {
	l := make([]float32, w*h)
	for y := 1; y < h-1; y++ {
		for x := 1; x < w-1; x++ {
			i := y*w + x
			l[i] = 4*g[i] - g[i-1] - g[i+1] - g[i-w] - g[i+w]
		}
	}
	return l
}

// cellOf maps an edge-picture pixel to its cell.
func cellOf(x, y, w, h int) int {
	return min(cellsY-1, y*cellsY/h)*cellsX + min(cellsX-1, x*cellsX/w)
}

// matchShare compares cur's edges with the reference's cell by cell, by
// normalised cross-correlation, which ignores how bright or contrasty the
// light makes the scene. Each cell takes its best correlation within one
// pixel of shift (8 pixels of a 720p frame), so that a mast swaying in the
// wind is not a move. It returns the share of the reference's textured
// cells that match.
func matchShare(cur, ref []float32, w, h int) float64 {
	const cells = cellsX * cellsY
	var refE [cells]float64
	for y := 1; y < h-1; y++ {
		for x := 1; x < w-1; x++ {
			v := float64(ref[y*w+x])
			refE[cellOf(x, y, w, h)] += v * v
		}
	}
	var mean float64
	for _, e := range refE {
		mean += e
	}
	mean /= cells
	if mean == 0 {
		return 0
	}
	var best [cells]float64
	for c := range best {
		best[c] = -1
	}
	for dy := -1; dy <= 1; dy++ {
		for dx := -1; dx <= 1; dx++ {
			var sab, saa, sbb [cells]float64
			for y := 2; y < h-2; y++ {
				for x := 2; x < w-2; x++ {
					c := cellOf(x, y, w, h)
					a := float64(cur[(y+dy)*w+x+dx])
					r := float64(ref[y*w+x])
					sab[c] += a * r
					saa[c] += a * a
					sbb[c] += r * r
				}
			}
			for c := range best {
				if saa[c] > 0 && sbb[c] > 0 {
					best[c] = max(best[c], sab[c]/math.Sqrt(saa[c]*sbb[c]))
				}
			}
		}
	}
	n, matched := 0, 0
	for c, e := range refE {
		if e < textured*mean {
			continue
		}
		n++
		if best[c] >= cellMatch {
			matched++
		}
	}
	if n == 0 {
		return 0
	}
	return float64(matched) / float64(n)
}
