package exchange

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"

	bolt "go.etcd.io/bbolt"

	"github.com/kuzet/kuzet/internal/httpjson"
	"github.com/kuzet/kuzet/seals"
)

// Answer is what a partner's delivery hears: accepted (stored, and its
// answers queued), duplicate (taken before: a retry), or an error naming
// what was wrong.
type Answer struct {
	Status string `json:"status,omitempty"` // accepted | duplicate
	ID     string `json:"id,omitempty"`
	Error  string `json:"error,omitempty"`
}

// receive takes one message from a partner. The partner is its
// certificate; the message must come from it, be addressed here and say
// only what that partner may say of its seal (checkSpeaker). It
// is stored, applied and its answers queued in one transaction before
// the partner hears "accepted"; the same ID again is a duplicate, taken
// once.
func (x *Exchange) receive(w http.ResponseWriter, r *http.Request) {
	if r.TLS == nil {
		httpjson.Write(w, http.StatusForbidden, Answer{Error: "mutual TLS required"})
		return
	}
	raw := make([][]byte, 0, len(r.TLS.PeerCertificates))
	for _, c := range r.TLS.PeerCertificates {
		raw = append(raw, c.Raw)
	}
	p, err := x.identify(raw, x509.ExtKeyUsageClientAuth)
	if err != nil {
		x.refuse(w, http.StatusForbidden, "", nil, err)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, seals.MaxMessageBytes+1))
	if err != nil {
		x.refuse(w, http.StatusBadRequest, p.ID, nil, fmt.Errorf("message: %v", err))
		return
	}
	if len(body) > seals.MaxMessageBytes {
		x.refuse(w, http.StatusRequestEntityTooLarge, p.ID, nil, fmt.Errorf("message: over %d bytes", seals.MaxMessageBytes))
		return
	}
	m, err := seals.Parse(body)
	if err != nil {
		x.refuse(w, http.StatusBadRequest, p.ID, nil, err)
		return
	}
	switch {
	case m.From != p.ID:
		x.refuse(w, http.StatusForbidden, p.ID, m, &seals.FieldError{Field: "from",
			Msg: fmt.Sprintf("%s, but the certificate is %s's: a partner speaks only for itself", m.From, p.ID)})
		return
	case m.To != x.opt.Operator:
		x.refuse(w, http.StatusBadRequest, p.ID, m, &seals.FieldError{Field: "to",
			Msg: fmt.Sprintf("%s, but this operator is %s", m.To, x.opt.Operator)})
		return
	}
	var b batch
	dup := false
	err = x.db.Update(func(tx *bolt.Tx) error {
		b, dup = batch{}, false
		seenKey := key([]byte(m.From), []byte(m.ID))
		sum := digest(m)
		if v := tx.Bucket(bucketSeen).Get(seenKey); v != nil {
			if !bytes.Equal(v[8:], sum) {
				return &seals.FieldError{Field: "id", Msg: fmt.Sprintf("%s was taken before with other content: a message ID is used once", m.ID)}
			}
			dup = true
			return nil
		}
		if err := x.checkSpeaker(tx, m); err != nil {
			return err
		}
		rec := &Record{Dir: "in", Peer: p.ID, At: x.opt.Now().UTC(), Status: StatusAccepted, Message: m}
		if err := appendLog(tx, rec); err != nil {
			return err
		}
		if err := tx.Bucket(bucketSeen).Put(seenKey, append(u64(rec.Seq), sum...)); err != nil {
			return err
		}
		return x.apply(tx, m, &b)
	})
	var fe *seals.FieldError
	switch {
	case errors.As(err, &fe):
		x.refuse(w, http.StatusConflict, p.ID, m, err)
		return
	case err != nil:
		x.log.Error("seal exchange: storing a message failed", "from", p.ID, "id", m.ID, "err", err)
		httpjson.Write(w, http.StatusInternalServerError, Answer{Error: "not stored: " + err.Error()})
		return
	}
	if dup {
		x.log.Info("seal exchange: duplicate taken once", "from", p.ID, "id", m.ID)
		httpjson.Write(w, http.StatusOK, Answer{Status: "duplicate", ID: m.ID})
		return
	}
	x.after(b)
	x.log.Info("seal exchange: message taken", "from", p.ID, "id", m.ID, "kind", m.Kind, "queued", len(b.queued))
	httpjson.Write(w, http.StatusOK, Answer{Status: StatusAccepted, ID: m.ID})
}

// refuse answers a refusal and logs it; nothing of the message is kept.
func (x *Exchange) refuse(w http.ResponseWriter, code int, peer string, m *seals.Message, err error) {
	x.refusals.Add(1)
	id := ""
	if m != nil {
		id = m.ID
	}
	x.log.Warn("seal exchange: message refused", "partner", peer, "id", id, "reason", err.Error())
	httpjson.Write(w, code, Answer{ID: id, Error: err.Error()})
}
