package seals

// Version is the message model's version; a message of another version is
// refused.
const Version = 1

// Kind names a message's composition of data and its body's field.
type Kind string

// The compositions of data (the sections of the exchange's annex 2).
const (
	KindOwnershipQuery  Kind = "ownership_query"  // I: whose is this seal?
	KindOwnershipAnswer Kind = "ownership_answer" // II
	KindActionRequest   Kind = "action_request"   // III: act on a seal
	KindAction          Kind = "action"           // IV: what was done with a seal
	KindWriteRequest    Kind = "write_request"    // V: write shipment data to a seal
	KindWriteResult     Kind = "write_result"     // VI
	KindTracking        Kind = "tracking"         // VII: a shipment's tracking
	KindTechData        Kind = "tech_data"        // VIII: a seal's technological data (also the T1 answer)
	KindSealQuery       Kind = "seal_query"       // IX: T0 or T1 by seal
	KindSealShipments   Kind = "seal_shipments"   // X: the T0 answer
	KindShipmentQuery   Kind = "shipment_query"   // XI: tracking by shipment number
	KindShipmentReport  Kind = "shipment_report"  // XII
)

// Kinds lists every kind, in the annex's order.
var Kinds = []Kind{KindOwnershipQuery, KindOwnershipAnswer, KindActionRequest, KindAction, KindWriteRequest,
	KindWriteResult, KindTracking, KindTechData, KindSealQuery, KindSealShipments, KindShipmentQuery, KindShipmentReport}

// Message is the envelope of every message: who sends it to whom, its ID
// (unique per sender: a partner's retry carries the same ID, and a
// message is taken once) and exactly one body, the one Kind names.
type Message struct {
	Version   int    `json:"version"`
	ID        string `json:"id"`
	From      string `json:"from"` // operator ID of the sender (the answering or tracking operator)
	To        string `json:"to"`   // operator ID of the recipient (the operator asked)
	Time      Time   `json:"time"`
	InReplyTo string `json:"in_reply_to,omitempty"` // the ID of the query this answers
	Kind      Kind   `json:"kind"`

	OwnershipQuery  *OwnershipQuery  `json:"ownership_query,omitempty"`
	OwnershipAnswer *OwnershipAnswer `json:"ownership_answer,omitempty"`
	ActionRequest   *ActionRequest   `json:"action_request,omitempty"`
	Action          *Action          `json:"action,omitempty"`
	WriteRequest    *WriteRequest    `json:"write_request,omitempty"`
	WriteResult     *WriteResult     `json:"write_result,omitempty"`
	Tracking        *Tracking        `json:"tracking,omitempty"`
	TechData        *TechData        `json:"tech_data,omitempty"`
	SealQuery       *SealQuery       `json:"seal_query,omitempty"`
	SealShipments   *SealShipments   `json:"seal_shipments,omitempty"`
	ShipmentQuery   *ShipmentQuery   `json:"shipment_query,omitempty"`
	ShipmentReport  *ShipmentReport  `json:"shipment_report,omitempty"`
}

// Reading is one report of a seal's technological data.
type Reading struct {
	Battery   int     `json:"battery"`   // charge, %
	Longitude float64 `json:"longitude"` // degrees, WGS 84
	Latitude  float64 `json:"latitude"`  // degrees, WGS 84
	Speed     float64 `json:"speed"`     // km/h
	Time      Time    `json:"time"`
}

// SealInfo is a seal as a tracking report names it: the seal, the operator
// it is registered with and, optionally, its last reading and event.
type SealInfo struct {
	Seal     string   `json:"seal"`
	Operator string   `json:"operator"`
	Reading  *Reading `json:"reading,omitempty"`
	Event    string   `json:"event,omitempty"` // section XII: the seal's last event code
}

// OwnershipQuery asks the recipient whether a seal is registered with it
// (section I; the operator asked is the envelope's To).
type OwnershipQuery struct {
	Seal string `json:"seal"`
}

// OwnershipAnswer answers it (section II; the national operator is From).
type OwnershipAnswer struct {
	Seal   string `json:"seal"`
	Result string `json:"result"` // OwnershipResults
}

// ActionRequest asks the operator a seal is registered with to act on it
// (section III).
type ActionRequest struct {
	Seal          string `json:"seal"`
	Operator      string `json:"operator"`                 // the seal's registering operator
	Event         string `json:"event"`                    // A02–A08
	Shipment      string `json:"shipment,omitempty"`       // with A03, A04 and A08
	Authority     string `json:"authority,omitempty"`      // the controlling body that decided the action
	PeriodMinutes int    `json:"period_minutes,omitempty"` // with A07: 1–120
	Reason        string `json:"reason,omitempty"`         // with A04: why the seal is deactivated
}

// Action says what was done with a seal (section IV).
type Action struct {
	Seal          string       `json:"seal"`
	Shipment      string       `json:"shipment"`
	Operator      string       `json:"operator"`                 // the seal's registering operator
	Event         string       `json:"event"`                    // EventCodes
	Result        string       `json:"result"`                   // ActionResults
	Reading       *Reading     `json:"reading,omitempty"`        // with A03–A05, A07 and B01
	Remote        string       `json:"remote,omitempty"`         // with A05: RemoteCodes
	Authority     string       `json:"authority,omitempty"`      // with A02, A05, A06 and A08
	PeriodMinutes int          `json:"period_minutes,omitempty"` // with A07: 1–120
	Anomaly       string       `json:"anomaly,omitempty"`        // with B01: AnomalyCodes
	Replacement   *Replacement `json:"replacement,omitempty"`    // with A08
}

// Replacement is a seal replaced by another (A08).
type Replacement struct {
	Seal     string   `json:"seal"`     // the new seal
	Operator string   `json:"operator"` // the new seal's registering operator
	Reason   string   `json:"reason"`
	Place    string   `json:"place"`
	Time     Time     `json:"time"`
	Persons  []string `json:"persons"` // who replaced it
}

// WriteRequest asks to write a shipment's data to a seal (section V; the
// operator asked is To).
type WriteRequest struct {
	Seal                string `json:"seal"`
	Shipment            string `json:"shipment"`
	Data                string `json:"data"`
	ActivationPermitted bool   `json:"activation_permitted"` // the controlling body allows activating the seal
}

// WriteResult answers it (section VI; the operator is From).
type WriteResult struct {
	Seal   string `json:"seal"`
	Result string `json:"result"` // WriteResults
}

// Tracking reports a shipment's tracking (section VII; the tracking
// operator is From).
type Tracking struct {
	Shipment string   `json:"shipment"`
	Code     string   `json:"code"` // TrackingCodes
	Seal     SealInfo `json:"seal"`
	Anomaly  string   `json:"anomaly,omitempty"`  // with 04 and 07: AnomalyCodes
	NewSeal  string   `json:"new_seal,omitempty"` // with 06: the replacing seal
}

// TechData is a seal's technological data (section VIII), sent as it comes
// and as the answer to a T1 query.
type TechData struct {
	Seal     string    `json:"seal"`
	Readings []Reading `json:"readings"`
}

// SealQuery asks by seal (section IX): T0 for the shipment numbers it
// tracked, T1 for its technological data, within [From, To).
type SealQuery struct {
	Seal string `json:"seal"`
	Type string `json:"type"` // QueryTypes
	From Time   `json:"from"`
	To   Time   `json:"to"`
}

// SealShipments answers T0 (section X).
type SealShipments struct {
	Seal      string   `json:"seal"`
	Result    string   `json:"result"`              // FoundResults
	Shipments []string `json:"shipments,omitempty"` // with 02
}

// ShipmentQuery asks for a shipment's tracking (section XI).
type ShipmentQuery struct {
	Shipment string `json:"shipment"`
}

// ShipmentReport answers it (section XII).
type ShipmentReport struct {
	Shipment string        `json:"shipment"`
	Result   string        `json:"result"`            // FoundResults
	Records  []TrackRecord `json:"records,omitempty"` // with 02
	Seal     *SealInfo     `json:"seal,omitempty"`    // with 02
}

// TrackRecord is one tracking report of a shipment (section XII.3).
type TrackRecord struct {
	Code      string  `json:"code"` // TrackingCodes 01–06
	Longitude float64 `json:"longitude"`
	Latitude  float64 `json:"latitude"`
	Time      Time    `json:"time"`
	Anomaly   string  `json:"anomaly,omitempty"`  // with 04
	NewSeal   string  `json:"new_seal,omitempty"` // with 06
}
