package exchange

import (
	"encoding/binary"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/kuzet/kuzet/seals"
)

// A partner's message is checked against what that partner may say
// about a seal before anything of it is kept: the seal's registering
// operator is who this operator knows it to be, the tracking of a
// shipment is reported by the operator tracking it, technological data
// comes from the seal's operator, its tracker, or answers a query this
// operator sent, and an ownership answer answers a query sent to that
// partner about that seal. What this operator does not know yet it
// cannot contradict: the first word about an unknown seal is taken.

// checkSpeaker refuses m when its sender may not say it.
func (x *Exchange) checkSpeaker(tx *bolt.Tx, m *seals.Message) error {
	switch m.Kind {
	case seals.KindOwnershipAnswer:
		a := m.OwnershipAnswer
		q, ok := x.asked(tx, m.InReplyTo, m.From)
		if !ok || q.Kind != seals.KindOwnershipQuery || q.OwnershipQuery.Seal != a.Seal {
			return &seals.FieldError{Field: "in_reply_to", Msg: fmt.Sprintf(
				"%q is no ownership query of seal %s that %s sent to %s: an ownership answer answers a question", m.InReplyTo, a.Seal, x.opt.Operator, m.From)}
		}
	case seals.KindTracking:
		t := m.Tracking
		if owner, how := x.ownerOf(tx, t.Seal.Seal); owner != "" && owner != t.Seal.Operator {
			return &seals.FieldError{Field: "tracking.seal.operator", Msg: fmt.Sprintf(
				"%s, but seal %s is registered with %s (%s)", t.Seal.Operator, t.Seal.Seal, owner, how)}
		}
		// a new tracker starts (01) and anyone who sees it reports an
		// abnormal situation (04, 07); the rest is the tracker's to say
		if bd, ok := getBinding(tx, t.Seal.Seal, t.Shipment); ok && bd.Until == nil && t.Code != "01" && t.Code != "04" && t.Code != "07" {
			tracker := bd.Tracking
			if tracker == "" {
				tracker = x.opt.Operator
			}
			if tracker != m.From {
				return &seals.FieldError{Field: "from", Msg: fmt.Sprintf(
					"%s, but shipment %s of seal %s is tracked by %s: a partner reports only what it tracks", m.From, t.Shipment, t.Seal.Seal, tracker)}
			}
		}
	case seals.KindTechData:
		s := m.TechData.Seal
		if q, ok := x.asked(tx, m.InReplyTo, m.From); ok && q.Kind == seals.KindSealQuery && q.SealQuery.Seal == s {
			return nil // the data this operator asked for
		}
		owner, how := x.ownerOf(tx, s)
		trackers := map[string]bool{}
		for _, bd := range bindingsOf(tx, s) {
			if bd.Until == nil {
				trackers[bd.Tracking] = true // "": this operator
			}
		}
		if (owner == "" && len(trackers) == 0) || owner == m.From || trackers[m.From] {
			return nil
		}
		if owner == "" {
			owner, how = "no one it knows", "it is tracked here"
		}
		return &seals.FieldError{Field: "tech_data.seal", Msg: fmt.Sprintf(
			"%s is registered with %s (%s) and %s does not track it: a partner sends the data of its own seals", s, owner, how, m.From)}
	}
	return nil
}

// ownerOf is a seal's registering operator as this operator knows it:
// itself for a seal in its registry, a partner whose ownership answer
// said so; "" when not known.
func (x *Exchange) ownerOf(tx *bolt.Tx, seal string) (owner, how string) {
	if ownership(tx, seal) != "01" {
		return x.opt.Operator, "registered here"
	}
	var o Owner
	if v := tx.Bucket(bucketOwners).Get([]byte(seal)); v != nil && json.Unmarshal(v, &o) == nil && o.Result == "00" {
		return o.Operator, "its ownership answer"
	}
	return "", ""
}

// asked returns this operator's message id if it was sent to partner.
func (x *Exchange) asked(tx *bolt.Tx, id, partner string) (*seals.Message, bool) {
	if id == "" {
		return nil, false
	}
	v := tx.Bucket(bucketSent).Get([]byte(id))
	if len(v) != 8 {
		return nil, false
	}
	r, err := getRecord(tx, binary.BigEndian.Uint64(v))
	if err != nil || r.Message == nil || r.Message.To != partner {
		return nil, false
	}
	return r.Message, true
}
