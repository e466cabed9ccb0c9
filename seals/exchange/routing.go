package exchange

import (
	"encoding/json"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"

	"github.com/kuzet/kuzet/seals"
)

// The routing rules, in one place:
//   - EAEU-4: a message is never addressed to this operator (queue refuses it);
//   - EAEU-5: a partner acting in several roles gets a message once
//     (recipients are a set of operator IDs, not of roles);
//   - EAEU-6: an answer goes to the requester, naming its query (apply);
//   - an ownership lookup goes to the seal's operator when it is known,
//     and to every national operator when it is not.

// concerned lists the partners that should know of a shipment's
// abnormal situation: the seal's registering operator, the operator
// tracking it, and the transit operators of the states its route crosses.
func (x *Exchange) concerned(tx *bolt.Tx, bd *Binding) []string {
	ids := []string{bd.Operator, bd.Tracking}
	if v := tx.Bucket(bucketOwners).Get([]byte(bd.Seal)); v != nil {
		var o Owner
		if json.Unmarshal(v, &o) == nil {
			ids = append(ids, o.Operator)
		}
	}
	for _, p := range x.order {
		if p.Has("transit") && slices.Contains(bd.Countries, p.Country) {
			ids = append(ids, p.ID)
		}
	}
	return x.recipients(ids)
}

// recipients is ids as a set of partners, in the order given: this
// operator and operators that are no partner are left out.
func (x *Exchange) recipients(ids []string) []string {
	var out []string
	for _, id := range ids {
		if id == "" || id == x.opt.Operator || x.partners[id] == nil || slices.Contains(out, id) {
			continue
		}
		out = append(out, id)
	}
	return out
}

// Send queues a message this operator makes. With To set it goes there
// (never to this operator, EAEU-4); without, the routing rules choose: an
// ownership query goes to the seal's known operator or, unknown, to every
// national operator; any other message about a seal or shipment goes to
// the partners concerned with it. Each recipient gets its own message ID.
func (x *Exchange) Send(m seals.Message) ([]Record, error) {
	var out []Record
	var b batch
	err := x.db.Update(func(tx *bolt.Tx) error {
		out, b = nil, batch{}
		to := []string{m.To}
		if m.To == "" {
			to = x.route(tx, &m)
			if len(to) == 0 {
				return &seals.FieldError{Field: "to", Msg: "no partner to send it to: give to, or declare the shipment's operators"}
			}
		}
		for _, id := range to {
			c := m
			c.To = id
			if len(to) > 1 {
				c.ID = "" // exactly-once is per message: each recipient's has its own ID
			}
			r, err := x.queue(tx, &c)
			if err != nil {
				return err
			}
			out = append(out, *r)
			b.queued = append(b.queued, r)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	x.after(b)
	return out, nil
}

// route chooses the recipients of a message given without To.
func (x *Exchange) route(tx *bolt.Tx, m *seals.Message) []string {
	seal := sealOf(m)
	if m.Kind == seals.KindOwnershipQuery {
		if v := tx.Bucket(bucketOwners).Get([]byte(seal)); v != nil {
			var o Owner
			if json.Unmarshal(v, &o) == nil && x.partners[o.Operator] != nil {
				return []string{o.Operator}
			}
		}
		var ids []string
		for _, p := range x.order {
			if p.Has("national") {
				ids = append(ids, p.ID)
			}
		}
		return x.recipients(ids)
	}
	var ids []string
	for _, bd := range bindingsOf(tx, seal) {
		if bd.Until == nil {
			ids = append(ids, x.concerned(tx, &bd)...)
		}
	}
	return x.recipients(ids)
}

// Register records a seal as registered with this operator (usable or
// not for tracking), which ownership lookups are answered from.
func (x *Exchange) Register(seal string, usable bool) error {
	if err := seals.CheckSeal("seal", seal); err != nil {
		return err
	}
	return x.db.Update(func(tx *bolt.Tx) error {
		return putJSON(tx.Bucket(bucketRegistry), []byte(seal), Registration{Seal: seal, Usable: usable, At: x.opt.Now().UTC()})
	})
}

// Declare binds a seal to a shipment this operator tracks: the vehicle's
// plates, its declared route and reporting period. Anomalies are derived
// from the seal's data from now on.
func (x *Exchange) Declare(bd Binding) error {
	if err := checkBinding(&bd); err != nil {
		return err
	}
	if bd.Since.IsZero() {
		bd.Since = x.opt.Now().UTC()
	}
	return x.db.Update(func(tx *bolt.Tx) error {
		old, ok := getBinding(tx, bd.Seal, bd.Shipment)
		if ok && old.Tracking != "" && bd.Tracking == "" {
			bd.Tracking = old.Tracking
		}
		if err := indexPlates(tx, old, &bd); err != nil {
			return err
		}
		if bd.Until != nil {
			if err := closeAll(tx, bd.Seal, bd.Shipment); err != nil {
				return err
			}
		}
		return putJSON(tx.Bucket(bucketBindings), key([]byte(bd.Seal), []byte(bd.Shipment)), bd)
	})
}

func checkBinding(bd *Binding) error {
	if err := seals.CheckSeal("seal", bd.Seal); err != nil {
		return err
	}
	if err := seals.CheckShipment("shipment", bd.Shipment); err != nil {
		return err
	}
	for i, op := range []string{bd.Operator, bd.Tracking} {
		if op != "" {
			if err := seals.CheckOperator([]string{"operator", "tracking"}[i], op); err != nil {
				return err
			}
		}
	}
	if bd.PeriodMinutes != 0 && (bd.PeriodMinutes < seals.MinPeriod || bd.PeriodMinutes > seals.MaxPeriod) {
		return &seals.FieldError{Field: "period_minutes", Msg: fmt.Sprintf("%d is outside %d..%d", bd.PeriodMinutes, seals.MinPeriod, seals.MaxPeriod)}
	}
	if bd.LimitKM < 0 {
		return &seals.FieldError{Field: "limit_km", Msg: "must not be negative"}
	}
	for i, p := range bd.Route {
		if p[0] < -180 || p[0] > 180 || p[1] < -90 || p[1] > 90 {
			return &seals.FieldError{Field: fmt.Sprintf("route[%d]", i), Msg: fmt.Sprintf("%v is not [longitude, latitude] in degrees", p)}
		}
	}
	return nil
}
