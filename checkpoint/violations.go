package checkpoint

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/plates"
)

// Violations (UA-3.4) are alarms of their own types, grave or medium by
// default (the node's alarms.severity may say otherwise): grave and medium
// alarms overtake ordinary traffic on their way up the tree (UA-3.19), and
// the alarm table at every node above keeps them. They are incidents, not
// conditions: an operator clears them.
const (
	// AlarmForbiddenZone: a vehicle seen in a zone marked forbidden.
	AlarmForbiddenZone = "violation_forbidden_zone"
	// AlarmAbsence: a vehicle that entered and did not reach a zone it
	// must reach within the zone's time.
	AlarmAbsence = "violation_absence"
	// AlarmWrongDirection: a vehicle read going against its lane's
	// direction of travel.
	AlarmWrongDirection = "violation_wrong_direction"
	// AlarmLaneDivider: a vehicle whose plate crossed a lane divider of
	// the camera's frame.
	AlarmLaneDivider = "violation_lane_divider"
)

// plateOf names a visit's vehicle in messages.
func plateOf(tractor, trailer string) string {
	switch {
	case tractor != "" && trailer != "":
		return tractor + " (trailer " + trailer + ")"
	case tractor != "":
		return tractor
	}
	return trailer
}

// raiseOnce raises an alarm whose key this node has not raised before,
// and records it after the event: a replay does not raise it again, and a
// kill between the two at worst raises it twice, which the alarm table
// takes as one alarm seen twice; nothing is lost.
func raiseOnce(log *event.Log, idx *Index, site Site, typ, key, camera string, def event.Severity, msg string) error {
	done, err := idx.raised(key)
	if err != nil || done {
		return err
	}
	if err := appendAlarm(log, event.KindAlarmRaised, typ, key, camera, site.severity(typ, def), msg); err != nil {
		return err
	}
	return idx.markAlarm(key, true)
}

// checkForbidden raises a violation for a sighting in a forbidden zone,
// once per visit and zone.
func checkForbidden(log *event.Log, idx *Index, site Site, s Sighting, visit string) error {
	if site.Forbidden == nil || !site.Forbidden(s.Zone) {
		return nil
	}
	msg := fmt.Sprintf("vehicle %s seen in the forbidden zone %s (camera %s)", plateOf(s.Tractor, s.Trailer), s.Zone, s.Camera)
	return raiseOnce(log, idx, site, AlarmForbiddenZone, AlarmForbiddenZone+":"+visit+"@"+s.Zone, s.Camera, event.SeverityGrave, msg)
}

// checkDirection raises a violation for a sighting against its lane's
// direction of travel, once per sighting.
func checkDirection(log *event.Log, idx *Index, site Site, s Sighting) error {
	if site.AllowedDirection == nil || s.Direction == "" {
		return nil
	}
	allowed := site.AllowedDirection(s.Camera)
	if allowed == "" || allowed == s.Direction {
		return nil
	}
	msg := fmt.Sprintf("vehicle %s read going %s at camera %s, whose lane is for %s", plateOf(s.Tractor, s.Trailer), s.Direction, s.Camera, allowed)
	return raiseOnce(log, idx, site, AlarmWrongDirection, AlarmWrongDirection+":"+s.ID, s.Camera, event.SeverityMedium, msg)
}

// checkDivider raises a violation for one of the node's reads whose plate
// crossed a lane divider, once per read, whether or not the camera is in
// a passage rule or a zone.
func checkDivider(log *event.Log, idx *Index, site Site, e event.Event) error {
	if e.Kind != plates.KindPlateRead || e.Origin != log.Origin() {
		return nil
	}
	var pr plates.PlateRead
	if json.Unmarshal(e.Payload, &pr) != nil || !pr.CrossedDivider {
		return nil
	}
	msg := fmt.Sprintf("vehicle %s crossed a lane divider at camera %s", pr.Plate, e.Camera)
	return raiseOnce(log, idx, site, AlarmLaneDivider, AlarmLaneDivider+":"+e.ID(), e.Camera, event.SeverityMedium, msg)
}

// checkAbsence raises a violation for each open visit that has not reached
// a zone it had to reach by now, once per visit and zone.
func checkAbsence(log *event.Log, idx *Index, site Site, open []Visit, now time.Time) error {
	if site.Expected == nil {
		return nil
	}
	expected := site.Expected()
	for _, v := range open {
		if !v.EntrySeen {
			continue // it came in unseen: when is not known
		}
		for zone, within := range expected {
			if within <= 0 || now.Sub(v.Opened) <= within || reached(v, zone) {
				continue
			}
			msg := fmt.Sprintf("vehicle %s entered at %s and has not reached zone %s within %v",
				plateOf(v.Tractor, v.Trailer), v.Opened.UTC().Format(time.RFC3339), zone, within)
			camera := v.Passages[len(v.Passages)-1].Camera
			if err := raiseOnce(log, idx, site, AlarmAbsence, AlarmAbsence+":"+v.ID+"@"+zone, camera, event.SeverityMedium, msg); err != nil {
				return err
			}
		}
	}
	return nil
}

func reached(v Visit, zone string) bool {
	for _, p := range v.Passages {
		if p.Zone == zone {
			return true
		}
	}
	return false
}
