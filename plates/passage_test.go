package plates

import (
	"testing"
	"time"
)

func TestPairerFormsPassages(t *testing.T) {
	t0 := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	p := NewPairer([]PassageRule{{Front: "Front", Rear: "Rear", Window: 30 * time.Second}})
	read := func(id, cam, plate string, s int, dir string) PassageRead {
		return PassageRead{ID: id, Camera: cam, Plate: plate, Time: t0.Add(time.Duration(s) * time.Second), Direction: dir}
	}
	if _, ok := p.Add(read("x", "Other", "A", 0, "")); ok || p.Takes("Other") {
		t.Fatal("a camera outside every rule was paired")
	}
	if _, ok := p.Add(read("1", "Front", "123ABC02", 0, "entry")); ok {
		t.Fatal("one read made a passage")
	}
	if _, ok := p.Add(read("2", "Front", "456KTA05", 10, "entry")); ok {
		t.Fatal("two fronts paired")
	}
	// the rear of the first truck: pairs with the oldest waiting front
	ps, ok := p.Add(read("3", "Rear", "AB123402", 20, "entry"))
	if !ok || !ps.Complete || ps.Tractor != "123ABC02" || ps.Trailer != "AB123402" || !ps.Time.Equal(t0) || ps.Direction != "entry" {
		t.Fatalf("passage %+v", ps)
	}
	// a rear going the other way does not pair with the waiting entry
	if _, ok := p.Add(read("4", "Rear", "CD567802", 25, "exit")); ok {
		t.Fatal("directions mixed")
	}
	// past the window: the second front and the exit rear end alone
	if got := p.Expire(t0.Add(39 * time.Second)); len(got) != 0 {
		t.Fatalf("expired early: %+v", got)
	}
	got := p.Expire(t0.Add(60 * time.Second))
	if len(got) != 2 || got[0].Tractor != "456KTA05" || got[0].Complete || got[1].Trailer != "CD567802" || got[1].Front != nil {
		t.Fatalf("expired %+v", got)
	}
	if len(p.Pending()) != 0 {
		t.Fatal("reads left waiting")
	}
	// a rear read first, the front within the window (reversing trucks)
	p.Add(read("5", "Rear", "EF901202", 100, ""))
	if ps, ok := p.Add(read("6", "Front", "777AAA02", 125, "")); !ok || ps.Tractor != "777AAA02" || ps.Trailer != "EF901202" {
		t.Fatalf("rear-first passage %+v", ps)
	}
	// too far apart
	p.Add(read("7", "Front", "111BBB02", 200, ""))
	if _, ok := p.Add(read("8", "Rear", "GH345602", 231, "")); ok {
		t.Fatal("paired outside the window")
	}
}
