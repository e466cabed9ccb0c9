package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/kuzet/kuzet/pki"
)

// The demo's seal exchange: the centre is the operator KZ.DEMO, and a
// third node, RU.DEMO, its partner. The first truck the centre learns of
// carries the seal RU-DEMO-0001 on a declared route; its seal reports
// every few seconds, leaves the route and goes quiet, so the centre
// derives the deviation (03) and the silence (06), reports them to RU.DEMO
// and raises a grave alarm when the truck is read again.

// demoSealsConfig is the seals: section of one demo operator.
const demoSealsConfig = `seals:
  operator: %[1]s
  listen: %[2]s
  tls: {cert: %[3]s/%[1]s.pem, key: %[3]s/%[1]s-key.pem}
  retry_max: 2s
  partners:
    - {id: %[4]s, url: "https://%[5]s", ca: %[6]s/ca.pem, roles: %[7]s}
`

// demoPartnerConfig is the partner operator's node: the exchange alone.
const demoPartnerConfig = `node:
  id: demo-partner
  data_dir: %[1]s/partner
http:
  listen: %[2]s
%[3]s
%[4]s
`

// demoOperators makes each demo operator's CA and certificate once.
func demoOperators(dir string) error {
	for _, id := range []string{"KZ.DEMO", "RU.DEMO"} {
		ca := filepath.Join(dir, id)
		if _, err := os.Stat(filepath.Join(ca, pki.CACertFile)); err != nil {
			if err := pki.InitCA(ca, id+" operator CA", 365*24*time.Hour); err != nil {
				return err
			}
		}
		if _, err := os.Stat(filepath.Join(ca, id+".pem")); err == nil {
			continue
		}
		if _, err := pki.IssueOperator(ca, id, []string{"127.0.0.1", "localhost"}, ca, 365*24*time.Hour); err != nil {
			return err
		}
	}
	return nil
}

// demoSeal is the sealed truck's shipment.
const (
	demoSeal     = "RU-DEMO-0001"
	demoShipment = "KZ/DEMO/000001"
)

// demoRoute runs from Almaty to the Khorgos crossing ([longitude, latitude]).
var demoRoute = [][2]float64{{76.95, 43.25}, {77.9, 43.9}, {79.0, 44.1}, {80.3, 44.2}}

// runDemoSeals seals the first truck the centre sees and plays its
// seal's reports: along the route, then 60 km north of it, then nothing.
func runDemoSeals(ctx context.Context, centre string, log *slog.Logger) {
	var c *demoClient
	var plate string
	for plate == "" {
		select {
		case <-ctx.Done():
			return
		case <-time.After(2 * time.Second):
		}
		if c == nil {
			c, _ = demoLogin(ctx, centre, "operator", "kuzet-operator")
			continue
		}
		var open struct{ Visits []struct{ Tractor string } }
		if err := c.call(ctx, "GET", "/api/v1/visits?state=open&limit=10", "", nil, &open); err == nil {
			for _, v := range open.Visits {
				if v.Tractor != "" {
					plate = v.Tractor
					break
				}
			}
		}
	}
	since := time.Now().UTC().Add(-time.Minute)
	err := c.call(ctx, "POST", "/api/v1/seals/shipments", "", map[string]any{
		"seal": demoSeal, "shipment": demoShipment, "operator": "RU.DEMO", "plates": []string{plate},
		"route": demoRoute, "period_minutes": 1, "countries": []string{"KZ", "RU"}, "since": since.Format(time.RFC3339),
	}, nil)
	if err != nil {
		log.Warn("seals: the truck's shipment not declared", "err", err)
		return
	}
	log.Info("seals: truck sealed", "plate", plate, "seal", demoSeal, "shipment", demoShipment)
	const reports, offRoute = 20, 8
	for i := range reports {
		f := float64(i) / reports
		lon := demoRoute[0][0] + f*(demoRoute[3][0]-demoRoute[0][0])
		lat := routeLat(lon)
		if i >= offRoute {
			lat += 0.55 // about 60 km north of the road
		}
		r := map[string]any{"battery": 95 - i, "longitude": lon, "latitude": lat, "speed": 70, "time": time.Now().UTC().Format(time.RFC3339Nano)}
		var res struct{ Anomalies []struct{ Code string } }
		if err := c.call(ctx, "POST", "/api/v1/seals/readings", "", map[string]any{"seal": demoSeal, "readings": []any{r}}, &res); err != nil {
			log.Warn("seals: report not taken", "err", err)
		}
		for _, a := range res.Anomalies {
			log.Info("seals: abnormal situation derived", "seal", demoSeal, "code", a.Code)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(2 * time.Second):
		}
	}
	log.Info("seals: the seal goes quiet: no data for two periods raises 06 in about two minutes", "seal", demoSeal)
}

// routeLat is the route's latitude at a longitude (on its legs).
func routeLat(lon float64) float64 {
	for i := 1; i < len(demoRoute); i++ {
		a, b := demoRoute[i-1], demoRoute[i]
		if lon <= b[0] || i == len(demoRoute)-1 {
			return a[1] + (lon-a[0])/(b[0]-a[0])*(b[1]-a[1])
		}
	}
	return demoRoute[0][1]
}

// demoSealsSections is the centre's and the partner's seals: sections.
func demoSealsSections(opsDir, centreSeals, partnerSeals string) (centre, partner string) {
	kz, ru := filepath.Join(opsDir, "KZ.DEMO"), filepath.Join(opsDir, "RU.DEMO")
	centre = fmt.Sprintf(demoSealsConfig, "KZ.DEMO", centreSeals, kz, "RU.DEMO", partnerSeals, ru, "[national, tracking, transit]")
	partner = fmt.Sprintf(demoSealsConfig, "RU.DEMO", partnerSeals, ru, "KZ.DEMO", centreSeals, kz, "[national, tracking]")
	return centre, partner
}
