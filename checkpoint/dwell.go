package checkpoint

import (
	"sort"
	"time"
)

// Dwell is a vehicle's time in one zone of its visit (UA-3.3.2): from its
// first sighting there until it was seen at the next zone or left.
type Dwell struct {
	Zone string     `json:"zone"`
	From time.Time  `json:"from"`
	To   *time.Time `json:"to,omitempty"` // absent: still there
	// Seconds runs until To, or until now while the vehicle is there.
	Seconds float64 `json:"seconds"`
}

// Dwells are the visit's times per zone in the order it went through
// them; sightings in a row at one zone are one stay.
func (v Visit) Dwells(now time.Time) []Dwell {
	var out []Dwell
	for _, p := range v.Passages {
		if n := len(out); n > 0 && out[n-1].Zone == p.Zone {
			continue
		}
		if n := len(out); n > 0 {
			t := p.Time
			out[n-1].To = &t
		}
		out = append(out, Dwell{Zone: p.Zone, From: p.Time})
	}
	if n := len(out); n > 0 && v.Closed != nil {
		t := *v.Closed
		out[n-1].To = &t
	}
	for i := range out {
		end := now
		if out[i].To != nil {
			end = *out[i].To
		}
		out[i].Seconds = max(0, end.Sub(out[i].From).Seconds())
	}
	return out
}

// Here is where the vehicle of an open visit is now, and since when.
func (v Visit) Here() (Dwell, bool) {
	ds := v.Dwells(time.Time{})
	if !v.Open() || len(ds) == 0 {
		return Dwell{}, false
	}
	return ds[len(ds)-1], true
}

// DwellStats summarise the completed stays in one zone.
type DwellStats struct {
	Vehicles int     `json:"vehicles"`
	Median   float64 `json:"median_seconds"`
	P90      float64 `json:"p90_seconds"`
	Max      float64 `json:"max_seconds"`
}

// HourStats are one hour's stays (by the hour they began, UTC).
type HourStats struct {
	Hour time.Time `json:"hour"`
	DwellStats
}

// ZoneStats are one zone's stays in a range, in all and per hour.
type ZoneStats struct {
	Zone string `json:"zone"`
	DwellStats
	Hours []HourStats `json:"hours"`
}

func statsOf(secs []float64) DwellStats {
	sort.Float64s(secs)
	n := len(secs)
	if n == 0 {
		return DwellStats{}
	}
	median := secs[n/2]
	if n%2 == 0 {
		median = (secs[n/2-1] + secs[n/2]) / 2
	}
	// p90: the nearest-rank percentile
	rank := (9*n + 9) / 10
	return DwellStats{Vehicles: n, Median: median, P90: secs[rank-1], Max: secs[n-1]}
}

// Stats summarise the completed stays of visits that began in [from, to),
// per zone (only zone, if given) and per hour, zones by name.
func Stats(visits []Visit, zone string, from, to time.Time) []ZoneStats {
	type key struct {
		zone string
		hour time.Time
	}
	all := map[string][]float64{}
	hourly := map[key][]float64{}
	for _, v := range visits {
		for _, d := range v.Dwells(time.Time{}) {
			if d.To == nil || (zone != "" && d.Zone != zone) || d.From.Before(from) || !d.From.Before(to) {
				continue
			}
			all[d.Zone] = append(all[d.Zone], d.Seconds)
			k := key{d.Zone, d.From.UTC().Truncate(time.Hour)}
			hourly[k] = append(hourly[k], d.Seconds)
		}
	}
	out := make([]ZoneStats, 0, len(all))
	for z, secs := range all {
		zs := ZoneStats{Zone: z, DwellStats: statsOf(secs)}
		for k, hs := range hourly {
			if k.zone == z {
				zs.Hours = append(zs.Hours, HourStats{Hour: k.hour, DwellStats: statsOf(hs)})
			}
		}
		sort.Slice(zs.Hours, func(i, j int) bool { return zs.Hours[i].Hour.Before(zs.Hours[j].Hour) })
		out = append(out, zs)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Zone < out[j].Zone })
	return out
}
