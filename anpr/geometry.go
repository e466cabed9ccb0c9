package anpr

import (
	"image"
	"math"
	"sort"
)

type point struct{ X, Y float64 }

// Quad is a text or plate outline in image coordinates: top-left, top-right,
// bottom-right, bottom-left.
type Quad [4]point

// Bounds is the smallest rectangle holding q.
func (q Quad) Bounds() image.Rectangle {
	minX, minY, maxX, maxY := q[0].X, q[0].Y, q[0].X, q[0].Y
	for _, p := range q[1:] {
		minX, maxX = math.Min(minX, p.X), math.Max(maxX, p.X)
		minY, maxY = math.Min(minY, p.Y), math.Max(maxY, p.Y)
	}
	return image.Rect(int(math.Floor(minX)), int(math.Floor(minY)), int(math.Ceil(maxX)), int(math.Ceil(maxY)))
}

// width and height are the mean lengths of the horizontal and vertical sides.
func (q Quad) width() float64  { return (dist(q[0], q[1]) + dist(q[3], q[2])) / 2 }
func (q Quad) height() float64 { return (dist(q[0], q[3]) + dist(q[1], q[2])) / 2 }

func (q Quad) center() point {
	return point{(q[0].X + q[1].X + q[2].X + q[3].X) / 4, (q[0].Y + q[1].Y + q[2].Y + q[3].Y) / 4}
}

func dist(a, b point) float64 { return math.Hypot(a.X-b.X, a.Y-b.Y) }

// convexHull returns the hull of pts in counter-clockwise order (monotone
// chain).
func convexHull(pts []point) []point {
	if len(pts) < 3 {
		return pts
	}
	sort.Slice(pts, func(i, j int) bool {
		if pts[i].X != pts[j].X {
			return pts[i].X < pts[j].X
		}
		return pts[i].Y < pts[j].Y
	})
	cross := func(o, a, b point) float64 { return (a.X-o.X)*(b.Y-o.Y) - (a.Y-o.Y)*(b.X-o.X) }
	hull := make([]point, 0, 2*len(pts))
	for _, p := range pts {
		for len(hull) >= 2 && cross(hull[len(hull)-2], hull[len(hull)-1], p) <= 0 {
			hull = hull[:len(hull)-1]
		}
		hull = append(hull, p)
	}
	lower := len(hull) + 1
	for i := len(pts) - 2; i >= 0; i-- {
		p := pts[i]
		for len(hull) >= lower && cross(hull[len(hull)-2], hull[len(hull)-1], p) <= 0 {
			hull = hull[:len(hull)-1]
		}
		hull = append(hull, p)
	}
	return hull[:len(hull)-1]
}

// minAreaRect is the smallest rotated rectangle around the hull (rotating
// calipers), returned as its centre, unit axis u (the one closer to
// horizontal, pointing right) and the half extents along u and its normal.
func minAreaRect(hull []point) (c point, u point, hw, hh float64) {
	bestArea := math.Inf(1)
	n := len(hull)
	for i := 0; i < n; i++ {
		a, b := hull[i], hull[(i+1)%n]
		l := dist(a, b)
		if l == 0 {
			continue
		}
		ux, uy := (b.X-a.X)/l, (b.Y-a.Y)/l
		minU, maxU, minV, maxV := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
		for _, p := range hull {
			pu := p.X*ux + p.Y*uy
			pv := -p.X*uy + p.Y*ux
			minU, maxU = math.Min(minU, pu), math.Max(maxU, pu)
			minV, maxV = math.Min(minV, pv), math.Max(maxV, pv)
		}
		if area := (maxU - minU) * (maxV - minV); area < bestArea {
			bestArea = area
			cu, cv := (minU+maxU)/2, (minV+maxV)/2
			c = point{cu*ux - cv*uy, cu*uy + cv*ux}
			u = point{ux, uy}
			hw, hh = (maxU-minU)/2, (maxV-minV)/2
		}
	}
	if n == 1 {
		return hull[0], point{1, 0}, 0, 0
	}
	// Choose the axis closer to horizontal as the text direction.
	if math.Abs(u.Y) > math.Abs(u.X) {
		u = point{-u.Y, u.X}
		hw, hh = hh, hw
	}
	if u.X < 0 {
		u = point{-u.X, -u.Y}
	}
	return c, u, hw, hh
}

// rectQuad builds the quad of a rotated rectangle.
func rectQuad(c, u point, hw, hh float64) Quad {
	v := point{-u.Y, u.X} // downwards normal in image coordinates
	at := func(su, sv float64) point {
		return point{c.X + su*hw*u.X + sv*hh*v.X, c.Y + su*hw*u.Y + sv*hh*v.Y}
	}
	return Quad{at(-1, -1), at(1, -1), at(1, 1), at(-1, 1)}
}

// homography maps the unit square (0,0),(1,0),(1,1),(0,1) onto q (projective
// square-to-quad mapping).
type homography [9]float64

func squareToQuad(q Quad) homography {
	x0, y0, x1, y1, x2, y2, x3, y3 := q[0].X, q[0].Y, q[1].X, q[1].Y, q[2].X, q[2].Y, q[3].X, q[3].Y
	dx1, dy1 := x1-x2, y1-y2
	dx2, dy2 := x3-x2, y3-y2
	sx, sy := x0-x1+x2-x3, y0-y1+y2-y3
	var g, h float64
	if den := dx1*dy2 - dx2*dy1; den != 0 {
		g = (sx*dy2 - dx2*sy) / den
		h = (dx1*sy - sx*dy1) / den
	}
	return homography{
		x1 - x0 + g*x1, x3 - x0 + h*x3, x0,
		y1 - y0 + g*y1, y3 - y0 + h*y3, y0,
		g, h, 1,
	}
}

func (m homography) apply(u, v float64) (float64, float64) {
	w := m[6]*u + m[7]*v + m[8]
	return (m[0]*u + m[1]*v + m[2]) / w, (m[3]*u + m[4]*v + m[5]) / w
}

// part is the part of q that the rectangle [u0, u1]×[v0, v1] of the unit
// square maps onto: the columns and rows of a rectified line, taken back
// to the image.
func (q Quad) part(u0, v0, u1, v1 float64) Quad {
	m := squareToQuad(q)
	at := func(u, v float64) point {
		x, y := m.apply(u, v)
		return point{x, y}
	}
	return Quad{at(u0, v0), at(u1, v0), at(u1, v1), at(u0, v1)}
}
