package audit

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"strings"
	"time"
	"unicode/utf8"
)

// Kind is the event kind of audit entries.
const Kind = "audit"

// Actions recorded across the product. Other components may add their
// own; these are the ones the UI and the API use.
const (
	ActionLogin           = "login"
	ActionLoginFailed     = "login.failed"
	ActionLogout          = "logout"
	ActionAccessDenied    = "access.denied"
	ActionTokenCreate     = "token.create"
	ActionTokenRevoke     = "token.revoke"
	ActionViewLive        = "live.view"
	ActionPlayArchive     = "archive.play"
	ActionExportArchive   = "archive.export"
	ActionDownloadArchive = "archive.download" // a whole file, media or cut, with the bytes sent
	ActionSearchPlates    = "plates.search"
	ActionCorrectPlate    = "plate.correct"
	ActionAckAlarm        = "alarm.ack"
	ActionClearAlarm      = "alarm.clear"
	ActionRaiseAlarm      = "alarm.raise"  // an alarm an ancestor asked this node to raise
	ActionPTZ             = "ptz"          // a command to a camera's head, here or below
	ActionRecordStart     = "record.start" // an event recording started by hand
	ActionConfigChange    = "config.change"
	ActionTopologyChange  = "topology.change"
	ActionUserChange      = "user.change"
	ActionNodeRestarted   = "node.restarted" // a descendant came back with an empty store
	ActionSealSend        = "seal.send"      // a message to partner operators of the seal exchange
	ActionSealDeclare     = "seal.declare"   // a seal bound to a shipment, plates and route
	ActionSealRegister    = "seal.register"  // a seal registered with this operator
	ActionEventSweep      = "events.sweep"   // the event log's retention run by hand
	ActionPluginRestart   = "plugin.restart" // an analytics plugin started again by hand
)

// Entry is one user action as the caller describes it. Its fields match
// auth.AuditEntry field for field, so audit.Entry(e) converts one.
type Entry struct {
	User   string // who: a user name, or "token:NAME" for an API token
	Role   string // their role at the time
	Action string // what, e.g. ActionPlayArchive
	Object string // on what, e.g. "Camera1 2025-08-18T14:05:00Z/5m"
	Detail string // anything else worth keeping
	Source string // client address
}

// Payload is what an audit event carries.
type Payload struct {
	Seq    uint64 `json:"seq"` // gap-free per origin, from 1
	User   string `json:"user"`
	Role   string `json:"role,omitempty"`
	Action string `json:"action"`
	Object string `json:"object,omitempty"`
	Detail string `json:"detail,omitempty"`
	Source string `json:"source,omitempty"`
	Prev   string `json:"prev"` // Hash of seq-1; "" for seq 1
	Hash   string `json:"hash"`
}

// Field limits keep one entry small; longer values are cut, not refused,
// since an action that happened must still be recorded.
const (
	maxShort  = 256
	maxObject = 1024
	maxDetail = 8192
)

// clean makes the entry exactly what JSON will store: valid UTF-8 (JSON
// would replace bad bytes, and the hash must be over what is stored)
// within the size limits.
func (e Entry) clean() Entry {
	e.User = clip(e.User, maxShort)
	e.Role = clip(e.Role, maxShort)
	e.Action = clip(e.Action, maxShort)
	e.Object = clip(e.Object, maxObject)
	e.Detail = clip(e.Detail, maxDetail)
	e.Source = clip(e.Source, maxShort)
	return e
}

func clip(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= n {
		return s
	}
	const mark = "…"
	cut := n - len(mark)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + mark
}

// ChainHash is the entry's hash: SHA-256 over a length-prefixed encoding
// of the origin, audit sequence, time, every field of the entry and the
// previous hash. Length prefixes keep field boundaries unambiguous.
func ChainHash(origin string, t time.Time, p Payload) string {
	h := sha256.New()
	var n [8]byte
	put := func(s string) {
		binary.BigEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	put("kuzet-audit-v1")
	put(origin)
	binary.BigEndian.PutUint64(n[:], p.Seq)
	h.Write(n[:])
	binary.BigEndian.PutUint64(n[:], uint64(t.UnixNano()))
	h.Write(n[:])
	for _, s := range []string{p.User, p.Role, p.Action, p.Object, p.Detail, p.Source, p.Prev} {
		put(s)
	}
	return hex.EncodeToString(h.Sum(nil))
}
