package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/kuzet/kuzet/internal/logtest"
	"github.com/kuzet/kuzet/internal/testkit"
)

// make run's crossing goes on however long it runs. Its video brings the
// same few trucks round, and a truck held at customs until an operator
// settles its case keeps its plate out of the crossing meanwhile: with a
// card in three that did not match, every truck was held after a few
// minutes and the exit barrier never opened again. Here two trucks come
// round: the first is held, the second leaves three times (the old rule
// held it at its fourth card; the first time it reverses in the exit lane
// before it leaves), and the first leaves once its case is settled.
func TestDemoCrossingKeepsGoing(t *testing.T) {
	testkit.Long(t)
	rig := startCrossing(t, time.Second)
	relay, admin, ctx, entry, until := rig.relay, rig.admin, rig.ctx, rig.entry, rig.until
	var cases struct{ Cases []demoCase }
	openCases := func() []demoCase {
		t.Helper()
		if err := admin.call(ctx, "GET", "/api/v1/cases?state=open", "", nil, &cases); err != nil {
			t.Fatal(err)
		}
		return cases.Cases
	}

	// the first truck's card does not match: held at customs
	const held, goes = "123ABC02", "A123BC77"
	entry(held)
	until("a case for the first truck's card", 30*time.Second, func() bool { return len(openCases()) == 1 })
	heldCase := cases.Cases[0]
	// the second comes round three times while the first is held
	for n := int64(1); n <= 3; n++ {
		entry(held) // still at the entry, in the video
		entry(goes)
		until(fmt.Sprintf("the barrier opens for the second truck's pass %d (%d openings)", n, relay.opens.Load()), 60*time.Second,
			func() bool { return relay.opens.Load() == n })
		if c := openCases(); len(c) != 1 || c[0].ID != heldCase.ID {
			t.Fatalf("pass %d: open cases %+v, want only the first truck's", n, c)
		}
	}
	// its first pass reversed in the exit lane, then left: a violation
	var alarms []struct{ Type, Camera string }
	if err := admin.call(ctx, "GET", "/api/v1/alarms?camera=Camera3", "", nil, &alarms); err != nil {
		t.Fatal(err)
	}
	if len(alarms) != 1 || alarms[0].Type != "violation_wrong_direction" {
		t.Errorf("Camera3's alarms %+v, want the one wrong-direction violation", alarms)
	}
	// the operator corrects the read: the first truck goes on and leaves
	if err := admin.call(ctx, "POST", "/api/v1/cases/"+heldCase.ID+"/attempts", "", map[string]string{"action": "correct", "tractor": held}, nil); err != nil {
		t.Fatal(err)
	}
	until("the barrier opens for the first truck once its case is settled", 60*time.Second, func() bool { return relay.opens.Load() == 4 })
	var v struct{ Visits []demoVisit }
	if err := admin.call(ctx, "GET", "/api/v1/visits?state=open", "", nil, &v); err != nil {
		t.Fatal(err)
	}
	for _, o := range v.Visits {
		if o.ID == heldCase.Visit {
			t.Errorf("the first truck's visit %s is still open after the barrier opened", o.ID)
		}
	}
}

// A truck's plate read again at the entry while it is at customs (the
// video brings the plates round; on a loaded machine a truck's stages can
// outlast the round) closes the visit it began with and opens another.
// The permissions follow the truck to the visit the barrier holds for it,
// customs' given again, and the barrier opens: sent to the closed visit,
// or left on it, they were refused, and the barrier waited for good.
func TestDemoCrossingFollowsAPlateReadAgain(t *testing.T) {
	testkit.Long(t)
	rig := startCrossing(t, 3*time.Second)
	// the first truck's card does not match, and it is held at customs
	const held, plate = "123ABC02", "A123BC77"
	rig.entry(held)
	rig.until("a case for the first truck's card", 30*time.Second, func() bool {
		var cases struct{ Cases []demoCase }
		if err := rig.admin.call(rig.ctx, "GET", "/api/v1/cases?state=open", "", nil, &cases); err != nil {
			t.Fatal(err)
		}
		return len(cases.Cases) == 1
	})
	rig.entry(plate)
	atCustoms := func() bool {
		var v struct{ Visits []demoVisit }
		if err := rig.admin.call(rig.ctx, "GET", "/api/v1/visits?state=open&zone=customs", "", nil, &v); err != nil {
			t.Fatal(err)
		}
		for _, o := range v.Visits {
			for _, p := range o.Passages {
				if p.Zone == "customs" && p.Tractor == plate {
					return true
				}
			}
		}
		return false
	}
	rig.until("the truck at customs", 30*time.Second, atCustoms)
	// Read again once customs has granted the exit: its permission stays
	// with the visit it was given to, and customs grants the new one.
	rig.until("customs' permission", 30*time.Second, func() bool {
		return len(rig.logs.Records("crossing: customs grants the exit")) > 0
	})
	rig.entry(plate) // read again at the entry: its visit closes, another opens
	rig.until("the barrier opens for the truck", 60*time.Second, func() bool { return rig.relay.opens.Load() >= 1 })
	for _, r := range rig.logs.Records("crossing: customs' permission") {
		t.Errorf("customs' permission refused: %v", r["err"])
	}
	for _, r := range rig.logs.Records("crossing: the owner's permission") {
		t.Errorf("the owner's permission refused: %v", r["err"])
	}
}

// crossingRig is a demo site with its crossing played at stage per stage.
type crossingRig struct {
	d     *demoCrossing
	relay *demoRelay
	admin *demoClient
	logs  *logtest.Buffer
	ctx   context.Context
	entry func(plate string)
	until func(what string, wait time.Duration, ok func() bool)
}

func startCrossing(t *testing.T, stage time.Duration) *crossingRig {
	t.Helper()
	logs := &logtest.Buffer{}
	log := logs.Logger()
	relay, err := startDemoRelay(log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(relay.Close)
	users, err := demoUsers()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	site, err := demoAgent(dir, "site.yaml", fmt.Sprintf(`node: {id: demo-site, data_dir: %s/site, time_zone: UTC}
http: {listen: "127.0.0.1:0"}
zones:
  - {id: gate-in, kind: entry}
  - {id: customs, kind: customs}
  - {id: gate-out, kind: exit}
cameras:
  - {id: Camera1, url: "rtsp://127.0.0.1:1/c1", disabled: true, zone: gate-in, direction: entry, anpr: {ingest: {format: generic, token: demo-camera1-anpr-token}}}
  - {id: Camera2, url: "rtsp://127.0.0.1:1/c2", disabled: true, zone: customs, anpr: {ingest: {format: generic, token: demo-camera2-anpr-token}}}
  - {id: Camera3, url: "rtsp://127.0.0.1:1/c3", disabled: true, zone: gate-out, direction: auto, allowed_direction: exit, anpr: {ingest: {format: generic, token: demo-camera3-anpr-token}}}
%s
%s
`, dir, users, demoCheckpoint(relay.URL())), log)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- site.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-ran; err != nil {
			t.Error(err)
		}
	})
	base := "http://" + site.HTTPAddr()
	d := &demoCrossing{base: base, log: log, trucks: map[string]*demoTruck{}, interval: 300 * time.Millisecond, stage: stage}
	go d.run(ctx)
	rig := &crossingRig{d: d, relay: relay, logs: logs, ctx: ctx}
	for deadline := time.Now().Add(20 * time.Second); rig.admin == nil; time.Sleep(200 * time.Millisecond) {
		if rig.admin, err = demoLogin(ctx, base, "admin", "kuzet-admin"); err != nil && time.Now().After(deadline) {
			t.Fatalf("the site does not answer: %v", err)
		}
	}
	rig.until = func(what string, wait time.Duration, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(wait); !ok(); time.Sleep(200 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("after %s: %s\n%s", wait, what, logs.String())
			}
		}
	}
	rig.entry = func(plate string) {
		t.Helper()
		if err := d.plate(ctx, "Camera1", "demo-camera1-anpr-token", plate, "entry"); err != nil {
			t.Fatal(err)
		}
	}
	return rig
}
