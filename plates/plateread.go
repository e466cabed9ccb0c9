package plates

import "time"

// KindPlateRead is the event kind of one vehicle pass read by a camera
// (CGR-4.3, UA-3.3.1).
const KindPlateRead = "plate.read"

// PlateRead is the payload of a plate.read event.
type PlateRead struct {
	Plate      string  `json:"plate"`
	Country    string  `json:"country"`
	Confidence float64 `json:"confidence"`
	Direction  string  `json:"direction,omitempty"` // entry | exit
	// CrossedDivider: the plate crossed one of the camera's lane dividers
	// while it was read.
	CrossedDivider bool        `json:"crossed_divider,omitempty"`
	First          time.Time   `json:"first_seen"`
	Last           time.Time   `json:"last_seen"`
	Frames         int         `json:"frames"`
	Overview       string      `json:"overview,omitempty"` // JPEG, relative to the node's plates directory
	Crop           string      `json:"crop,omitempty"`
	Archive        string      `json:"archive,omitempty"`      // segment path in the archive
	ArchiveLink    string      `json:"archive_link,omitempty"` // CGR-4.3 form: Camera1\2025\08\...
	Offset         float64     `json:"offset_seconds"`         // into the archive file
	Candidates     []Candidate `json:"candidates,omitempty"`
	// Source is who read the plate: "" the node, "camera" the camera's own
	// ANPR alone, "node+camera" both (one pass).
	Source string `json:"source,omitempty"`
	// CameraReads are the journal IDs of the camera reads in the pass:
	// a read named by a stored plate.read is not replayed after a kill.
	CameraReads []string `json:"camera_reads,omitempty"`
}

// Candidate is one reading of a plate.
type Candidate struct {
	Text       string  `json:"text"`
	Country    string  `json:"country"`
	Confidence float64 `json:"confidence"`
}

// Sources of a pass read by the camera's own ANPR (PlateRead.Source; ""
// is the node alone).
const (
	SourceCamera     = "camera"
	SourceNodeCamera = "node+camera"
)
