package exchange

import "math"

// earthKM is the mean Earth radius (IUGG): great-circle distances on it
// are within 0.5 % of the WGS 84 geodesic, a quarter of a kilometre at
// the 50 km limit.
const earthKM = 6371.0088

// DistanceKM is the great-circle distance between two points (degrees).
func DistanceKM(lon1, lat1, lon2, lat2 float64) float64 {
	return earthKM * angle(lon1, lat1, lon2, lat2)
}

// angle is the central angle between two points (haversine).
func angle(lon1, lat1, lon2, lat2 float64) float64 {
	φ1, φ2 := rad(lat1), rad(lat2)
	dφ, dλ := φ2-φ1, rad(lon2-lon1)
	h := math.Sin(dφ/2)*math.Sin(dφ/2) + math.Cos(φ1)*math.Cos(φ2)*math.Sin(dλ/2)*math.Sin(dλ/2)
	return 2 * math.Asin(math.Sqrt(math.Min(1, h)))
}

func rad(d float64) float64 { return d * math.Pi / 180 }

// DistanceToRoute is the great-circle distance from a point to a route's
// polyline ([longitude, latitude] vertices): to the nearest point of its
// nearest leg.
func DistanceToRoute(lon, lat float64, route [][2]float64) float64 {
	if len(route) == 0 {
		return math.Inf(1)
	}
	best := DistanceKM(lon, lat, route[0][0], route[0][1])
	for i := 1; i < len(route); i++ {
		best = math.Min(best, toLeg(lon, lat, route[i-1], route[i]))
	}
	return best
}

// toLeg is the distance from a point to the great-circle arc a→b: the
// cross-track distance where the foot of the perpendicular falls within
// the arc, else the nearer end.
func toLeg(lon, lat float64, a, b [2]float64) float64 {
	da := angle(a[0], a[1], lon, lat)
	ab := angle(a[0], a[1], b[0], b[1])
	end := math.Min(da, angle(b[0], b[1], lon, lat))
	if ab == 0 {
		return earthKM * end
	}
	θab, θap := bearing(a, b), bearing(a, [2]float64{lon, lat})
	xt := math.Asin(math.Sin(da) * math.Sin(θap-θab)) // signed cross-track angle
	at := math.Acos(math.Max(-1, math.Min(1, math.Cos(da)/math.Cos(xt))))
	if math.Cos(θap-θab) < 0 || at > ab {
		return earthKM * end
	}
	return earthKM * math.Abs(xt)
}

// bearing is the initial bearing from a to b (radians).
func bearing(a, b [2]float64) float64 {
	φ1, φ2, dλ := rad(a[1]), rad(b[1]), rad(b[0]-a[0])
	return math.Atan2(math.Sin(dλ)*math.Cos(φ2), math.Cos(φ1)*math.Sin(φ2)-math.Sin(φ1)*math.Cos(φ2)*math.Cos(dλ))
}
