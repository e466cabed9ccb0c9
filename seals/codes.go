package seals

// Event codes of actions on a seal (EAEU-7).
var EventCodes = map[string]string{
	"A02": "locking element locked",
	"A03": "seal activated",
	"A04": "seal deactivated",
	"A05": "locking element opened",
	"A06": "data erased from the seal",
	"A07": "reporting period changed",
	"A08": "seal replaced",
	"B01": "abnormal situation or unauthorised action",
}

// TrackingCodes of a shipment's tracking (section VII).
var TrackingCodes = map[string]string{
	"01": "tracking started",
	"02": "tracking ended",
	"03": "shipment data",
	"04": "abnormal situation or unauthorised action",
	"05": "seal removed without stopping tracking",
	"06": "seal deactivated for replacement",
	"07": "crossed a border during an abnormal situation",
}

// AnomalyCodes classify abnormal situations and unauthorised actions
// (section XIII).
var AnomalyCodes = map[string]string{
	"01": "locking element broken",
	"02": "electronic unit housing broken",
	"03": "deviation from the route beyond 50 km or the limit set for it",
	"04": "seal fault",
	"05": "battery below 15 %",
	"06": "no technological data for two consecutive reporting periods",
	"07": "unauthorised actions",
}

// Result codes, per composition.
var (
	// OwnershipResults answer an ownership lookup (section II).
	OwnershipResults = map[string]string{
		"00": "registered with this operator",
		"01": "not registered with this operator",
		"02": "registered with this operator, not usable for tracking",
	}
	// ActionResults answer an action on a seal (section IV).
	ActionResults = map[string]string{
		"00": "done",
		"01": "the action failed",
		"02": "the seal is not this operator's",
		"03": "no shipment with this number",
		"04": "the seal does not track this shipment",
	}
	// WriteResults answer a write to a seal (section VI).
	WriteResults = map[string]string{
		"01": "written remotely",
		"09": "write failed",
	}
	// FoundResults answer the T0 and shipment queries (sections X, XII).
	FoundResults = map[string]string{
		"01": "nothing found",
		"02": "found",
	}
	// RemoteCodes say how a locking element was opened (A05).
	RemoteCodes = map[string]string{
		"D0": "opened with a special device",
		"D1": "opening requested remotely",
	}
	// QueryTypes of a query by seal (section IX).
	QueryTypes = map[string]string{
		"T0": "shipment numbers tracked with the seal",
		"T1": "technological data of the seal",
	}
)

// Countries whose operators take part in the exchange.
var Countries = map[string]bool{"AM": true, "BY": true, "KG": true, "KZ": true, "RU": true}
