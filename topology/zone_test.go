package topology

import (
	"strings"
	"testing"
)

// A zone's kind is stored and goes down to the site with the slice.
func TestZoneKindReachesSlice(t *testing.T) {
	c := mustApply(t, sample(t),
		Command{Type: PutZone, Zone: &Zone{ID: "gate-in", Site: "khorgos-1", Kind: "entry", DwellLimitMinutes: 30}},
		putCamera("khorgos-1", "Entry1", "gate-in"))
	s, err := c.SliceFor("khorgos-1")
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, z := range s.Zones {
		found = found || (z.ID == "gate-in" && z.Kind == "entry" && z.DwellLimitMinutes == 30)
	}
	if !found {
		t.Fatalf("slice zones %+v", s.Zones)
	}
	if _, err := c.apply(Command{Type: PutZone, Zone: &Zone{ID: "x", Kind: "Customs Hall"}}); err == nil || !strings.Contains(err.Error(), "lower-case word") {
		t.Fatalf("a bad kind: %v", err)
	}
	if _, err := c.apply(Command{Type: PutZone, Zone: &Zone{ID: "x", DwellLimitMinutes: -1}}); err == nil || !strings.Contains(err.Error(), "dwell_limit_minutes") {
		t.Fatalf("a bad limit: %v", err)
	}
	if _, err := c.apply(Command{Type: PutZone, Zone: &Zone{ID: "x", Forbidden: true, ReachWithinMinutes: 5}}); err == nil || !strings.Contains(err.Error(), "forbidden zone") {
		t.Fatalf("a forbidden zone to reach: %v", err)
	}
	bad := putCamera("khorgos-1", "Lane9", "")
	bad.Camera.AllowedDirection = "sideways"
	if _, err := c.apply(bad); err == nil || !strings.Contains(err.Error(), "allowed_direction") {
		t.Fatalf("a bad allowed_direction: %v", err)
	}
	bad.Camera.AllowedDirection, bad.Camera.Direction = "exit", "entry"
	if _, err := c.apply(bad); err == nil || !strings.Contains(err.Error(), "use direction auto") {
		t.Fatalf("a fixed direction against the lane: %v", err)
	}
}
