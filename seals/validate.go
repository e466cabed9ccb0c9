package seals

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Limits of the model.
const (
	MaxMessageBytes = 1 << 20 // a message's JSON
	MaxReadings     = 10000   // readings in one tech_data message (a T1 answer is sent in parts)
	MaxRecords      = 10000   // tracking records in one shipment_report
	MaxShipments    = 1000    // shipment numbers in one seal_shipments
	MaxText         = 512     // a free-text field (authority, reason, place, a person)
	MaxData         = 64 << 10
	MinPeriod       = 1   // reporting period, minutes
	MaxPeriod       = 120 // reporting period, minutes
	MaxSpeed        = 300 // km/h: faster is no road vehicle
)

// Formats of identifiers.
var (
	// An operator ID is its country (EAEU member, ISO 3166 alpha-2), a dot
	// and its name: KZ.KTZE, RU.GLONASS-TM.
	operatorRE = regexp.MustCompile(`^([A-Z]{2})\.[A-Z0-9][A-Z0-9_-]{0,31}$`)
	// A seal ID: 6–32 capital letters, digits and hyphens.
	sealRE = regexp.MustCompile(`^[A-Z0-9][A-Z0-9-]{5,31}$`)
	// A shipment number: 1–64 capital letters, digits, slashes and hyphens.
	shipmentRE = regexp.MustCompile(`^[A-Z0-9][A-Z0-9/-]{0,63}$`)
	// A message ID: 8–128 letters, digits and . _ : -.
	messageIDRE = regexp.MustCompile(`^[A-Za-z0-9._:-]{8,128}$`)
)

// FieldError is a refusal naming the field at fault by its JSON path.
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

func bad(field, format string, args ...any) error {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// checker collects the first error of a message's validation.
type checker struct{ err error }

func (c *checker) fail(field, format string, args ...any) {
	if c.err == nil {
		c.err = bad(field, format, args...)
	}
}

func (c *checker) match(field, v string, re *regexp.Regexp, what string) {
	switch {
	case v == "":
		c.fail(field, "required")
	case !re.MatchString(v):
		c.fail(field, "%q is not %s", clip(v), what)
	}
}

func (c *checker) operator(field, v string) {
	c.match(field, v, operatorRE, "an operator ID (a member country, a dot and a name: KZ.KTZE)")
	if m := operatorRE.FindStringSubmatch(v); m != nil && !Countries[m[1]] {
		c.fail(field, "%q: %s is not a member state of the exchange (AM, BY, KG, KZ, RU)", v, m[1])
	}
}

func (c *checker) seal(field, v string) {
	c.match(field, v, sealRE, "a seal ID (6–32 capital letters, digits and hyphens)")
}

func (c *checker) shipment(field, v string) {
	c.match(field, v, shipmentRE, "a shipment number (1–64 capital letters, digits, / and -)")
}

func (c *checker) code(field, v string, table map[string]string, what string) {
	if v == "" {
		c.fail(field, "required")
		return
	}
	if _, ok := table[v]; !ok {
		keys := make([]string, 0, len(table))
		for k := range table {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		c.fail(field, "%q is not %s (%s)", clip(v), what, strings.Join(keys, ", "))
	}
}

func (c *checker) text(field, v string, required bool) {
	switch {
	case v == "" && required:
		c.fail(field, "required")
	case len(v) > MaxText:
		c.fail(field, "%d bytes, at most %d", len(v), MaxText)
	}
}

func (c *checker) time(field string, t Time) {
	if t.IsZero() {
		c.fail(field, "required")
	}
}

func (c *checker) absent(field string, set bool, when string) {
	if set {
		c.fail(field, "only %s", when)
	}
}

func (c *checker) coords(field string, lon, lat float64) {
	switch {
	case math.IsNaN(lon) || lon < -180 || lon > 180:
		c.fail(field+".longitude", "%v is out of range -180..180", lon)
	case math.IsNaN(lat) || lat < -90 || lat > 90:
		c.fail(field+".latitude", "%v is out of range -90..90", lat)
	}
}

func (c *checker) reading(field string, r Reading) {
	if r.Battery < 0 || r.Battery > 100 {
		c.fail(field+".battery", "%d is out of range 0..100 %%", r.Battery)
	}
	c.coords(field, r.Longitude, r.Latitude)
	if math.IsNaN(r.Speed) || r.Speed < 0 || r.Speed > MaxSpeed {
		c.fail(field+".speed", "%v is out of range 0..%d km/h", r.Speed, MaxSpeed)
	}
	c.time(field+".time", r.Time)
}

// items checks the length n of a list that must hold 1..limit of what.
func (c *checker) items(field string, n, limit int, what string) {
	switch {
	case n == 0:
		c.fail(field, "required: at least one %s", what)
	case n > limit:
		c.fail(field, "%d %ss, at most %d in one message", n, what, limit)
	}
}

func (c *checker) period(field string, minutes int) {
	if minutes < MinPeriod || minutes > MaxPeriod {
		c.fail(field, "%d minutes is out of range %d..%d", minutes, MinPeriod, MaxPeriod)
	}
}

func (c *checker) sealInfo(field string, s SealInfo) {
	c.seal(field+".seal", s.Seal)
	c.operator(field+".operator", s.Operator)
	if s.Reading != nil {
		c.reading(field+".reading", *s.Reading)
	}
	if s.Event != "" {
		c.code(field+".event", s.Event, EventCodes, "an event code")
	}
}

// clip shortens a refused value for the message naming it.
func clip(v string) string {
	if len(v) > 40 {
		return v[:40] + "…"
	}
	return v
}

// Validate reports the first thing the model does not allow in m, naming
// its field.
func (m *Message) Validate() error {
	c := &checker{}
	if m.Version != Version {
		c.fail("version", "%d is not supported (this node speaks version %d)", m.Version, Version)
	}
	c.match("id", m.ID, messageIDRE, "a message ID (8–128 letters, digits and . _ : -)")
	c.operator("from", m.From)
	c.operator("to", m.To)
	if c.err == nil && m.From == m.To {
		c.fail("to", "%s is the sender itself", m.To)
	}
	c.time("time", m.Time)
	if m.InReplyTo != "" {
		c.match("in_reply_to", m.InReplyTo, messageIDRE, "a message ID")
	}
	bodies := m.bodies()
	if _, ok := bodies[m.Kind]; !ok {
		c.fail("kind", "%q is not a kind of message (%s)", clip(string(m.Kind)), kindList())
		return c.err
	}
	for _, k := range Kinds {
		if set := bodies[k]; set && k != m.Kind {
			c.fail(string(k), "a %s message carries no %s", m.Kind, k)
		} else if !set && k == m.Kind {
			c.fail(string(k), "required in a %s message", m.Kind)
		}
	}
	if c.err != nil {
		return c.err
	}
	m.validateBody(c)
	return c.err
}

func kindList() string {
	s := make([]string, len(Kinds))
	for i, k := range Kinds {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}

// bodies says which body fields are set, by kind.
func (m *Message) bodies() map[Kind]bool {
	return map[Kind]bool{
		KindOwnershipQuery: m.OwnershipQuery != nil, KindOwnershipAnswer: m.OwnershipAnswer != nil,
		KindActionRequest: m.ActionRequest != nil, KindAction: m.Action != nil,
		KindWriteRequest: m.WriteRequest != nil, KindWriteResult: m.WriteResult != nil,
		KindTracking: m.Tracking != nil, KindTechData: m.TechData != nil,
		KindSealQuery: m.SealQuery != nil, KindSealShipments: m.SealShipments != nil,
		KindShipmentQuery: m.ShipmentQuery != nil, KindShipmentReport: m.ShipmentReport != nil,
	}
}

func (m *Message) validateBody(c *checker) {
	switch m.Kind {
	case KindOwnershipQuery:
		c.seal("ownership_query.seal", m.OwnershipQuery.Seal)
	case KindOwnershipAnswer:
		b := m.OwnershipAnswer
		c.seal("ownership_answer.seal", b.Seal)
		c.code("ownership_answer.result", b.Result, OwnershipResults, "an ownership result")
	case KindActionRequest:
		validateActionRequest(c, m.ActionRequest)
	case KindAction:
		validateAction(c, m.Action)
	case KindWriteRequest:
		b := m.WriteRequest
		c.seal("write_request.seal", b.Seal)
		c.shipment("write_request.shipment", b.Shipment)
		if b.Data == "" {
			c.fail("write_request.data", "required")
		} else if len(b.Data) > MaxData {
			c.fail("write_request.data", "%d bytes, at most %d", len(b.Data), MaxData)
		}
	case KindWriteResult:
		c.seal("write_result.seal", m.WriteResult.Seal)
		c.code("write_result.result", m.WriteResult.Result, WriteResults, "a write result")
	case KindTracking:
		validateTracking(c, m.Tracking)
	case KindTechData:
		validateTechData(c, "tech_data.", m.TechData)
	case KindSealQuery:
		b := m.SealQuery
		c.seal("seal_query.seal", b.Seal)
		c.code("seal_query.type", b.Type, QueryTypes, "a query type")
		c.time("seal_query.from", b.From)
		c.time("seal_query.to", b.To)
		if c.err == nil && !b.To.After(b.From.Time) {
			c.fail("seal_query.to", "%s is not after from (%s)", b.To.Format(time.RFC3339), b.From.Format(time.RFC3339))
		}
	case KindSealShipments:
		b := m.SealShipments
		c.seal("seal_shipments.seal", b.Seal)
		c.code("seal_shipments.result", b.Result, FoundResults, "a query result")
		if b.Result == "02" {
			c.items("seal_shipments.shipments", len(b.Shipments), MaxShipments, "shipment")
		} else {
			c.absent("seal_shipments.shipments", len(b.Shipments) > 0, "with result 02 (found)")
		}
		for i, s := range b.Shipments {
			c.shipment(fmt.Sprintf("seal_shipments.shipments[%d]", i), s)
		}
	case KindShipmentQuery:
		c.shipment("shipment_query.shipment", m.ShipmentQuery.Shipment)
	case KindShipmentReport:
		validateShipmentReport(c, m.ShipmentReport)
	}
}

func validateActionRequest(c *checker, b *ActionRequest) {
	const f = "action_request."
	c.seal(f+"seal", b.Seal)
	c.operator(f+"operator", b.Operator)
	c.code(f+"event", b.Event, EventCodes, "an event code")
	if b.Event == "B01" {
		c.fail(f+"event", "B01 is reported, not requested")
	}
	switch b.Event {
	case "A03", "A04", "A08":
		c.shipment(f+"shipment", b.Shipment)
	default:
		c.absent(f+"shipment", b.Shipment != "", "with A03, A04 and A08")
	}
	c.text(f+"authority", b.Authority, false)
	if b.Event == "A07" {
		c.period(f+"period_minutes", b.PeriodMinutes)
	} else {
		c.absent(f+"period_minutes", b.PeriodMinutes != 0, "with A07")
	}
	c.text(f+"reason", b.Reason, b.Event == "A04")
	if b.Event != "A04" {
		c.absent(f+"reason", b.Reason != "", "with A04")
	}
}

func validateAction(c *checker, b *Action) {
	const f = "action."
	c.seal(f+"seal", b.Seal)
	c.shipment(f+"shipment", b.Shipment)
	c.operator(f+"operator", b.Operator)
	c.code(f+"event", b.Event, EventCodes, "an event code")
	c.code(f+"result", b.Result, ActionResults, "an action result")
	switch b.Event {
	case "A03", "A04", "A05", "A07", "B01":
		if b.Reading == nil {
			c.fail(f+"reading", "required with %s", b.Event)
		} else {
			c.reading(f+"reading", *b.Reading)
		}
	default:
		c.absent(f+"reading", b.Reading != nil, "with A03, A04, A05, A07 and B01")
	}
	if b.Event == "A05" {
		c.code(f+"remote", b.Remote, RemoteCodes, "a remote operation code")
	} else {
		c.absent(f+"remote", b.Remote != "", "with A05")
	}
	switch b.Event {
	case "A02", "A05", "A06", "A08":
		c.text(f+"authority", b.Authority, false)
	default:
		c.absent(f+"authority", b.Authority != "", "with A02, A05, A06 and A08")
	}
	if b.Event == "A07" {
		c.period(f+"period_minutes", b.PeriodMinutes)
	} else {
		c.absent(f+"period_minutes", b.PeriodMinutes != 0, "with A07")
	}
	if b.Event == "B01" {
		c.code(f+"anomaly", b.Anomaly, AnomalyCodes, "an abnormal-situation code")
	} else {
		c.absent(f+"anomaly", b.Anomaly != "", "with B01")
	}
	if b.Event != "A08" {
		c.absent(f+"replacement", b.Replacement != nil, "with A08")
		return
	}
	r := b.Replacement
	if r == nil {
		c.fail(f+"replacement", "required with A08")
		return
	}
	c.seal(f+"replacement.seal", r.Seal)
	if c.err == nil && r.Seal == b.Seal {
		c.fail(f+"replacement.seal", "%s is the replaced seal itself", r.Seal)
	}
	c.operator(f+"replacement.operator", r.Operator)
	c.text(f+"replacement.reason", r.Reason, true)
	c.text(f+"replacement.place", r.Place, true)
	c.time(f+"replacement.time", r.Time)
	if len(r.Persons) == 0 {
		c.fail(f+"replacement.persons", "required: who replaced the seal")
	}
	for i, p := range r.Persons {
		c.text(fmt.Sprintf("%sreplacement.persons[%d]", f, i), p, true)
	}
}

func validateTracking(c *checker, b *Tracking) {
	const f = "tracking."
	c.shipment(f+"shipment", b.Shipment)
	c.code(f+"code", b.Code, TrackingCodes, "a tracking code")
	c.sealInfo(f+"seal", b.Seal)
	c.trackingCase(f, b.Code, b.Anomaly, b.NewSeal, "04", "07")
}

// trackingCase checks the fields a tracking code brings: an anomaly with
// the codes listed (04, and in a report 07), the new seal with 06. p is
// the fields' path prefix.
func (c *checker) trackingCase(p, code, anomaly, newSeal string, anomalyWith ...string) {
	if slices.Contains(anomalyWith, code) {
		c.code(p+"anomaly", anomaly, AnomalyCodes, "an abnormal-situation code")
	} else {
		c.absent(p+"anomaly", anomaly != "", "with tracking codes "+strings.Join(anomalyWith, " and "))
	}
	if code == "06" {
		c.seal(p+"new_seal", newSeal)
	} else {
		c.absent(p+"new_seal", newSeal != "", "with tracking code 06")
	}
}

func validateShipmentReport(c *checker, b *ShipmentReport) {
	const f = "shipment_report."
	c.shipment(f+"shipment", b.Shipment)
	c.code(f+"result", b.Result, FoundResults, "a query result")
	if b.Result == "01" {
		c.absent(f+"records", len(b.Records) > 0, "with result 02 (found)")
		c.absent(f+"seal", b.Seal != nil, "with result 02 (found)")
		return
	}
	c.items(f+"records", len(b.Records), MaxRecords, "record")
	for i, r := range b.Records {
		p := fmt.Sprintf("%srecords[%d]", f, i)
		c.code(p+".code", r.Code, TrackingCodes, "a tracking code")
		if r.Code == "07" {
			c.fail(p+".code", "07 is not a record of a shipment's tracking (01–06)")
		}
		c.coords(p, r.Longitude, r.Latitude)
		c.time(p+".time", r.Time)
		c.trackingCase(p+".", r.Code, r.Anomaly, r.NewSeal, "04")
	}
	if b.Seal == nil {
		c.fail(f+"seal", "required with result 02 (found)")
	} else {
		c.sealInfo(f+"seal", *b.Seal)
	}
}

// CheckSeal refuses a string that is not a seal ID, naming field.
func CheckSeal(field, id string) error {
	var c checker
	c.seal(field, id)
	return c.err
}

// CheckShipment refuses a string that is not a shipment number.
func CheckShipment(field, n string) error {
	var c checker
	c.shipment(field, n)
	return c.err
}

// CheckOperator refuses a string that is not a member state's operator ID.
func CheckOperator(field, id string) error {
	var c checker
	c.operator(field, id)
	return c.err
}

func validateTechData(c *checker, p string, b *TechData) {
	c.seal(p+"seal", b.Seal)
	c.items(p+"readings", len(b.Readings), MaxReadings, "reading")
	for i, r := range b.Readings {
		c.reading(fmt.Sprintf("%sreadings[%d]", p, i), r)
	}
}

// Check refuses technological data the model refuses, naming the field
// (as a body of its own: seal, readings[i]...).
func (b *TechData) Check() error {
	var c checker
	validateTechData(&c, "", b)
	return c.err
}
