package web_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kuzet/kuzet/agent"
	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/pki"
	"github.com/kuzet/kuzet/plates"
)

// TestBrowserSealedVehicle runs web/e2e/seals.mjs in headless Chromium
// against a centre that is its country's seal-exchange operator: a truck
// sealed on a declared route reports itself 80 km off it and is then
// read at a gate. Opening the read shows the seal abnormal (03) beside
// it and the seal's track plotted against the route; the read is a grave
// alarm.
func TestBrowserSealedVehicle(t *testing.T) {
	ctx, rig := newBrowserRig(t)

	dir := t.TempDir()
	for _, ca := range []string{"kz", "ru"} {
		if err := pki.InitCA(filepath.Join(dir, ca), ca+" operators", time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	iss, err := pki.IssueOperator(filepath.Join(dir, "kz"), "KZ.KTZE", []string{"127.0.0.1"}, filepath.Join(dir, "kz"), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	a := startNode(t, ctx, fmt.Sprintf(`
node: {id: centre, data_dir: %s, time_zone: UTC}
http: {listen: "127.0.0.1:0"}
seals:
  operator: KZ.KTZE
  listen: "127.0.0.1:0"
  tls: {cert: %s, key: %s}
  partners: [{id: RU.GLONASS, url: "https://127.0.0.1:1", ca: %s/ru/ca.pem, roles: [national]}]
`, dir, iss.CertPath, iss.KeyPath, dir))
	base := "http://" + a.HTTPAddr()
	post := func(path, body string) {
		t.Helper()
		res, err := http.Post(base+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Fatalf("POST %s: %d %s", path, res.StatusCode, b)
		}
	}
	now := time.Now().UTC().Truncate(time.Second)
	post("/api/v1/seals/shipments", fmt.Sprintf(`{"seal": "RU-7700123456", "shipment": "KZ/2026/000123", "operator": "RU.GLONASS",
		"plates": ["123ABC02"], "route": [[76.0, 43.0], [76.2, 43.6], [76.1, 44.4], [76.4, 45.0]], "since": %q}`, now.Add(-3*time.Hour).Format(time.RFC3339)))
	var rs []string
	for i := range 12 { // along the route, then 80 km east of it
		lon, lat := 76.0+0.02*float64(i), 43.0+0.1*float64(i)
		if i >= 9 {
			lon += 1.0 * float64(i-8)
		}
		rs = append(rs, fmt.Sprintf(`{"battery": %d, "longitude": %.4f, "latitude": %.4f, "speed": 62, "time": %q}`,
			90-i, lon, lat, now.Add(time.Duration(i-12)*10*time.Minute).Format(time.RFC3339)))
	}
	post("/api/v1/seals/readings", `{"seal": "RU-7700123456", "readings": [`+strings.Join(rs, ",")+`]}`)

	// the truck is read at the gate
	base2 := fmt.Sprintf("Camera1/%s/%s_123ABC02", now.Format("2006/01/02"), now.Format("150405.000"))
	writeJPEG(t, filepath.Join(a.PlatesDir(), base2+"_overview.jpg"), 640, 360)
	writeJPEG(t, filepath.Join(a.PlatesDir(), base2+"_crop.jpg"), 200, 60)
	e := event.New(plates.KindPlateRead, "Camera1", event.SeverityInfo, plates.PlateRead{Plate: "123ABC02", Country: "KZ", Confidence: 0.97,
		Direction: "entry", First: now, Last: now.Add(2 * time.Second), Frames: 7, Overview: base2 + "_overview.jpg", Crop: base2 + "_crop.jpg"})
	e.Time = now
	read, err := a.Events().Append(e)
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		res, err := http.Get(base + "/api/v1/alarms?state=open")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if strings.Contains(string(b), agent.AlarmSealedVehicle) && strings.Contains(string(b), read.ID()) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no grave alarm for the sealed truck's read %s: %s", read.ID(), b)
		}
	}

	info, _ := json.Marshal(map[string]any{"read": read.ID(), "plate": "123ABC02", "seal": "RU-7700123456", "reports": len(rs)})
	rig.run(t, ctx, "seals", base, "KUZET_UI_SEALS="+string(info))
}
