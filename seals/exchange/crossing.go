package exchange

import (
	"bytes"
	"encoding/json"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/kuzet/kuzet/seals"
)

// A sealed vehicle is known by the plates its shipment was declared
// with. When one of them is read at a crossing, the read is linked to the
// seal and the state the seal was in then; a seal with an abnormal
// situation open makes the read a grave alarm.

// Crossing links a plate read to a sealed shipment of the vehicle read.
type Crossing struct {
	Read      string         `json:"read"`   // the plate read's event ID (origin/seq)
	Origin    string         `json:"origin"` // the node that read it
	Camera    string         `json:"camera"`
	Plate     string         `json:"plate"`
	At        time.Time      `json:"at"`
	Seal      string         `json:"seal"`
	Shipment  string         `json:"shipment"`
	Anomalies []Anomaly      `json:"anomalies,omitempty"`    // open when it was read
	Last      *seals.Reading `json:"last_reading,omitempty"` // the seal's last reading then
	Visit     string         `json:"visit,omitempty"`        // the vehicle's visit the read belongs to (Options.VisitOf, when listed)
}

// Abnormal reports whether the seal had an abnormal situation open.
func (c Crossing) Abnormal() bool { return len(c.Anomalies) > 0 }

// PlateKey is a plate as sealed vehicles are looked up by: capitals and
// digits only.
func PlateKey(p string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(p) {
		if r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// indexPlates keeps the plates index of a binding: its old plates out,
// its new ones in.
func indexPlates(tx *bolt.Tx, old *Binding, bd *Binding) error {
	b := tx.Bucket(bucketPlates)
	if old != nil {
		for _, p := range old.Plates {
			if err := b.Delete(key([]byte(PlateKey(p)), []byte(old.Seal), []byte(old.Shipment))); err != nil {
				return err
			}
		}
	}
	for _, p := range bd.Plates {
		if k := PlateKey(p); k != "" {
			if err := b.Put(key([]byte(k), []byte(bd.Seal), []byte(bd.Shipment)), nil); err != nil {
				return err
			}
		}
	}
	return nil
}

// sealedBy lists the open shipments a plate is declared for.
func sealedBy(tx *bolt.Tx, plate string) []Binding {
	var out []Binding
	prefix := append([]byte(PlateKey(plate)), 0)
	if len(prefix) == 1 {
		return nil
	}
	eachUnder(tx.Bucket(bucketPlates), prefix, func(k, _ []byte) bool {
		parts := bytes.SplitN(k[len(prefix):], []byte{0}, 2)
		if len(parts) == 2 {
			if bd, ok := getBinding(tx, string(parts[0]), string(parts[1])); ok && bd.Until == nil {
				out = append(out, *bd)
			}
		}
		return true
	})
	return out
}

// Crossed links a plate read to the sealed shipments of the vehicle read
// and queues a grave alarm for each whose seal has an abnormal situation
// open. A read is linked once, however often it is offered.
func (x *Exchange) Crossed(read, origin, camera, plate string, at time.Time) ([]Crossing, error) {
	var out []Crossing
	var b batch
	err := x.db.Update(func(tx *bolt.Tx) error {
		out, b = nil, batch{}
		for _, bd := range sealedBy(tx, plate) {
			if at.Before(bd.Since) {
				continue // read before the vehicle was sealed
			}
			k := key([]byte(read), []byte(bd.Seal), []byte(bd.Shipment))
			if tx.Bucket(bucketCrossings).Get(k) != nil {
				continue
			}
			c := Crossing{Read: read, Origin: origin, Camera: camera, Plate: plate, At: at.UTC(), Seal: bd.Seal, Shipment: bd.Shipment,
				Anomalies: openOf(tx, bd.Seal, bd.Shipment)}
			if r, ok := lastReadingOf(tx, bd.Seal); ok {
				c.Last = &r
			}
			if err := putJSON(tx.Bucket(bucketCrossings), k, c); err != nil {
				return err
			}
			if err := tx.Bucket(bucketSealCrossings).Put(key([]byte(bd.Seal), timeKey(at), []byte(read)), k); err != nil {
				return err
			}
			if c.Abnormal() {
				if err := x.queueAlarm(tx, Alarm{Crossing: &c}); err != nil {
					return err
				}
				b.alarms++
			}
			out = append(out, c)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	x.after(b)
	return out, nil
}

// openOf lists a shipment's open anomalies.
func openOf(tx *bolt.Tx, seal, shipment string) []Anomaly {
	var out []Anomaly
	eachUnder(tx.Bucket(bucketAnomaly), key([]byte(seal), []byte(shipment), nil), func(_, v []byte) bool {
		var a Anomaly
		if json.Unmarshal(v, &a) == nil {
			out = append(out, a)
		}
		return true
	})
	return out
}

// crossingsOf lists a seal's crossings, newest first.
func crossingsOf(tx *bolt.Tx, seal string, limit int) []Crossing {
	var out []Crossing
	prefix := append([]byte(seal), 0)
	c := tx.Bucket(bucketSealCrossings).Cursor()
	for k, v := lastUnder(c, prefix); k != nil && bytes.HasPrefix(k, prefix) && len(out) < limit; k, v = c.Prev() {
		var cr Crossing
		if raw := tx.Bucket(bucketCrossings).Get(v); raw != nil && json.Unmarshal(raw, &cr) == nil {
			out = append(out, cr)
		}
	}
	return out
}

// VehicleSeal is a sealed shipment of a vehicle as the console shows it
// beside the vehicle's plate reads: the seal's state, its track and the
// route, and the crossings its reads were linked to.
type VehicleSeal struct {
	Binding
	Anomalies []Anomaly       `json:"anomalies"` // open
	Track     []seals.Reading `json:"track"`     // the seal's readings since the shipment began (the last 2 000)
	Crossings []Crossing      `json:"crossings"` // the newest 20
}

// Vehicle lists the open sealed shipments of a plate.
func (x *Exchange) Vehicle(plate string) ([]VehicleSeal, error) {
	out := []VehicleSeal{}
	err := x.db.View(func(tx *bolt.Tx) error {
		for _, bd := range sealedBy(tx, plate) {
			v := VehicleSeal{Binding: bd, Anomalies: openOf(tx, bd.Seal, bd.Shipment), Track: []seals.Reading{}, Crossings: crossingsOf(tx, bd.Seal, 20)}
			if v.Anomalies == nil {
				v.Anomalies = []Anomaly{}
			}
			if v.Crossings == nil {
				v.Crossings = []Crossing{}
			}
			q := &seals.SealQuery{Seal: bd.Seal, From: seals.At(bd.Since), To: seals.At(time.Unix(0, 1<<62))}
			for _, m := range readingsOf(tx, q) {
				if m.TechData != nil {
					v.Track = append(v.Track, m.TechData.Readings...)
				}
			}
			if len(v.Track) > 2000 {
				v.Track = v.Track[len(v.Track)-2000:]
			}
			out = append(out, v)
		}
		return nil
	})
	if err == nil {
		for i := range out {
			x.visits(out[i].Crossings)
		}
	}
	return out, err
}

// visits names the visit of each crossing, where the node tracks visits.
func (x *Exchange) visits(cs []Crossing) {
	if x.opt.VisitOf == nil {
		return
	}
	for i := range cs {
		cs[i].Visit = x.opt.VisitOf(cs[i])
	}
}
