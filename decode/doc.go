// Package decode owns the supervised ffmpeg subprocess that turns one
// camera's access units into RGBA frames for analysis (plate reading, tamper
// detection).
//
// It stays free of cgo: it may import only the standard library, never anpr
// or the ONNX Runtime, so that a frame consumer need not link the plate
// models.
package decode
