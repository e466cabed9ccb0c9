// Package anpr will own licence-plate recognition on the node's own
// streams: supervised frame decoding, detection and recognition in ONNX
// Runtime, plate grammars, multi-frame voting, direction and snapshots. It
// never opens a second connection to a camera.
package anpr
