package topology

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
)

// CommandType names a catalogue change.
type CommandType string

// The changes the catalogue knows. Puts insert or replace (upsert) unless
// Command.Create asks to fail when the record exists.
const (
	PutNode      CommandType = "put_node"
	DeleteNode   CommandType = "delete_node"
	PutCamera    CommandType = "put_camera"
	DeleteCamera CommandType = "delete_camera"
	PutZone      CommandType = "put_zone"
	DeleteZone   CommandType = "delete_zone"
	PutUser      CommandType = "put_user"
	DeleteUser   CommandType = "delete_user"
	PutPolicy    CommandType = "put_policy"
	DeletePolicy CommandType = "delete_policy"
)

// SchemaVersion is the version of commands and snapshots this build writes.
// It reads every version up to it (see schema_v1.go). v4: a camera put
// whose URL names a user without a password keeps the stored password
// (reads no longer show it), so a v3 replica must not apply v4 commands.
// v5: a camera's anpr ingest (a v4 replica would refuse the field). v6: a
// zone's readers and barrier. v7: a camera's sub_path.
const SchemaVersion = 7

// maxCommandBytes bounds one command: catalogue records are small, and a
// Raft entry is replicated to every replica and kept in every log.
const maxCommandBytes = 1 << 20

// Command is one change to the catalogue. Exactly one payload is set for
// puts; deletes name their record with ID (and Site for cameras).
type Command struct {
	Type   CommandType `json:"type"`
	Create bool        `json:"create,omitempty"` // put: fail with a conflict if the record exists
	Node   *Node       `json:"node,omitempty"`
	Camera *Camera     `json:"camera,omitempty"`
	Zone   *Zone       `json:"zone,omitempty"`
	User   *User       `json:"user,omitempty"`
	Policy *Policy     `json:"policy,omitempty"`
	ID     string      `json:"id,omitempty"`   // delete: node, zone, user name, policy node, camera ID
	Site   string      `json:"site,omitempty"` // delete_camera: the camera's node
	// v is the schema the command was decoded from (0: made here, the
	// current one). A v2/v3 camera put stores its URL as given.
	v int
}

// wireCommand is a command as stored in the Raft log.
type wireCommand struct {
	V int `json:"v"`
	Command
}

// EncodeCommand checks a command and encodes it in the current schema.
func EncodeCommand(c Command) ([]byte, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	b, err := json.Marshal(wireCommand{V: SchemaVersion, Command: c})
	if err != nil {
		return nil, fmt.Errorf("encode %s command: %w", c.Type, err)
	}
	if len(b) > maxCommandBytes {
		return nil, invalidf("%s command is %d bytes; the limit is %d", c.Type, len(b), maxCommandBytes)
	}
	return b, nil
}

// DecodeCommand decodes and checks a command of any known schema version.
// Unknown fields, types and versions are errors: a replica must never
// apply a change it does not fully understand.
func DecodeCommand(b []byte) (Command, error) {
	if len(b) > maxCommandBytes {
		return Command{}, invalidf("command is %d bytes; the limit is %d", len(b), maxCommandBytes)
	}
	v, err := version(b, "v")
	if err != nil {
		return Command{}, invalidf("command: %v", err)
	}
	var c Command
	switch v {
	case SchemaVersion, 6, 5, 4, 3, 2: // v3 added optional fields (a node's tier); v4 a camera's password_set; v5 its anpr ingest; v6 a zone's readers and barrier; v7 a camera's sub_path
		var w wireCommand
		if err := strictJSON(b, &w); err != nil {
			return Command{}, invalidf("command: %v", err)
		}
		c = w.Command
		c.v = v
	case 1:
		var w commandV1
		if err := strictJSON(b, &w); err != nil {
			return Command{}, invalidf("command (schema v1): %v", err)
		}
		c = w.migrate()
		c.v = 1
	case 0:
		return Command{}, invalidf("command carries no schema version (\"v\")")
	default:
		return Command{}, errorf(CodeInvalid, "command schema v%d is newer than this node's v%d: upgrade this node", v, SchemaVersion)
	}
	if err := c.check(); err != nil {
		return Command{}, err
	}
	return c, nil
}

// version reads the schema version field of a JSON object, ignoring
// anything after it (strictJSON reports that later).
func version(b []byte, field string) (int, error) {
	var head map[string]json.RawMessage
	if err := json.NewDecoder(bytes.NewReader(b)).Decode(&head); err != nil {
		return 0, err
	}
	v, ok := head[field]
	if !ok {
		return 0, nil
	}
	var n int
	if err := json.Unmarshal(v, &n); err != nil {
		return 0, fmt.Errorf("%q: %w", field, err)
	}
	return n, nil
}

// strictJSON decodes exactly one JSON value, refusing unknown fields.
func strictJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("trailing data after the JSON value")
	}
	return nil
}
