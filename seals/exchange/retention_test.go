package exchange

import (
	"testing"
	"time"

	"github.com/kuzet/kuzet/seals"
)

// What is older than Keep goes — the log with its dedupe keys, readings,
// tracking records, crossings, ended shipments — while a message still
// waiting for its partner stays, however old; what is newer stays.
func TestPruneKeepsWhatIsYoungOrWaiting(t *testing.T) {
	w := newWorld(t, "KZ.KTZE=national", "RU.GLONASS=national", "BY.BELTAM=national")
	w.ops["BY.BELTAM"].ln.Close() // BY is down: its message waits
	w.ops["BY.BELTAM"].ln = nil
	kz := w.open("KZ.KTZE")
	kz.opt.Keep = 30 * 24 * time.Hour
	w.start("KZ.KTZE")
	ru := w.start("RU.GLONASS")
	t0 := w.now.Now()
	const seal = "RU-7700123456"
	old := Binding{Seal: seal, Shipment: "KZ/OLD", Plates: []string{"111AAA01"}, Since: t0}
	if err := kz.Declare(old); err != nil {
		t.Fatal(err)
	}
	if _, err := kz.Take(seal, []seals.Reading{reading(t0, 80, 76, 44)}); err != nil {
		t.Fatal(err)
	}
	if _, err := kz.Crossed("site/1", "site", "Gate1", "111AAA01", t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	end := t0.Add(time.Hour)
	old.Until = &end
	if err := kz.Declare(old); err != nil {
		t.Fatal(err)
	}
	q := func(to, shipment string) {
		t.Helper()
		if _, err := kz.Send(seals.Message{To: to, Kind: seals.KindShipmentQuery, ShipmentQuery: &seals.ShipmentQuery{Shipment: shipment}}); err != nil {
			t.Fatal(err)
		}
	}
	q("RU.GLONASS", "KZ/1")
	q("BY.BELTAM", "KZ/2")
	eventually(t, "RU's answer", func() bool { return len(msgs(t, kz, Filter{Kind: seals.KindShipmentReport})) == 1 })

	w.now.Add(31 * 24 * time.Hour) // a month later, something new
	if _, err := kz.Take(seal, []seals.Reading{reading(w.now.Now(), 70, 76, 44)}); err != nil {
		t.Fatal(err)
	}
	q("RU.GLONASS", "KZ/3")
	eventually(t, "RU's second answer", func() bool { return len(msgs(t, kz, Filter{Kind: seals.KindShipmentReport})) == 2 })
	if _, err := kz.Prune(); err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, r := range msgs(t, kz, Filter{}) {
		left = append(left, string(r.Message.Kind)+"/"+r.Status)
	}
	if len(left) != 3 {
		t.Fatalf("log after pruning: %v, want the new query and its answer and the old one still queued for BY", left)
	}
	v, err := kz.Seal(seal, time.Time{}, time.Time{}, 100)
	if err != nil || len(v.Readings) != 1 || len(v.Shipments) != 0 || len(v.Crossings) != 0 {
		t.Fatalf("the seal after pruning: %+v %v", v, err)
	}
	if vs, _ := kz.Vehicle("111AAA01"); len(vs) != 0 {
		t.Fatalf("the ended shipment's plate is still sealed: %+v", vs)
	}
	if n := len(inbound(t, ru)); n != 2 {
		t.Fatalf("RU took %d queries, want 2", n)
	}
}
