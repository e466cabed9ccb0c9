package exchange

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/kuzet/kuzet/internal/httpjson"
	"github.com/kuzet/kuzet/seals"
)

// Handlers are the exchange's part of the node's API (/api/v1/seals/...);
// the api package routes them with their roles.
type Handlers struct {
	Partners  http.Handler // GET: partners and their outboxes
	Messages  http.Handler // GET: the log, newest first
	Send      http.Handler // POST: a message this operator sends (routed when to is empty)
	Declare   http.Handler // POST: a seal bound to a shipment, plates and route
	Register  http.Handler // POST: a seal registered with this operator
	Readings  http.Handler // POST: the technological data of this operator's seals
	Seal      http.Handler // GET {seal}: what the operator knows of a seal
	Anomalies http.Handler // GET: the open abnormal situations
	Vehicle   http.Handler // GET {plate}: a vehicle's sealed shipments, their state and track
}

// Handlers serves the API.
func (x *Exchange) Handlers() Handlers {
	return Handlers{
		Partners:  http.HandlerFunc(x.servePartners),
		Messages:  http.HandlerFunc(x.serveMessages),
		Send:      http.HandlerFunc(x.serveSend),
		Declare:   http.HandlerFunc(x.serveDeclare),
		Register:  http.HandlerFunc(x.serveRegister),
		Readings:  http.HandlerFunc(x.serveReadings),
		Seal:      http.HandlerFunc(x.serveSeal),
		Anomalies: http.HandlerFunc(x.serveAnomalies),
		Vehicle:   http.HandlerFunc(x.serveVehicle),
	}
}

func (x *Exchange) servePartners(w http.ResponseWriter, r *http.Request) {
	ps, err := x.Partners()
	if err != nil {
		httpjson.Error(w, http.StatusInternalServerError, err.Error())
		return
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"operator": x.opt.Operator, "partners": ps})
}

func (x *Exchange) serveMessages(w http.ResponseWriter, r *http.Request) {
	limit, ok := httpjson.Limit(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	f := Filter{Seal: q.Get("seal"), InReplyTo: q.Get("in_reply_to"), ID: q.Get("id"), Peer: q.Get("peer"), Kind: seals.Kind(q.Get("kind")), Limit: limit}
	rs, err := x.Messages(f)
	if err != nil {
		httpjson.Error(w, http.StatusInternalServerError, err.Error())
		return
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"messages": rs})
}

// decode reads a request's JSON body strictly, answering 400 itself.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(io.LimitReader(r.Body, seals.MaxMessageBytes+1))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		httpjson.Error(w, http.StatusBadRequest, "body: "+err.Error())
		return false
	}
	return true
}

// refused answers a field's refusal 400 and anything else 500.
func refused(w http.ResponseWriter, err error) {
	var fe *seals.FieldError
	if errors.As(err, &fe) {
		httpjson.Error(w, http.StatusBadRequest, err.Error())
		return
	}
	httpjson.Error(w, http.StatusInternalServerError, err.Error())
}

// serveSend queues a message: the envelope's version, from and time are
// this operator's; id may be given (a retry of the same request is then
// refused, never sent twice) or is assigned; to empty routes it.
func (x *Exchange) serveSend(w http.ResponseWriter, r *http.Request) {
	var m seals.Message
	if !decode(w, r, &m) {
		return
	}
	if m.From != "" && m.From != x.opt.Operator {
		httpjson.Error(w, http.StatusBadRequest, fmt.Sprintf("from: %s, but this operator is %s", m.From, x.opt.Operator))
		return
	}
	rs, err := x.Send(m)
	if err != nil {
		refused(w, err)
		return
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"queued": rs})
}

func (x *Exchange) serveDeclare(w http.ResponseWriter, r *http.Request) {
	var bd Binding
	if !decode(w, r, &bd) {
		return
	}
	if err := x.Declare(bd); err != nil {
		refused(w, err)
		return
	}
	httpjson.Write(w, http.StatusOK, map[string]string{"status": "declared"})
}

func (x *Exchange) serveRegister(w http.ResponseWriter, r *http.Request) {
	var reg Registration
	if !decode(w, r, &reg) {
		return
	}
	if err := x.Register(reg.Seal, reg.Usable); err != nil {
		refused(w, err)
		return
	}
	httpjson.Write(w, http.StatusOK, map[string]string{"status": "registered"})
}

// serveReadings takes the technological data of this operator's own
// seals (the tech_data composition's body) and derives anomalies.
func (x *Exchange) serveReadings(w http.ResponseWriter, r *http.Request) {
	var td seals.TechData
	if !decode(w, r, &td) {
		return
	}
	if err := td.Check(); err != nil {
		refused(w, err)
		return
	}
	anomalies, err := x.Take(td.Seal, td.Readings)
	if err != nil {
		refused(w, err)
		return
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"taken": len(td.Readings), "anomalies": anomalies})
}

// Take stores readings of a seal and derives its anomalies, returning
// those it opened.
func (x *Exchange) Take(seal string, rs []seals.Reading) ([]Anomaly, error) {
	var b batch
	err := x.db.Update(func(tx *bolt.Tx) error {
		b = batch{}
		return x.takeReadings(tx, seal, rs, &b)
	})
	if err != nil {
		return nil, err
	}
	x.after(b)
	if b.anomalies == nil {
		b.anomalies = []Anomaly{}
	}
	return b.anomalies, nil
}

// SealView is what the operator knows of a seal.
type SealView struct {
	Seal         string          `json:"seal"`
	Owner        *Owner          `json:"owner,omitempty"`
	Registration *Registration   `json:"registration,omitempty"`
	Shipments    []Binding       `json:"shipments"`
	Readings     []seals.Reading `json:"readings"`  // within the window asked, oldest first
	Anomalies    []Anomaly       `json:"anomalies"` // open
	Crossings    []Crossing      `json:"crossings"` // plate reads of its vehicles, newest first (the last 100)
}

// Seal reads a seal's view, its readings within [from, to).
func (x *Exchange) Seal(seal string, from, to time.Time, limit int) (*SealView, error) {
	if err := seals.CheckSeal("seal", seal); err != nil {
		return nil, err
	}
	v := &SealView{Seal: seal, Shipments: []Binding{}, Readings: []seals.Reading{}}
	err := x.db.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bucketOwners).Get([]byte(seal)); b != nil {
			v.Owner = &Owner{}
			_ = json.Unmarshal(b, v.Owner)
		}
		if b := tx.Bucket(bucketRegistry).Get([]byte(seal)); b != nil {
			v.Registration = &Registration{}
			_ = json.Unmarshal(b, v.Registration)
		}
		v.Shipments = append(v.Shipments, bindingsOf(tx, seal)...)
		if from.IsZero() {
			from = time.Unix(0, 0) // a zero time has no Unix nanoseconds
		}
		if to.IsZero() {
			to = time.Unix(0, 1<<62)
		}
		q := &seals.SealQuery{Seal: seal, From: seals.At(from), To: seals.At(to)}
		for _, m := range readingsOf(tx, q) {
			if m.TechData != nil {
				v.Readings = append(v.Readings, m.TechData.Readings...)
			}
		}
		v.Crossings = append([]Crossing{}, crossingsOf(tx, seal, 100)...)
		if len(v.Readings) > limit {
			v.Readings = v.Readings[len(v.Readings)-limit:]
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	x.visits(v.Crossings)
	v.Anomalies, err = x.OpenAnomalies(seal)
	return v, err
}

func (x *Exchange) serveSeal(w http.ResponseWriter, r *http.Request) {
	from, to, ok := httpjson.Range(w, r, time.Time{})
	if !ok {
		return
	}
	v, err := x.Seal(r.PathValue("seal"), from, to, 10000)
	if err != nil {
		refused(w, err)
		return
	}
	httpjson.Write(w, http.StatusOK, v)
}

func (x *Exchange) serveAnomalies(w http.ResponseWriter, r *http.Request) {
	as, err := x.OpenAnomalies(r.URL.Query().Get("seal"))
	if err != nil {
		httpjson.Error(w, http.StatusInternalServerError, err.Error())
		return
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"anomalies": as})
}

func (x *Exchange) serveVehicle(w http.ResponseWriter, r *http.Request) {
	plate := r.PathValue("plate")
	if PlateKey(plate) == "" {
		httpjson.Error(w, http.StatusBadRequest, fmt.Sprintf("plate: %q has no letters or digits", plate))
		return
	}
	vs, err := x.Vehicle(plate)
	if err != nil {
		httpjson.Error(w, http.StatusInternalServerError, err.Error())
		return
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"plate": PlateKey(plate), "shipments": vs})
}
