package agent

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kuzet/kuzet/checkpoint"
)

// A truck read at the entry, customs and exit cameras of a site (their
// own ANPR posting to the node) is one visit with three passages, whole
// across a restart of the site between customs and the exit, and the
// centre lists the same visit from the events that went up the link.
func TestVisitsThroughZones(t *testing.T) {
	_, dir, tls := federationRig(t)
	centre, _ := startAgent(t, fmt.Sprintf(`
node: {id: centre, data_dir: %s/centre}
http: {listen: "127.0.0.1:0"}
federation: {listen: "127.0.0.1:0", heartbeat: 200ms, tls: %s}
`, dir, tls("centre")))
	siteYAML := fmt.Sprintf(`
node: {id: site, data_dir: %s/site, time_zone: UTC}
http: {listen: "127.0.0.1:0", allow: [127.0.0.1]}
federation: {upstream: [%q], heartbeat: 200ms, tls: %s}
zones:
  - {id: gate-in, kind: entry}
  - {id: customs, kind: customs, dwell_limit: 1s}
  - {id: gate-out, kind: exit}
  - {id: depot, kind: restricted, forbidden: true}
cameras:
  - {id: Entry1, url: "rtsp://127.0.0.1:1/e", disabled: true, zone: gate-in, direction: auto, allowed_direction: entry, anpr: {ingest: {format: generic, token: entry1-secret-0123456789}}}
  - {id: Customs1, url: "rtsp://127.0.0.1:1/c", disabled: true, zone: customs, anpr: {ingest: {format: generic, token: customs1-secret-0123456}}}
  - {id: Exit1, url: "rtsp://127.0.0.1:1/x", disabled: true, zone: gate-out, anpr: {ingest: {format: generic, token: exit1-secret-0123456789}}}
  - {id: Yard1, url: "rtsp://127.0.0.1:1/y", disabled: true, anpr: {ingest: {format: generic, token: yard1-secret-0123456789}}}
  - {id: Depot1, url: "rtsp://127.0.0.1:1/d", disabled: true, zone: depot, anpr: {ingest: {format: generic, token: depot1-secret-0123456789}}}
`, dir, centre.FederationAddr(), tls("site"))
	site, stopSite := startAgent(t, siteYAML)

	post := func(a *Agent, camera, token, plate string, more ...string) {
		t.Helper()
		req, _ := http.NewRequest("POST", "http://"+a.HTTPAddr()+"/api/v1/cameras/"+camera+"/plates",
			strings.NewReader(`{"plate": "`+plate+`", "confidence": 0.97`+strings.Join(more, "")+`}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", camera, resp.StatusCode, b)
		}
	}
	visits := func(a *Agent, query string) []checkpoint.Visit {
		t.Helper()
		resp, err := http.Get("http://" + a.HTTPAddr() + "/api/v1/visits?" + query)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body struct{ Visits []checkpoint.Visit }
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != 200 {
			t.Fatalf("visits: %d %v", resp.StatusCode, err)
		}
		return body.Visits
	}
	waitFor := func(what string, a *Agent, query string, ok func([]checkpoint.Visit) bool) []checkpoint.Visit {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			vs := visits(a, query)
			if ok(vs) {
				return vs
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %+v", what, vs)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	passages := func(n int) func([]checkpoint.Visit) bool {
		return func(vs []checkpoint.Visit) bool { return len(vs) == 1 && len(vs[0].Passages) == n }
	}

	post(site, "Entry1", "entry1-secret-0123456789", "123ABC02", `, "direction": "entry"`)
	waitFor("opened at the entry", site, "plate=123ABC02&state=open", passages(1))
	post(site, "Yard1", "yard1-secret-0123456789", "123ABC02") // a camera in no zone: nothing
	post(site, "Customs1", "customs1-secret-0123456", "123 ABC 02")
	waitFor("passage at customs", site, "zone=customs&state=open", passages(2))
	// over customs' limit of a second: the dwell alarm (checked every 10 s)
	dwellAlarm := func(a *Agent, open bool) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			alarms := alarmsAt(t, a)
			for _, al := range alarms {
				if al.Type == checkpoint.AlarmDwellExceeded && (al.State != "cleared") == open && strings.Contains(al.Message, "123ABC02") {
					return
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("no dwell alarm (open %v): %+v", open, alarms)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	dwellAlarm(site, true)
	// a forbidden zone: a grave violation, which the centre holds too
	post(site, "Depot1", "depot1-secret-0123456789", "123ABC02")
	waitFor("passage at the depot", site, "zone=depot", passages(3))
	deadline := time.Now().Add(30 * time.Second)
	for {
		alarms := alarmsAt(t, centre)
		found := false
		for _, al := range alarms {
			found = found || (al.Type == checkpoint.AlarmForbiddenZone && al.Severity == "grave" && al.Origin == "site")
		}
		if found {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no grave forbidden-zone violation at the centre: %+v", alarms)
		}
		time.Sleep(200 * time.Millisecond)
	}

	if err := stopSite(); err != nil {
		t.Fatal(err)
	}
	site, _ = startAgent(t, siteYAML)
	post(site, "Exit1", "exit1-secret-0123456789", "123ABC02")
	vs := waitFor("closed at the exit", site, "plate=123ABC02", func(vs []checkpoint.Visit) bool { return len(vs) == 1 && !vs[0].Open() })
	v := vs[0]
	zones := []string{}
	for _, p := range v.Passages {
		zones = append(zones, p.Zone)
	}
	if !v.EntrySeen || v.Site != "site" || strings.Join(zones, ",") != "gate-in,customs,depot,gate-out" || v.Tractor != "123ABC02" {
		t.Fatalf("visit %+v", v)
	}
	if open := visits(site, "state=open"); len(open) != 0 {
		t.Fatalf("open visits %+v", open)
	}
	dwellAlarm(site, false) // the vehicle left: cleared
	// the time in each zone, and the statistics per zone
	resp, err := http.Get("http://" + site.HTTPAddr() + "/api/v1/visits/dwell?zone=customs")
	if err != nil {
		t.Fatal(err)
	}
	var stats struct {
		Zones []checkpoint.ZoneStats
	}
	if err := json.NewDecoder(resp.Body).Decode(&stats); err != nil || len(stats.Zones) != 1 || stats.Zones[0].Vehicles != 1 ||
		stats.Zones[0].Max < 1 || len(stats.Zones[0].Hours) != 1 {
		t.Fatalf("dwell stats %v %+v", err, stats)
	}
	resp.Body.Close()
	// the centre holds the same visit, from the site's events
	waitFor("the centre's visit", centre, "site=site&plate=123ABC02", func(vs []checkpoint.Visit) bool {
		return len(vs) == 1 && !vs[0].Open() && vs[0].ID == v.ID && len(vs[0].Passages) == 4
	})
	// a truck reversing out through the entry lane: a medium violation
	post(site, "Entry1", "entry1-secret-0123456789", "777XYZ01", `, "direction": "exit"`)
	deadline = time.Now().Add(30 * time.Second)
	for {
		found := false
		for _, al := range alarmsAt(t, site) {
			found = found || (al.Type == checkpoint.AlarmWrongDirection && al.Severity == "medium" && strings.Contains(al.Message, "777XYZ01"))
		}
		if found {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no wrong-direction violation: %+v", alarmsAt(t, site))
		}
		time.Sleep(200 * time.Millisecond)
	}
	// looking a plate up in the visits is audited as a plate search
	resp, err = http.Get("http://" + site.HTTPAddr() + "/api/v1/audit?action=plates.search")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), "visits: plate=123ABC02") {
		t.Fatalf("no audited visit search: %s", b)
	}
	// bad filters are refused, naming the parameter
	resp, err = http.Get("http://" + site.HTTPAddr() + "/api/v1/visits?state=gone")
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || !strings.Contains(string(b), "state") {
		t.Fatalf("bad state: %d %s", resp.StatusCode, b)
	}
}

// alarmRow is an alarm as the API lists it, the fields tests look at.
type alarmRow struct{ Type, State, Severity, Origin, Message string }

// alarmsAt lists a node's alarms.
func alarmsAt(t *testing.T, a *Agent) []alarmRow {
	t.Helper()
	resp, err := http.Get("http://" + a.HTTPAddr() + "/api/v1/alarms")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var alarms []alarmRow
	if err := json.NewDecoder(resp.Body).Decode(&alarms); err != nil {
		t.Fatalf("alarms: %v", err)
	}
	return alarms
}
