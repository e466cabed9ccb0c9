package seals

import _ "embed"

//go:embed schema.json
var schema []byte

// Schema is the JSON Schema (draft 2020-12) of a message of this Version
// (docs/seals.md). Parse checks the same rules, and a few a schema cannot
// state (the sender is not the recipient; a query's window ends after it
// starts).
func Schema() []byte { return schema }
