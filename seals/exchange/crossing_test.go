package exchange

import (
	"sync"
	"testing"
	"time"

	"github.com/kuzet/kuzet/seals"
)

// A read of a sealed vehicle's plate (spelt any way) is linked to its
// seal once, with the seal's state then; a read while the seal is
// abnormal is a grave alarm; reads before the sealing or after tracking
// ended, and other vehicles' reads, are not linked.
func TestCrossingLinksReadsToSeals(t *testing.T) {
	w := newWorld(t, "KZ.KTZE=national", "RU.GLONASS=national")
	kz := w.open("KZ.KTZE")
	var mu sync.Mutex
	var raised []Alarm
	kz.opt.Alarm = func(a Alarm) error { mu.Lock(); raised = append(raised, a); mu.Unlock(); return nil }
	w.start("KZ.KTZE")
	t0 := w.now.Now()
	const seal, shipment = "RU-7700123456", "KZ/2026/000123"
	bd := Binding{Seal: seal, Shipment: shipment, Operator: "RU.GLONASS", Plates: []string{"123 ABC 02", "45-KZ-02"},
		Route: [][2]float64{{76, 43}, {76, 45}}, Since: t0}
	if err := kz.Declare(bd); err != nil {
		t.Fatal(err)
	}
	cross := func(read, plate string, at time.Time) []Crossing {
		t.Helper()
		cs, err := kz.Crossed(read, "site-a", "Gate1", plate, at)
		if err != nil {
			t.Fatal(err)
		}
		return cs
	}
	if cs := cross("site-a/1", "123ABC02", t0.Add(-time.Minute)); len(cs) != 0 {
		t.Fatalf("a read before the sealing was linked: %+v", cs)
	}
	if cs := cross("site-a/2", "999ZZZ02", t0.Add(time.Minute)); len(cs) != 0 {
		t.Fatalf("another vehicle's read was linked: %+v", cs)
	}
	cs := cross("site-a/3", "123abc02", t0.Add(time.Minute))
	if len(cs) != 1 || cs[0].Seal != seal || cs[0].Abnormal() {
		t.Fatalf("a normal sealed vehicle's read: %+v", cs)
	}
	if _, err := kz.Take(seal, []seals.Reading{reading(t0.Add(2*time.Minute), 70, eastOf(76, 44, 80), 44)}); err != nil {
		t.Fatal(err)
	}
	cs = cross("site-a/4", "45KZ02", t0.Add(3*time.Minute)) // the trailer's plate
	if len(cs) != 1 || !cs[0].Abnormal() || cs[0].Anomalies[0].Code != "03" || cs[0].Last == nil {
		t.Fatalf("the read of an abnormal seal's vehicle: %+v", cs)
	}
	if again := cross("site-a/4", "45KZ02", t0.Add(3*time.Minute)); len(again) != 0 {
		t.Fatalf("a read offered again was linked again: %+v", again)
	}
	eventually(t, "the alarms", func() bool { mu.Lock(); defer mu.Unlock(); return len(raised) >= 2 })
	time.Sleep(100 * time.Millisecond)
	mu.Lock()
	var crossings []Crossing
	for _, a := range raised {
		if a.Crossing != nil {
			crossings = append(crossings, *a.Crossing)
		}
	}
	mu.Unlock()
	if len(crossings) != 1 || crossings[0].Read != "site-a/4" {
		t.Fatalf("crossing alarms %+v, want the read site-a/4 once", crossings)
	}
	vs, err := kz.Vehicle("123-ABC-02")
	if err != nil || len(vs) != 1 || len(vs[0].Crossings) != 2 || vs[0].Crossings[0].Read != "site-a/4" || len(vs[0].Track) != 1 || len(vs[0].Anomalies) != 1 {
		t.Fatalf("the vehicle: %+v %v", vs, err)
	}
	// tracking ended: reads are no longer the seal's
	end := t0.Add(4 * time.Minute)
	bd.Until = &end
	if err := kz.Declare(bd); err != nil {
		t.Fatal(err)
	}
	if cs := cross("site-a/5", "123ABC02", t0.Add(5*time.Minute)); len(cs) != 0 {
		t.Fatalf("a read after tracking ended was linked: %+v", cs)
	}
	// a re-declaration without the trailer's plate forgets it
	bd.Until, bd.Plates = nil, []string{"123ABC02"}
	if err := kz.Declare(bd); err != nil {
		t.Fatal(err)
	}
	if cs := cross("site-a/6", "45KZ02", t0.Add(6*time.Minute)); len(cs) != 0 {
		t.Fatalf("a plate taken off the shipment was linked: %+v", cs)
	}
}
