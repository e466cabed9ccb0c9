// Package event defines the one envelope for everything that happens on a
// node (segment closed, camera state, alarms, later plate reads and audit
// entries), its durable, per-origin ordered local log, and the vocabulary
// of recorded segments that every stage shares: Segment, the checks of
// its path and the naming of replicas. It imports no other kuzet package.
package event

import (
	"encoding/json"
	"fmt"
	"time"
)

// Kinds emitted by the recording slice.
const (
	KindSegmentClosed = "segment.closed"
	KindCameraState   = "camera.state"
	KindAlarmRaised   = "alarm.raised"
	KindAlarmCleared  = "alarm.cleared"
	KindGap           = "archive.gap"
	KindSegmentPurged = "archive.purged"
	KindReplicaStored = "replica.stored" // a child's segment arrived and verified
	KindForgone       = "events.forgone" // a child no longer held events this node lacked
	KindCompacted     = "events.compacted"
)

// Severity follows UA-3.4: grave, medium, minor; info for the rest.
type Severity string

// Severities.
const (
	SeverityInfo   Severity = ""
	SeverityMinor  Severity = "minor"
	SeverityMedium Severity = "medium"
	SeverityGrave  Severity = "grave"
)

// Event is identified everywhere by Origin+Seq: Seq is gap-free and
// monotonic per origin incarnation, assigned when the origin first stores
// it. Inc names the incarnation (see incarnation.go): the sequence of a
// store that started empty begins just above Inc, so the Seqs of two
// incarnations of one origin never meet and Origin+Seq stays unique.
type Event struct {
	Origin   string          `json:"origin"`
	Inc      uint64          `json:"inc,omitempty"`
	Seq      uint64          `json:"seq"`
	Kind     string          `json:"kind"`
	Time     time.Time       `json:"time"`
	Camera   string          `json:"camera,omitempty"`
	Severity Severity        `json:"severity,omitempty"`
	Payload  json.RawMessage `json:"payload,omitempty"`
	Path     []string        `json:"path,omitempty"` // nodes it passed through
	// Pos is the event's position in the log of the node holding it; it
	// means nothing on another node.
	Pos uint64 `json:"pos,omitempty"`
}

// ID is the printable identity, "origin/seq".
func (e Event) ID() string { return fmt.Sprintf("%s/%d", e.Origin, e.Seq) }

// Alarm is the payload of alarm.raised and alarm.cleared. Key identifies the
// condition so a clear matches its raise (e.g. "camera_offline:Camera1").
type Alarm struct {
	Key     string `json:"key"`
	Type    string `json:"type"`
	Message string `json:"message"`
}

// Alarm types raised by the recording slice.
const (
	AlarmCameraOffline      = "camera_offline"
	AlarmResolutionExceeded = "resolution_exceeded"
	AlarmUnsupportedCodec   = "unsupported_codec"
	AlarmFrameRate          = "camera_frame_rate"  // outside cameras[].quality
	AlarmPacketLoss         = "camera_packet_loss" // above cameras[].quality
	AlarmRecorderBehind     = "recorder_behind"
	AlarmDiskFloor          = "disk_floor"
	AlarmArchiveWrite       = "archive_write_failed"
	AlarmLinkDown           = "link_down"
	AlarmClockSkew          = "clock_skew"
	AlarmObjectStore        = "object_store" // a parent tier's shared archive store failed
)

// Forgone is the payload of events.forgone: origin's events from From to
// To of incarnation Inc will never arrive, because Via (a child) no longer
// held them when this node asked.
type Forgone struct {
	Origin string `json:"origin"`
	Inc    uint64 `json:"inc,omitempty"`
	From   uint64 `json:"from"`
	To     uint64 `json:"to"`
	Via    string `json:"via"`
}

// Compacted is the payload of events.compacted: retention dropped the
// log's positions up to Through, events older than Before.
type Compacted struct {
	Events  int       `json:"events"`
	Through uint64    `json:"through"`
	Before  time.Time `json:"before"`
}

// Emitter stores an event; Append assigns Origin, Seq and Time if unset.
type Emitter interface {
	Append(e Event) (Event, error)
}

// New builds an event with a JSON payload.
func New(kind, camera string, sev Severity, payload any) Event {
	e := Event{Kind: kind, Camera: camera, Severity: sev}
	if payload != nil {
		b, err := json.Marshal(payload)
		if err != nil {
			b, _ = json.Marshal(map[string]string{"marshal_error": err.Error()})
		}
		e.Payload = b
	}
	return e
}
