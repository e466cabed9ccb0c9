// Package seals is the message model of the exchange between the
// authorised operators of navigation seals in the EAEU (docs/seals.md):
// the envelope every message travels in, the thirteen compositions of data
// the exchange defines (queries, answers, actions on a seal, tracking of a
// shipment, technological data) and their code tables. Parse is the only
// way a message from a partner enters the node: it refuses, naming the
// field, anything the model does not allow, so what is stored is always
// valid. The JSON Schema of the same model is Schema().
package seals
