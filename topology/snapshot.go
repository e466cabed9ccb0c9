package topology

import (
	"encoding/json"
	"fmt"
	"io"
)

// maxSnapshotBytes bounds what a restore reads; a catalogue of a whole
// country's crossings is a few megabytes.
const maxSnapshotBytes = 256 << 20

type snapshotV2 struct {
	Schema int `json:"schema"`
	Contents
}

// EncodeSnapshot writes a catalogue in the current snapshot schema.
func EncodeSnapshot(c *Catalogue) ([]byte, error) {
	b, err := json.Marshal(snapshotV2{Schema: SchemaVersion, Contents: c.Contents()})
	if err != nil {
		return nil, fmt.Errorf("encode catalogue snapshot: %w", err)
	}
	return b, nil
}

// DecodeSnapshot reads a snapshot of any known schema version, migrating
// older ones, and checks every record as a command would.
func DecodeSnapshot(b []byte) (*Catalogue, error) {
	schema, err := version(b, "schema")
	if err != nil {
		return nil, invalidf("catalogue snapshot: %v", err)
	}
	var ct Contents
	switch schema {
	case SchemaVersion, 6, 5, 4, 3, 2: // v3 added optional fields (a node's tier); v4 none; v5 a camera's anpr ingest; v6 a zone's readers and barrier; v7 a camera's sub_path
		var s snapshotV2
		if err := strictJSON(b, &s); err != nil {
			return nil, invalidf("catalogue snapshot: %v", err)
		}
		ct = s.Contents
	case 1:
		var s snapshotV1
		if err := strictJSON(b, &s); err != nil {
			return nil, invalidf("catalogue snapshot (schema v1): %v", err)
		}
		ct = s.migrate()
	case 0:
		return nil, invalidf("catalogue snapshot carries no schema version")
	default:
		return nil, invalidf("catalogue snapshot schema v%d is newer than this node's v%d: upgrade this node", schema, SchemaVersion)
	}
	c, err := fromContents(ct)
	if err != nil {
		return nil, fmt.Errorf("catalogue snapshot (schema v%d): %w", schema, err)
	}
	return c, nil
}

// readSnapshot reads a snapshot stream, refusing one beyond the bound.
func readSnapshot(r io.Reader) (*Catalogue, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxSnapshotBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read catalogue snapshot: %w", err)
	}
	if len(b) > maxSnapshotBytes {
		return nil, invalidf("catalogue snapshot exceeds %d bytes", maxSnapshotBytes)
	}
	return DecodeSnapshot(b)
}
