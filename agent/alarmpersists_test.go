package agent

import (
	"image"
	"testing"
	"time"

	"github.com/kuzet/kuzet/alarm"
	"github.com/kuzet/kuzet/tamper"
)

// A tamper condition that the camera's detector still sees persists, so
// an operator's clear of its alarm raises it again; one it no longer
// sees, or another camera's, does not.
func TestTamperConditionPersists(t *testing.T) {
	tc, err := tamper.NewConsumer(tamper.ConsumerOptions{Cameras: map[string]tamper.Config{"Camera1": {Persist: time.Second}}})
	if err != nil {
		t.Fatal(err)
	}
	a := &Agent{tamper: tc}
	covered := alarm.Alarm{Type: tamper.Covered.AlarmType(), Camera: "Camera1"}
	if a.alarmPersists(covered) {
		t.Fatal("covered persists before the detector saw a frame")
	}
	black := image.NewRGBA(image.Rect(0, 0, 640, 360))
	for i := range black.Pix {
		black.Pix[i] = 3
		if i%4 == 3 {
			black.Pix[i] = 255
		}
	}
	t0 := time.Now()
	d := tc.Detector("Camera1")
	for s := 0; s <= 4; s++ {
		d.Observe(black, t0.Add(time.Duration(s)*time.Second))
	}
	if st := tc.Status(); len(st) != 1 || len(st[0].Raised) == 0 {
		t.Fatalf("the detector does not see the lens covered: %+v", st)
	}
	if !a.alarmPersists(covered) {
		t.Error("covered does not persist while the detector sees it")
	}
	if a.alarmPersists(alarm.Alarm{Type: tamper.Covered.AlarmType(), Camera: "Camera2"}) {
		t.Error("another camera's covered alarm persists")
	}
	if a.alarmPersists(alarm.Alarm{Type: tamper.Blinded.AlarmType(), Camera: "Camera1"}) {
		t.Error("a condition the detector does not see persists")
	}
}
