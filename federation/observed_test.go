package federation

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/kuzet/kuzet/event"
)

// Nodes are placed by the path their events travelled, a failed camera
// degrades its node, a raised link_down takes its node offline, and a
// linked child that sent nothing yet is still shown.
func TestObservedPlacesNodesByTheirEventsPath(t *testing.T) {
	o := NewObserved("centre")
	at := func(e event.Event, origin string, path ...string) event.Event {
		e.Origin, e.Path, e.Time = origin, path, time.Now()
		return e
	}
	o.Observe(at(event.New(event.KindCameraState, "Camera1", event.SeverityInfo,
		map[string]string{"state": "failed", "reason": "no route"}), "site", "site", "region", "centre"))
	o.Observe(at(event.New(event.KindSegmentClosed, "Camera2", event.SeverityInfo, nil), "site", "site", "region", "centre"))
	// a recorded sub-stream is a quality of its camera, not a camera
	o.Observe(at(event.New(event.KindSegmentClosed, "Camera2~sub", event.SeverityInfo, nil), "site", "site", "region", "centre"))
	o.Observe(at(event.New(event.KindCameraState, "Camera2~sub", event.SeverityInfo,
		map[string]string{"state": "streaming"}), "site", "site", "region", "centre"))
	o.Observe(at(event.New(event.KindAlarmRaised, "", event.SeverityGrave,
		event.Alarm{Key: event.AlarmLinkDown + ":east", Type: event.AlarmLinkDown}), "centre", "centre"))
	o.Observe(at(event.New(event.KindCameraState, "Camera1", event.SeverityInfo, nil), "east", "east", "centre"))

	root := o.Hierarchy([]CameraState{{ID: "Camera1", State: "streaming"}},
		[]ChildStatus{{NodeID: "region", Connected: true}, {NodeID: "west", Connected: true}})
	if root.ID != "centre" || !root.Self || root.Status != "online" || len(root.Cameras) != 1 || root.Cameras[0].Key != "Camera1" {
		t.Fatalf("root: %+v", root)
	}
	got := map[string]*ObservedNode{}
	var walk func(n *ObservedNode, parent string)
	walk = func(n *ObservedNode, parent string) {
		got[n.ID+"<"+parent] = n
		for _, c := range n.Children {
			walk(c, n.ID)
		}
	}
	walk(root, "")
	want := map[string]string{"east<centre": "offline", "region<centre": "online", "site<region": "degraded", "west<centre": "online"}
	if len(got) != len(want)+1 {
		t.Fatalf("nodes: %v", got)
	}
	for k, st := range want {
		if n := got[k]; n == nil || n.Status != st {
			t.Errorf("%s: %+v, want status %s", k, n, st)
		}
	}
	site := got["site<region"]
	if len(site.Cameras) != 2 || site.Cameras[0].Key != "site/Camera1" || site.Cameras[0].Reason != "no route" ||
		site.Cameras[1].State != "unknown" || site.Cameras[0].Live != "/live/site/Camera1/index.m3u8" {
		t.Fatalf("site's cameras: %+v", site.Cameras)
	}
	b, err := json.Marshal(got["west<centre"])
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"id":"west","status":"online","cameras":[],"children":[],"health":{"linked":true,"via":"west","failed":0}}` {
		t.Errorf("a node seen only by its link: %s", b)
	}
	// a grandchild is reached via its region, and has no link of its own here
	if h := site.Health; h == nil || h.Via != "region" || h.Linked != nil || h.LastEvent.IsZero() {
		t.Errorf("the site's health: %+v", h)
	}
	if root.Health != nil {
		t.Errorf("this node has health of its own: %+v", root.Health)
	}
}
