package exchange

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/kuzet/kuzet/seals"
)

// DefaultLimitKM is how far from its declared route a seal may be (the
// abnormal situation 03), unless the route or the configuration sets
// another limit.
const DefaultLimitKM = 50

// LowBattery is the charge below which a seal is abnormal (05), %.
const LowBattery = 15

// Anomaly is an abnormal situation of a sealed shipment: derived here
// from the seal's technological data (03, 05, 06) or reported by a
// partner (ReportedBy).
type Anomaly struct {
	Seal       string    `json:"seal"`
	Shipment   string    `json:"shipment"`
	Code       string    `json:"code"` // seals.AnomalyCodes
	ReportedBy string    `json:"reported_by,omitempty"`
	At         time.Time `json:"at"`
	Detail     string    `json:"detail,omitempty"`
	Plates     []string  `json:"plates,omitempty"`  // the sealed vehicle's
	Crossed    bool      `json:"crossed,omitempty"` // the vehicle crossed a border meanwhile (07)
}

// Description names the anomaly as the classifier does.
func (a Anomaly) Description() string { return seals.AnomalyCodes[a.Code] }

// takeReadings stores a seal's readings and derives the anomalies they
// show for each shipment the seal tracks: the battery (05) and the
// deviation from the declared route (03). An anomaly is raised once and
// closes when the readings are normal again.
func (x *Exchange) takeReadings(tx *bolt.Tx, seal string, rs []seals.Reading, b *batch) error {
	bk := tx.Bucket(bucketReadings)
	for _, r := range rs {
		if err := putJSON(bk, key([]byte(seal), timeKey(r.Time.Time)), r); err != nil {
			return err
		}
	}
	for _, bd := range bindingsOf(tx, seal) {
		if bd.Until != nil || bd.Tracking != "" {
			// ended, or another operator tracks it: that one derives and
			// reports (deriving here too would echo reports between partners)
			continue
		}
		for _, r := range rs {
			if r.Time.Before(bd.Since) {
				continue
			}
			low := r.Battery < LowBattery
			if err := x.toggle(tx, Anomaly{Seal: seal, Shipment: bd.Shipment, Code: "05", At: r.Time.Time, Plates: bd.Plates,
				Detail: fmt.Sprintf("battery %d %%", r.Battery)}, low, &r, b); err != nil {
				return err
			}
			if len(bd.Route) == 0 {
				continue
			}
			limit := bd.LimitKM
			if limit <= 0 {
				limit = x.opt.LimitKM
			}
			d := DistanceToRoute(r.Longitude, r.Latitude, bd.Route)
			if err := x.toggle(tx, Anomaly{Seal: seal, Shipment: bd.Shipment, Code: "03", At: r.Time.Time, Plates: bd.Plates,
				Detail: fmt.Sprintf("%.1f km from the declared route (limit %.0f km)", d, limit)}, d > limit, &r, b); err != nil {
				return err
			}
		}
	}
	return nil
}

// toggle opens an anomaly when on and it is not open, and closes it when
// off.
func (x *Exchange) toggle(tx *bolt.Tx, a Anomaly, on bool, r *seals.Reading, b *batch) error {
	k := key([]byte(a.Seal), []byte(a.Shipment), []byte(a.Code))
	open := tx.Bucket(bucketAnomaly).Get(k) != nil
	switch {
	case on && !open:
		return x.open(tx, a, r, b, true)
	case !on && open:
		return tx.Bucket(bucketAnomaly).Delete(k)
	}
	return nil
}

// open records an open anomaly, queues its alarm and, for one derived
// here, reports it (tracking code 04) to the partners that should know.
func (x *Exchange) open(tx *bolt.Tx, a Anomaly, r *seals.Reading, b *batch, report bool) error {
	k := key([]byte(a.Seal), []byte(a.Shipment), []byte(a.Code))
	if tx.Bucket(bucketAnomaly).Get(k) != nil {
		return nil // open already: raised once
	}
	if err := putJSON(tx.Bucket(bucketAnomaly), k, a); err != nil {
		return err
	}
	if err := x.queueAlarm(tx, Alarm{Anomaly: &a}); err != nil {
		return err
	}
	b.alarms++
	b.anomalies = append(b.anomalies, a)
	if !report {
		return nil
	}
	bd, ok := getBinding(tx, a.Seal, a.Shipment)
	if !ok {
		return nil
	}
	operator := bd.Operator
	if operator == "" {
		operator = x.opt.Operator
	}
	for _, to := range x.concerned(tx, bd) {
		m := &seals.Message{To: to, Kind: seals.KindTracking, Tracking: &seals.Tracking{
			Shipment: a.Shipment, Code: "04", Anomaly: a.Code,
			Seal: seals.SealInfo{Seal: a.Seal, Operator: operator, Reading: r},
		}}
		rec, err := x.queue(tx, m)
		if err != nil {
			return fmt.Errorf("report anomaly %s of %s to %s: %w", a.Code, a.Seal, to, err)
		}
		b.queued = append(b.queued, rec)
	}
	return nil
}

// closeAll closes a shipment's anomalies (its tracking ended).
func closeAll(tx *bolt.Tx, seal, shipment string) error {
	prefix := key([]byte(seal), []byte(shipment), nil)
	c := tx.Bucket(bucketAnomaly).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Seek(prefix) {
		if err := c.Delete(); err != nil {
			return err
		}
	}
	return nil
}

// OpenAnomalies lists the anomalies open for a seal ("" : every seal).
func (x *Exchange) OpenAnomalies(seal string) ([]Anomaly, error) {
	out := []Anomaly{}
	err := x.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketAnomaly).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			var a Anomaly
			if json.Unmarshal(v, &a) == nil && (seal == "" || a.Seal == seal) {
				out = append(out, a)
			}
		}
		return nil
	})
	return out, err
}

// after wakes the senders of what a transaction queued and the alarm
// loop, once it has committed.
func (x *Exchange) after(b batch) {
	x.poke(b.queued)
	for _, a := range b.anomalies {
		x.log.Warn("seal exchange: abnormal situation", "seal", a.Seal, "shipment", a.Shipment, "code", a.Code,
			"what", a.Description(), "detail", a.Detail, "reported_by", a.ReportedBy)
	}
	if b.alarms > 0 {
		select {
		case x.alarmWake <- struct{}{}:
		default:
		}
	}
}

// Alarm is what the exchange raises: an abnormal situation of a sealed
// shipment, or a sealed vehicle read at a crossing while its seal has one.
type Alarm struct {
	Anomaly  *Anomaly  `json:"anomaly,omitempty"`
	Crossing *Crossing `json:"crossing,omitempty"`
	Queued   time.Time `json:"queued"` // when it was found
}

// queueAlarm stores an alarm to raise, in the transaction that found it.
func (x *Exchange) queueAlarm(tx *bolt.Tx, a Alarm) error {
	al := tx.Bucket(bucketAlarms)
	seq, err := al.NextSequence()
	if err != nil {
		return err
	}
	a.Queued = x.opt.Now().UTC()
	return putJSON(al, u64(seq), a)
}

// alarmExpiry is how long an alarm that cannot be raised is tried.
const alarmExpiry = 7 * 24 * time.Hour

// raiseAlarms hands every alarm stored to Options.Alarm and forgets each
// once raised: an alarm is stored in the transaction that found it, so a
// crash before it is raised raises it after the restart. One that fails
// is tried again without holding back the others.
func (x *Exchange) raiseAlarms(ctx context.Context) {
	for {
		if x.opt.Alarm != nil {
			x.raisePending()
		}
		select {
		case <-ctx.Done():
			return
		case <-x.alarmWake:
		case <-time.After(5 * time.Second):
		}
	}
}

// raisePending tries every stored alarm once.
func (x *Exchange) raisePending() {
	type pending struct {
		k []byte
		a Alarm
	}
	var all []pending
	_ = x.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketAlarms).Cursor()
		for k, v := c.First(); k != nil && len(all) < 1000; k, v = c.Next() {
			var a Alarm
			if json.Unmarshal(v, &a) == nil {
				all = append(all, pending{append([]byte(nil), k...), a})
			}
		}
		return nil
	})
	for _, p := range all {
		if err := x.opt.Alarm(p.a); err != nil {
			if x.opt.Now().Sub(p.a.Queued) < alarmExpiry {
				x.log.Warn("seal exchange: raising an alarm failed; retrying", "err", err)
				continue
			}
			x.log.Error("seal exchange: an alarm could not be raised for a week; given up", "err", err)
		}
		if err := x.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketAlarms).Delete(p.k) }); err != nil {
			x.log.Error("seal exchange: forgetting a raised alarm failed", "err", err)
		}
	}
}

// watchPeriods raises 06 for shipments whose seal has sent nothing for
// two reporting periods.
func (x *Exchange) watchPeriods(ctx context.Context) {
	t := time.NewTicker(10 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := x.CheckPeriods(); err != nil {
				x.log.Error("seal exchange: checking reporting periods failed", "err", err)
			}
		}
	}
}

// CheckPeriods raises 06 for every watched shipment whose seal's last
// reading (or the start of tracking) is more than two reporting periods
// old, and closes it for one that reported since.
func (x *Exchange) CheckPeriods() error {
	now := x.opt.Now()
	var b batch
	err := x.db.Update(func(tx *bolt.Tx) error {
		b = batch{}
		c := tx.Bucket(bucketBindings).Cursor()
		var all []Binding
		for k, v := c.First(); k != nil; k, v = c.Next() {
			var bd Binding
			if json.Unmarshal(v, &bd) == nil && bd.Until == nil && bd.Tracking == "" && bd.PeriodMinutes > 0 {
				all = append(all, bd)
			}
		}
		for _, bd := range all {
			last := bd.Since
			var lastReading *seals.Reading
			if r, ok := lastReadingOf(tx, bd.Seal); ok && r.Time.After(last) {
				last, lastReading = r.Time.Time, &r
			}
			period := time.Duration(bd.PeriodMinutes) * time.Minute
			silent := now.Sub(last) > 2*period
			a := Anomaly{Seal: bd.Seal, Shipment: bd.Shipment, Code: "06", At: now.UTC(), Plates: bd.Plates,
				Detail: fmt.Sprintf("no data since %s (period %d min)", last.UTC().Format(time.RFC3339), bd.PeriodMinutes)}
			if err := x.toggle(tx, a, silent, lastReading, &b); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		x.after(b)
	}
	return err
}

func lastReadingOf(tx *bolt.Tx, seal string) (seals.Reading, bool) {
	var r seals.Reading
	k, v := lastUnder(tx.Bucket(bucketReadings).Cursor(), append([]byte(seal), 0))
	return r, k != nil && json.Unmarshal(v, &r) == nil
}
