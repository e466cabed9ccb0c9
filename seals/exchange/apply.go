package exchange

import (
	"bytes"
	"encoding/json"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/kuzet/kuzet/seals"
)

// batch is what taking a message caused: answers and reports queued in
// its transaction, and anomalies to raise once it has committed.
type batch struct {
	queued    []*Record
	anomalies []Anomaly
	alarms    int // stored for raising
}

// apply records what a partner's message tells and answers its queries
// (EAEU-6: the answer goes to the requester, naming the query).
func (x *Exchange) apply(tx *bolt.Tx, m *seals.Message, b *batch) error {
	answer := func(a *seals.Message) error {
		a.To, a.InReplyTo = m.From, m.ID
		r, err := x.queue(tx, a)
		if err == nil {
			b.queued = append(b.queued, r)
		}
		return err
	}
	now := x.opt.Now().UTC()
	switch m.Kind {
	case seals.KindOwnershipQuery:
		return answer(&seals.Message{Kind: seals.KindOwnershipAnswer, OwnershipAnswer: &seals.OwnershipAnswer{
			Seal: m.OwnershipQuery.Seal, Result: ownership(tx, m.OwnershipQuery.Seal)}})
	case seals.KindOwnershipAnswer:
		a := m.OwnershipAnswer
		if a.Result == "00" || a.Result == "02" {
			return putJSON(tx.Bucket(bucketOwners), []byte(a.Seal), Owner{Operator: m.From, Result: a.Result, At: now})
		}
	case seals.KindSealQuery:
		q := m.SealQuery
		if q.Type == "T0" {
			return answer(shipmentsOf(tx, q))
		}
		parts := readingsOf(tx, q)
		for _, p := range parts {
			if err := answer(p); err != nil {
				return err
			}
		}
	case seals.KindShipmentQuery:
		return answer(reportOf(tx, m.ShipmentQuery.Shipment))
	case seals.KindTechData:
		return x.takeReadings(tx, m.TechData.Seal, m.TechData.Readings, b)
	case seals.KindTracking:
		return x.takeTracking(tx, m, b)
	}
	// the rest (actions, writes, answers to this operator's queries) is
	// kept in the log for the operators and the API
	return nil
}

// ownership answers whether seal is registered here (section II).
func ownership(tx *bolt.Tx, seal string) string {
	v := tx.Bucket(bucketRegistry).Get([]byte(seal))
	if v == nil {
		return "01"
	}
	var reg Registration
	if json.Unmarshal(v, &reg) == nil && !reg.Usable {
		return "02"
	}
	return "00"
}

// Binding is a shipment tracked with a seal: who registered the seal and
// who tracks it, the vehicle's plates, and the declared route the
// deviation anomaly is measured against.
type Binding struct {
	Seal          string       `json:"seal"`
	Shipment      string       `json:"shipment"`
	Operator      string       `json:"operator,omitempty"` // the seal's registering operator
	Tracking      string       `json:"tracking,omitempty"` // the operator tracking it ("" : this one)
	Since         time.Time    `json:"since"`
	Until         *time.Time   `json:"until,omitempty"` // tracking ended
	Plates        []string     `json:"plates,omitempty"`
	Route         [][2]float64 `json:"route,omitempty"`          // [longitude, latitude], WGS 84
	LimitKM       float64      `json:"limit_km,omitempty"`       // 0: the exchange's default
	PeriodMinutes int          `json:"period_minutes,omitempty"` // reporting period (1–120; 0: not watched)
	Countries     []string     `json:"countries,omitempty"`      // member states the route crosses
}

func getBinding(tx *bolt.Tx, seal, shipment string) (*Binding, bool) {
	v := tx.Bucket(bucketBindings).Get(key([]byte(seal), []byte(shipment)))
	if v == nil {
		return nil, false
	}
	var bd Binding
	if json.Unmarshal(v, &bd) != nil {
		return nil, false
	}
	return &bd, true
}

// bindingsOf lists a seal's shipments.
func bindingsOf(tx *bolt.Tx, seal string) []Binding {
	var out []Binding
	eachUnder(tx.Bucket(bucketBindings), append([]byte(seal), 0), func(_, v []byte) bool {
		var bd Binding
		if json.Unmarshal(v, &bd) == nil {
			out = append(out, bd)
		}
		return true
	})
	return out
}

// shipmentsOf answers T0: the shipments tracked with the seal within the
// window (section X).
func shipmentsOf(tx *bolt.Tx, q *seals.SealQuery) *seals.Message {
	a := &seals.SealShipments{Seal: q.Seal, Result: "01"}
	for _, bd := range bindingsOf(tx, q.Seal) {
		if bd.Since.Before(q.To.Time) && (bd.Until == nil || !bd.Until.Before(q.From.Time)) && len(a.Shipments) < seals.MaxShipments {
			a.Shipments = append(a.Shipments, bd.Shipment)
		}
	}
	if len(a.Shipments) > 0 {
		a.Result = "02"
	}
	return &seals.Message{Kind: seals.KindSealShipments, SealShipments: a}
}

// answerChunk keeps a T1 answer's part under the message size limit.
const answerChunk = 5000

// readingsOf answers T1: the seal's technological data within the window,
// in parts; a window with none is answered "nothing found" (section X's
// result 01), so that the requester always hears back.
func readingsOf(tx *bolt.Tx, q *seals.SealQuery) []*seals.Message {
	var out []*seals.Message
	var cur []seals.Reading
	flush := func() {
		if len(cur) > 0 {
			out = append(out, &seals.Message{Kind: seals.KindTechData, TechData: &seals.TechData{Seal: q.Seal, Readings: cur}})
			cur = nil
		}
	}
	c := tx.Bucket(bucketReadings).Cursor()
	from, to := key([]byte(q.Seal), timeKey(q.From.Time)), key([]byte(q.Seal), timeKey(q.To.Time))
	for k, v := c.Seek(from); k != nil && bytes.Compare(k, to) < 0; k, v = c.Next() {
		var rd seals.Reading
		if json.Unmarshal(v, &rd) == nil {
			cur = append(cur, rd)
		}
		if len(cur) == answerChunk {
			flush()
		}
	}
	flush()
	if len(out) == 0 {
		out = append(out, &seals.Message{Kind: seals.KindSealShipments, SealShipments: &seals.SealShipments{Seal: q.Seal, Result: "01"}})
	}
	return out
}

// reportOf answers a shipment query from its tracking records (section XII).
func reportOf(tx *bolt.Tx, shipment string) *seals.Message {
	a := &seals.ShipmentReport{Shipment: shipment, Result: "01"}
	eachUnder(tx.Bucket(bucketTracks), append([]byte(shipment), 0), func(_, v []byte) bool {
		var tr trackEntry
		if json.Unmarshal(v, &tr) == nil {
			a.Records = append(a.Records, tr.Record)
			a.Seal = &seals.SealInfo{Seal: tr.Seal, Operator: tr.Operator}
		}
		return len(a.Records) < seals.MaxRecords
	})
	if len(a.Records) > 0 {
		a.Result = "02"
	} else {
		a.Records, a.Seal = nil, nil
	}
	return &seals.Message{Kind: seals.KindShipmentReport, ShipmentReport: a}
}

// trackEntry is a shipment's tracking record with the seal it was made by.
type trackEntry struct {
	Record   seals.TrackRecord `json:"record"`
	Seal     string            `json:"seal"`
	Operator string            `json:"operator"`
}

// takeTracking records a tracking report: the record, the seal's binding
// to the shipment (opened by 01, closed by 02), whose the seal is, its
// reading, and an abnormal situation the partner reports.
func (x *Exchange) takeTracking(tx *bolt.Tx, m *seals.Message, b *batch) error {
	t := m.Tracking
	s := t.Seal
	now := x.opt.Now().UTC()
	at := m.Time.Time
	if s.Reading != nil {
		at = s.Reading.Time.Time
		if err := x.takeReadings(tx, s.Seal, []seals.Reading{*s.Reading}, b); err != nil {
			return err
		}
	}
	if t.Code != "07" {
		rec := seals.TrackRecord{Code: t.Code, Time: seals.At(at), Anomaly: t.Anomaly, NewSeal: t.NewSeal}
		if s.Reading != nil {
			rec.Longitude, rec.Latitude = s.Reading.Longitude, s.Reading.Latitude
		}
		seq, err := tx.Bucket(bucketTracks).NextSequence()
		if err != nil {
			return err
		}
		k := key([]byte(t.Shipment), timeKey(at), u64(seq))
		if err := putJSON(tx.Bucket(bucketTracks), k, trackEntry{Record: rec, Seal: s.Seal, Operator: s.Operator}); err != nil {
			return err
		}
	}
	if tx.Bucket(bucketOwners).Get([]byte(s.Seal)) == nil {
		if err := putJSON(tx.Bucket(bucketOwners), []byte(s.Seal), Owner{Operator: s.Operator, Result: "tracking", At: now}); err != nil {
			return err
		}
	}
	bd, ok := getBinding(tx, s.Seal, t.Shipment)
	if !ok {
		bd = &Binding{Seal: s.Seal, Shipment: t.Shipment, Since: at, Operator: s.Operator, Tracking: m.From}
	}
	if bd.Tracking == "" && t.Code == "04" {
		// a partner's report on a shipment this operator tracks (and
		// derives anomalies for itself): recorded and alarmed, not re-reported
		return x.open(tx, Anomaly{Seal: s.Seal, Shipment: t.Shipment, Code: t.Anomaly, ReportedBy: m.From, At: at, Plates: bd.Plates}, nil, b, false)
	}
	if t.Code == "02" {
		bd.Until = &at
		if err := closeAll(tx, s.Seal, t.Shipment); err != nil {
			return err
		}
	}
	if err := putJSON(tx.Bucket(bucketBindings), key([]byte(s.Seal), []byte(t.Shipment)), bd); err != nil {
		return err
	}
	if t.Code == "04" || t.Code == "07" {
		return x.open(tx, Anomaly{Seal: s.Seal, Shipment: t.Shipment, Code: t.Anomaly, ReportedBy: m.From,
			At: at, Plates: bd.Plates, Crossed: t.Code == "07"}, nil, b, false)
	}
	return nil
}
