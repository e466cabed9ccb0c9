// Package platetext owns the text of a plate: the normal form every read is
// filed under, whoever read it (the node's recogniser, a camera's own ANPR,
// an operator's correction), and the distance between two plates. It may
// import nothing but the standard library, so the camera-event parsers, the
// plate index and the recogniser share it without importing each other.
package platetext
