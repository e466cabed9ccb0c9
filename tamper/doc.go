// Package tamper notices cameras being interfered with, from the node's own
// decoded frames at a low rate: a covered lens (dark, flat picture), a
// blinded one (mostly saturated), a camera moved away from its learned
// view, and one knocked out of focus or dirtied. A condition raises an
// alarm (tamper_covered, tamper_blinded, tamper_moved, tamper_defocused,
// key "tamper_<kind>:<camera>") once it has held for a while, and the alarm
// clears itself when the scene has been good again for a while.
//
// It is fed as a media.Consumer and imports no ingest (site) and no node
// wiring (agent).
package tamper
