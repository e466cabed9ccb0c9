// Package anpr reads licence plates in still frames and across the frames of
// one vehicle pass.
//
// The pipeline (see docs/anpr.md): a PP-OCRv4 DB text detector scans a
// downscaled region of interest for text boxes, looks again at small ones at
// a finer scale; the most plate-like boxes are rectified by a perspective
// warp, a PP-OCRv4 CTC recogniser turns each into per-step character
// probabilities,
// and a decoder constrained by plate grammars (KZ, RU, UA, BY, KG, UZ, BR and a
// generic European pattern) picks the most likely plate strings. A Tracker
// votes across frames and emits one read per vehicle pass with its direction
// of motion; a Stream reads consecutive frames, looking only near plates it
// has just seen between periodic full scans. Vehicle class is never used to
// filter reads.
//
// Models and the ONNX Runtime library are fetched by `make anpr-deps` into
// .cache/anpr/ and opened with LoadModels. The ONNX Runtime environment is
// process-wide (onnxruntime_go keeps it in package variables), so this package
// initialises it once per process behind a mutex; that is its only
// package-level mutable state.
//
// A Consumer attaches plate reading to the node's camera sessions: frames
// in, plate.read events (plates.PlateRead) and their snapshots out; it also
// takes the reads of cameras' own ANPR. The read types belong to plates,
// which this package imports; it may not import api or agent.
package anpr
