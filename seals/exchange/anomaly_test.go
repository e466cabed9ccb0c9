package exchange

import (
	"math"
	"sync"
	"testing"
	"time"

	"github.com/kuzet/kuzet/seals"
)

// eastOf is the longitude d km east of a meridian at latitude lat, along
// the parallel of the WGS 84 ellipsoid: a measure independent of the
// sphere the exchange computes on.
func eastOf(lon, lat, d float64) float64 {
	const a, e2 = 6378.137, 0.00669437999014
	φ := lat * math.Pi / 180
	n := a / math.Sqrt(1-e2*math.Sin(φ)*math.Sin(φ))
	return lon + d/(n*math.Cos(φ))*180/math.Pi
}

func TestDistanceToRoute(t *testing.T) {
	route := [][2]float64{{76, 43}, {76, 45}, {78, 45}}
	for _, c := range []struct {
		lon, lat, want float64
	}{
		{76, 44, 0},
		{eastOf(76, 44, 49), 44, 49},
		{eastOf(76, 44, 51), 44, 51},
		{76, 42, 111.2},                // beyond the first vertex: to it
		{77, 45.5, 55.6},               // above the second leg
		{76, 43.5, 0},                  // on the route
		{-104, 44, 20015.1 * 91 / 180}, // across the pole: 91° of arc to the nearest vertex
	} {
		got := DistanceToRoute(c.lon, c.lat, route)
		if math.Abs(got-c.want) > 0.006*c.want+0.2 {
			t.Errorf("(%.4f, %.4f): %.2f km, want %.2f", c.lon, c.lat, got, c.want)
		}
	}
}

// The centre derives 03 from a deviation beyond the limit (49 km: none,
// 51 km: raised once), 05 when the battery falls below 15 % (16: none, 14:
// raised), 06 after two reporting periods with no data; each is an alarm
// and a tracking report (04) to the partners that should know: the seal's
// operator and the transit operators of the route, a partner in several
// of those roles once (EAEU-5), never this operator (EAEU-4).
func TestAnomaliesDerivedAndReported(t *testing.T) {
	w := newWorld(t, "KZ.KTZE=national,tracking", "RU.GLONASS=national,tracking,transit", "BY.BELTAM=transit", "AM.ARMTRACK=transit")
	var mu sync.Mutex
	var alarms []Anomaly
	kz := w.open("KZ.KTZE")
	kz.opt.Alarm = func(a Alarm) error {
		mu.Lock()
		if a.Anomaly != nil {
			alarms = append(alarms, *a.Anomaly)
		}
		mu.Unlock()
		return nil
	}
	w.start("KZ.KTZE")
	ru, by, am := w.start("RU.GLONASS"), w.start("BY.BELTAM"), w.start("AM.ARMTRACK")
	t0 := w.now.Now()
	const seal, shipment = "RU-7700123456", "KZ/2026/000123"
	err := kz.Declare(Binding{Seal: seal, Shipment: shipment, Operator: "RU.GLONASS", Plates: []string{"123ABC02"},
		Route: [][2]float64{{76, 43}, {76, 45}}, PeriodMinutes: 5, Countries: []string{"KZ", "RU", "BY"}, Since: t0})
	if err != nil {
		t.Fatal(err)
	}
	step := 0
	feed := func(battery int, km float64) []Anomaly {
		t.Helper()
		step++
		as, err := kz.Take(seal, []seals.Reading{reading(t0.Add(time.Duration(step)*time.Minute), battery, eastOf(76, 44, km), 44)})
		if err != nil {
			t.Fatal(err)
		}
		return as
	}
	codes := func(as []Anomaly) (s []string) {
		for _, a := range as {
			s = append(s, a.Code)
		}
		return s
	}
	for _, c := range []struct {
		battery int
		km      float64
		want    []string
	}{
		{80, 0, nil}, {80, 49, nil}, {80, 51, []string{"03"}}, {80, 60, nil}, {16, 60, nil}, {14, 60, []string{"05"}}, {10, 60, nil},
	} {
		if got := codes(feed(c.battery, c.km)); len(got) != len(c.want) || len(got) == 1 && got[0] != c.want[0] {
			t.Fatalf("reading %d (battery %d, %v km off): anomalies %v, want %v", step, c.battery, c.km, got, c.want)
		}
	}
	// silence: the last reading was at step 7; two periods are 10 min
	w.now.Add(time.Duration(step)*time.Minute + 9*time.Minute)
	if err := kz.CheckPeriods(); err != nil {
		t.Fatal(err)
	}
	w.now.Add(2 * time.Minute)
	if err := kz.CheckPeriods(); err != nil {
		t.Fatal(err)
	}
	if err := kz.CheckPeriods(); err != nil {
		t.Fatal(err)
	}
	var got []string
	eventually(t, "three alarms", func() bool {
		mu.Lock()
		got = codes(alarms)
		mu.Unlock()
		return len(got) >= 3
	})
	if len(got) != 3 || got[0] != "03" || got[1] != "05" || got[2] != "06" {
		t.Fatalf("alarms %v, want 03, 05, 06 once each", got)
	}
	if alarms[0].Plates[0] != "123ABC02" {
		t.Fatalf("the alarm does not name the sealed vehicle: %+v", alarms[0])
	}
	open, _ := kz.OpenAnomalies(seal)
	if len(open) != 3 {
		t.Fatalf("%d anomalies open, want 3", len(open))
	}
	// RU (operator and transit) and BY (transit on the route) hear each
	// anomaly once; AM, not on the route, does not
	for _, p := range []struct {
		x    *Exchange
		want int
	}{{ru, 3}, {by, 3}, {am, 0}} {
		var reports []string
		eventually(t, p.x.opt.Operator+"'s reports", func() bool {
			reports = nil
			for _, r := range inbound(t, p.x) {
				if tr := r.Message.Tracking; tr != nil && tr.Code == "04" {
					reports = append(reports, tr.Anomaly)
				}
			}
			return len(reports) >= p.want
		})
		time.Sleep(100 * time.Millisecond)
		if len(reports) != p.want {
			t.Errorf("%s heard %v, want %d reports", p.x.opt.Operator, reports, p.want)
		}
	}
	// back on the route with a charged seal: 03 and 05 close, and may open again
	w.now.Add(time.Minute)
	if as, err := kz.Take(seal, []seals.Reading{reading(w.now.Now(), 90, 76, 44)}); err != nil || len(as) != 0 {
		t.Fatalf("a normal reading: %v %v", as, err)
	}
	open, _ = kz.OpenAnomalies(seal)
	if len(open) != 1 || open[0].Code != "06" {
		t.Fatalf("open after a normal reading: %v (06 closes at the next check)", codes(open))
	}
	if err := kz.CheckPeriods(); err != nil {
		t.Fatal(err)
	}
	if open, _ = kz.OpenAnomalies(seal); len(open) != 0 {
		t.Fatalf("open after the check: %v", codes(open))
	}
}

// A window reaching before 1970 or after 2262 still finds what is in it.
func TestWindowBeyondUnixNanoseconds(t *testing.T) {
	w := newWorld(t, "KZ.KTZE=national", "RU.GLONASS=national")
	kz := w.open("KZ.KTZE")
	defer w.stop("KZ.KTZE")
	if _, err := kz.Take("RU-7700123456", []seals.Reading{reading(w.now.Now(), 50, 76, 44)}); err != nil {
		t.Fatal(err)
	}
	from, to := time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
	v, err := kz.Seal("RU-7700123456", from, to, 10)
	if err != nil || len(v.Readings) != 1 {
		t.Fatalf("%+v %v", v, err)
	}
}
