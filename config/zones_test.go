package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestZones(t *testing.T) {
	c, err := Parse([]byte(`
node: {id: a}
zones:
  - {id: gate-in, kind: entry, name: Entry gate}
  - {id: customs, kind: customs, dwell_limit: 2h}
  - {id: parking, forbidden: true}
  - {id: scales, kind: weighing, reach_within: 90m}
cameras:
  - {id: Gate1, url: 'rtsp://10.0.0.5/ch1', zone: gate-in, lane: "1", direction: auto, allowed_direction: entry}
  - {id: Gate2, url: 'rtsp://10.0.0.6/ch1'}
`), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Cameras[0].AllowedDirection != "entry" || c.Cameras[0].Lane != "1" {
		t.Fatalf("camera %+v", c.Cameras[0])
	}
	if len(c.Zones) != 4 || !c.Zones[2].Forbidden || c.Zones[3].ReachWithin.Std() != 90*time.Minute || c.Zones[0].Kind != "entry" || c.Zones[1].DwellLimit.Std() != 2*time.Hour || c.Cameras[0].Zone != "gate-in" || c.Cameras[1].Zone != "" {
		t.Fatalf("zones %+v, cameras %+v", c.Zones, c.Cameras)
	}
	// the catalogue's zones join the file's for its cameras; the file's win
	cams, zones, err := c.CheckCameras(append(c.Cameras, Camera{ID: "Gate3", URL: "rtsp://10.0.0.7/ch1", Zone: "exit"}),
		[]Zone{{ID: "exit", Kind: "exit"}, {ID: "customs", Kind: "waiting"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(cams) != 3 || len(zones) != 5 || zones[1].Kind != "customs" || zones[4].ID != "exit" {
		t.Fatalf("merged zones %+v", zones)
	}
	if _, _, err := c.CheckCameras([]Camera{{ID: "Gate4", URL: "rtsp://10.0.0.8/ch1", Zone: "nowhere"}}, nil); err == nil ||
		!strings.Contains(err.Error(), `unknown zone "nowhere"`) {
		t.Fatalf("a slice camera in an unknown zone: %v", err)
	}

	for _, tc := range []struct{ yaml, key, says string }{
		{"zones: [{id: 'a b'}]", "zones[0].id", "letters, digits"},
		{"zones: [{id: z}, {id: z}]", "zones[1].id", "duplicate zone id"},
		{"zones: [{id: z, kind: Customs}]", "zones[0].kind", "lower-case word"},
		{"zones: [{id: z, dwell_limit: 500ms}]", "zones[0].dwell_limit", "1s..720h"},
		{"zones: [{id: z, reach_within: 1000h}]", "zones[0].reach_within", "1s..720h"},
		{"zones: [{id: z, forbidden: true, reach_within: 1h}]", "zones[0].reach_within", "forbidden zone"},
		{"cameras: [{id: C, url: 'rtsp://10.0.0.5/', allowed_direction: sideways}]", "cameras[0].allowed_direction", "entry or exit"},
		{"cameras: [{id: C, url: 'rtsp://10.0.0.5/', direction: exit, allowed_direction: entry}]", "cameras[0].allowed_direction", "every read"},
		{"zones: [{id: z}]\ncameras: [{id: C, url: 'rtsp://10.0.0.5/', zone: y}]", "cameras[0].zone", `unknown zone "y"`},
	} {
		_, err := Parse([]byte("node: {id: a}\n"+tc.yaml), Options{})
		var ke *KeyError
		if !errors.As(err, &ke) || ke.Key != tc.key || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("%q: %v, want an error naming %s that says %q", tc.yaml, err, tc.key, tc.says)
		}
	}
}
