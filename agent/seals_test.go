package agent

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kuzet/kuzet/alarm"
	"github.com/kuzet/kuzet/audit"
	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/plates"
	"github.com/kuzet/kuzet/seals/exchange"
)

// A sealed truck whose seal is off its route is read at a site's gate:
// the centre (the seal-exchange operator) links the read to the seal and
// has the site raise a grave alarm on its gate camera, audited there as
// raised from above; the site's alarm comes back up, so the centre shows
// one alarm, not two. A site out of reach for the fallback time leaves
// the alarm to the centre.
func TestSealedVehicleAlarmAtTheSite(t *testing.T) {
	_, dir, tls := federationRig(t)
	centre, _ := startAgent(t, fmt.Sprintf(`
node: {id: centre, data_dir: %s/centre}
http: {listen: "127.0.0.1:0"}
federation: {listen: "127.0.0.1:0", heartbeat: 200ms, tls: %s}
%s
`, dir, tls("centre"), sealsRig(t, dir)))
	site, _ := startAgent(t, fmt.Sprintf(`
node: {id: site, data_dir: %s/site}
http: {listen: "127.0.0.1:0"}
cameras: [{id: Gate1, url: "rtsp://127.0.0.1:1/none", offline_after: 1h, zone: gate-in}]
zones: [{id: gate-in, kind: entry}]
federation: {upstream: [%q], heartbeat: 200ms, tls: %s}
`, dir, centre.FederationAddr(), tls("site")))
	post := func(path, body string) {
		t.Helper()
		resp, err := http.Post("http://"+centre.HTTPAddr()+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("POST %s: %s", path, resp.Status)
		}
	}
	now := time.Now().UTC().Truncate(time.Second)
	post("/api/v1/seals/shipments", fmt.Sprintf(`{"seal": "RU-7700123456", "shipment": "KZ/2026/000123", "operator": "RU.GLONASS",
		"plates": ["123ABC02"], "route": [[76, 43], [76, 45]], "since": %q}`, now.Add(-time.Hour).Format(time.RFC3339)))
	post("/api/v1/seals/readings", fmt.Sprintf(`{"seal": "RU-7700123456", "readings": [{"battery": 80, "longitude": 77, "latitude": 44, "speed": 60, "time": %q}]}`,
		now.Add(-time.Minute).Format(time.RFC3339)))

	e := event.New(plates.KindPlateRead, "Gate1", event.SeverityInfo, plates.PlateRead{Plate: "123ABC02", Country: "KZ", Confidence: 0.96,
		First: now, Last: now.Add(time.Second), Frames: 4, Overview: "Gate1/x_overview.jpg"})
	read, err := site.Events().Append(e)
	if err != nil {
		t.Fatal(err)
	}
	find := func(a *Agent, origin string) []alarm.Alarm {
		var out []alarm.Alarm
		for _, al := range a.alarms.List(alarm.Filter{Types: []string{AlarmSealedVehicle}}) {
			if origin == "" || al.Origin == origin {
				out = append(out, al)
			}
		}
		return out
	}
	var atSite []alarm.Alarm
	for deadline := time.Now().Add(30 * time.Second); len(atSite) == 0; time.Sleep(100 * time.Millisecond) {
		if atSite = find(site, "site"); len(atSite) == 0 && time.Now().After(deadline) {
			t.Fatalf("no alarm at the site for its read %s of the sealed truck", read.ID())
		}
	}
	al := atSite[0]
	if al.Severity != event.SeverityGrave || al.Camera != "Gate1" || !strings.Contains(al.Message, "read at Gate1 while seal RU-7700123456") ||
		!strings.Contains(al.Message, "03 deviation") || al.Evidence.Snapshot != "/api/v1/plates/site/"+fmt.Sprint(read.Seq)+"/overview.jpg" {
		t.Fatalf("the site's alarm: %+v", al)
	}
	evs, _ := site.Events().Search(0, func(e event.Event) bool { return e.Kind == audit.Kind })
	raises := 0
	for _, e := range evs {
		var p audit.Payload
		if json.Unmarshal(e.Payload, &p) == nil && p.Action == audit.ActionRaiseAlarm && p.User == "seal-exchange@centre" {
			raises++
		}
	}
	if raises != 1 {
		t.Fatalf("the site audited %d raises from the centre, want 1", raises)
	}
	for deadline := time.Now().Add(30 * time.Second); len(find(centre, "site")) == 0; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the site's alarm never reached the centre")
		}
	}
	if own := find(centre, "centre"); len(own) != 0 {
		t.Fatalf("the centre raised its own alarm as well: %+v", own)
	}
	// the truck read again at the site counts on the open alarm
	e2 := event.New(plates.KindPlateRead, "Gate1", event.SeverityInfo, plates.PlateRead{Plate: "123ABC02", Country: "KZ", Confidence: 0.95,
		First: now.Add(time.Minute), Last: now.Add(time.Minute), Frames: 3})
	if _, err := site.Events().Append(e2); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		open := find(site, "site")
		if len(open) == 1 && open[0].Count == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the second read of the sealed truck: %+v, want one alarm counting 2", open)
		}
	}

	// the read is linked with the visit it opened at the site
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		resp, err := http.Get("http://" + centre.HTTPAddr() + "/api/v1/seals/vehicles/123ABC02")
		if err != nil {
			t.Fatal(err)
		}
		var v struct {
			Shipments []struct {
				Crossings []struct{ Read, Visit string }
			}
		}
		_ = json.NewDecoder(resp.Body).Decode(&v)
		resp.Body.Close()
		linked := false
		for _, sh := range v.Shipments {
			for _, c := range sh.Crossings {
				linked = linked || c.Read == read.ID() && strings.HasPrefix(c.Visit, "site/")
			}
		}
		if linked {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the crossing is not linked with its visit: %+v", v)
		}
	}

	// a node out of reach: kept while the fallback time runs, then raised here
	c := exchange.Crossing{Read: "gone/7", Origin: "gone", Camera: "Gate9", Plate: "123ABC02", At: now, Seal: "RU-7700123456",
		Shipment: "KZ/2026/000123", Anomalies: []exchange.Anomaly{{Code: "03"}}}
	if err := centre.sealAlarm(exchange.Alarm{Crossing: &c, Queued: time.Now()}); err == nil {
		t.Fatal("a fresh alarm for a node out of reach was not kept for another try")
	}
	if err := centre.sealAlarm(exchange.Alarm{Crossing: &c, Queued: time.Now().Add(-time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if own := find(centre, "centre"); len(own) != 1 || own[0].Camera != "gone/Gate9" {
		t.Fatalf("the fallback alarm at the centre: %+v", own)
	}
}
